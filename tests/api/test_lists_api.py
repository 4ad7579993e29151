"""/api/v1/lists: lists with their version in force, versions, entries and diffs."""

import datetime as dt

from tests import builders
from tests.api.helpers import assert_problem, get_json

BOTH_MODES = (("cross_province", "online"), ("cross_province", "proxy"))


def published_lists():
    """The cross-province list in two versions (B removed, C added, A's modes changed)
    and a regional list whose only version takes effect in the future."""
    a = builders.item("户口迁移（夫妻投靠）", scopes=BOTH_MODES)
    b = builders.item("养老保险关系转移接续")
    c = builders.item("异地就医备案", scopes=BOTH_MODES)
    national = builders.item_list()
    builders.list_version(national, [a, b], note="首次发布")
    builders.list_version(
        national,
        [a, c],
        number=2,
        effective_from=dt.date(2025, 3, 1),
        modes=("online", "proxy"),
        note="新增异地就医备案，移出养老保险关系转移接续",
    )
    scheme = builders.northeast_scheme()
    regional_item = builders.item(
        "机动车驾驶证补领", scopes=(("regional", "online"),), scheme=scheme
    )
    regional = builders.item_list("northeast", "regional", scheme, "东北三省一区区域通办清单")
    builders.list_version(regional, [regional_item], effective_from=dt.date(2099, 1, 1))
    return national, (a, b, c)


def test_lists_with_their_current_version(client):
    national, _ = published_lists()
    body = get_json(client, "/api/v1/lists")
    assert [row["code"] for row in body] == ["cross-province", "northeast"]
    assert body[0] == {
        "id": national.pk,
        "code": "cross-province",
        "name": "跨省通办事项清单",
        "scope": "cross_province",
        "scope_label": "跨省通办",
        "scheme": None,
        "description": "",
        "current_version": {
            "version": 2,
            "effective_from": "2025-03-01",
            "published_at": body[0]["current_version"]["published_at"],
            "change_note": "新增异地就医备案，移出养老保险关系转移接续",
        },
    }
    assert body[1]["scheme"] == {"code": "northeast", "name": "东北三省一区"}
    assert body[1]["scope_label"] == "区域通办"
    assert body[1]["current_version"] is None  # its only version starts in 2099


def test_list_detail_by_code_or_id(client):
    national, (a, _, _) = published_lists()
    by_code = get_json(client, "/api/v1/lists/cross-province")
    assert by_code == get_json(client, f"/api/v1/lists/{national.pk}")
    assert by_code["current_version"]["version"] == 2
    assert [e["name"] for e in by_code["entries"]] == ["户口迁移（夫妻投靠）", "异地就医备案"]
    first = by_code["entries"][0]
    assert first == {
        "position": 1,
        "code": a.item.code,
        "name": "户口迁移（夫妻投靠）",
        "item_version": 1,
        "organisation": {"uscc": a.item.organisation.uscc, "name": "大连市市场监督管理局"},
        "division": {"code": "210200", "name": "大连市"},
        "category": {"system": "national", "code": "07", "name": "行政确认"},
        "modes": [
            {"code": "online", "label": "全程网办"},
            {"code": "proxy", "label": "异地代收代办"},
        ],
        "note": "",
    }
    waiting = get_json(client, "/api/v1/lists/northeast")
    assert (waiting["current_version"], waiting["entries"]) == (None, [])
    assert_problem(client, "/api/v1/lists/no-such-list", 404, "list_not_found")
    assert_problem(client, "/api/v1/lists/99999", 404, "list_not_found")


def test_list_versions_and_one_version(client):
    published_lists()
    versions = get_json(client, "/api/v1/lists/cross-province/versions")
    assert [(v["version"], v["change_note"]) for v in versions] == [
        (2, "新增异地就医备案，移出养老保险关系转移接续"),
        (1, "首次发布"),
    ]
    first = get_json(client, "/api/v1/lists/cross-province/versions/1")
    assert first["item_list"]["code"] == "cross-province"
    assert (first["version"], first["effective_from"]) == (1, "2024-06-01")
    assert [e["name"] for e in first["entries"]] == ["户口迁移（夫妻投靠）", "养老保险关系转移接续"]
    assert first["entries"][0]["modes"] == [{"code": "online", "label": "全程网办"}]
    future = get_json(client, "/api/v1/lists/northeast/versions/1")
    assert future["effective_from"] == "2099-01-01"
    assert_problem(client, "/api/v1/lists/cross-province/versions/3", 404, "list_version_not_found")
    assert_problem(client, "/api/v1/lists/no-such-list/versions", 404, "list_not_found")
    assert_problem(client, "/api/v1/lists/no-such-list/versions/1", 404, "list_not_found")


def test_list_diff(client):
    _, (a, b, c) = published_lists()
    diff = get_json(client, "/api/v1/lists/cross-province/diff?from=1&to=2")
    assert diff["item_list"]["code"] == "cross-province"
    assert (diff["from_version"]["version"], diff["to_version"]["version"]) == (1, 2)
    assert [e["code"] for e in diff["added"]] == [c.item.code]
    assert [e["code"] for e in diff["removed"]] == [b.item.code]
    (changed,) = diff["changed"]
    assert changed["code"] == a.item.code
    assert changed["name"] == "户口迁移（夫妻投靠）"
    assert changed["changes"] == ["业务模式"]
    assert [m["code"] for m in changed["before"]["modes"]] == ["online"]
    assert [m["code"] for m in changed["after"]["modes"]] == ["online", "proxy"]

    backwards = get_json(client, "/api/v1/lists/cross-province/diff?from=2&to=1")
    assert [e["code"] for e in backwards["added"]] == [b.item.code]
    same = get_json(client, "/api/v1/lists/cross-province/diff?from=2&to=2")
    assert (same["added"], same["removed"], same["changed"]) == ([], [], [])


def test_list_diff_errors(client):
    published_lists()
    url = "/api/v1/lists/cross-province/diff"
    assert_problem(client, f"{url}?from=1&to=5", 404, "list_version_not_found")
    assert_problem(client, "/api/v1/lists/nope/diff?from=1&to=2", 404, "list_not_found")
    body = assert_problem(client, f"{url}?to=2", 422, "request_invalid")
    assert body["errors"][0]["field"] == "from"
    assert_problem(client, f"{url}?from=one&to=2", 422, "request_invalid")
