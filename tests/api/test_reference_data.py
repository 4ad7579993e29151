"""/api/v1/divisions and /api/v1/organisations."""

from core.models import Division
from tests import builders
from tests.api.helpers import assert_problem, count_queries, get_json


def test_divisions_list_and_filters(client):
    everything = get_json(client, "/api/v1/divisions")
    assert len(everything) == Division.objects.count()
    assert [d["code"] for d in everything] == sorted(d["code"] for d in everything)

    provinces = get_json(client, "/api/v1/divisions?level=province")
    assert {d["code"] for d in provinces} == {"150000", "210000", "220000", "230000"}
    assert provinces[0]["level_label"] == "省级"
    assert provinces[0]["parent"] is None

    liaoning = get_json(client, "/api/v1/divisions?parent=210000")
    assert len(liaoning) == 15  # 14 cities and 沈抚示范区
    assert {d["parent"]["code"] for d in liaoning} == {"210000"}
    shenfu = next(d for d in liaoning if d["code"] == "219100")
    assert shenfu["level"] == "functional_zone"
    assert shenfu["code_kind"] == "platform_local"
    assert shenfu["code_kind_label"] == "平台自定义代码"

    both = get_json(client, "/api/v1/divisions?parent=210000&level=functional_zone")
    assert [d["code"] for d in both] == ["219100"]


def test_divisions_list_rejects_unknown_filters(client):
    assert_problem(client, "/api/v1/divisions?level=town", 422, "unknown_level")
    body = assert_problem(client, "/api/v1/divisions?parent=999999", 422, "unknown_division")
    assert body["errors"][0]["field"] == "parent"


def test_division_detail(client):
    dalian = get_json(client, "/api/v1/divisions/210200")
    assert dalian == {
        "code": "210200",
        "name": "大连市",
        "level": "prefecture",
        "level_label": "市级",
        "code_kind": "statutory",
        "code_kind_label": "法定区划代码",
        "parent": {"code": "210000", "name": "辽宁省"},
        "children": [],
    }
    jilin = get_json(client, "/api/v1/divisions/220000")
    assert "延边朝鲜族自治州" in {c["name"] for c in jilin["children"]}
    assert_problem(client, "/api/v1/divisions/999999", 404, "division_not_found")


def test_organisations_paginated_and_filtered(client):
    dalian = builders.organisation("大连市公安局", "210200")
    builders.organisation("沈阳市市场监督管理局", "210100")
    changchun = builders.organisation("长春市公安局", "220100")

    page = get_json(client, "/api/v1/organisations?page_size=2")
    assert page["count"] == 3
    assert len(page["items"]) == 2
    rest = get_json(client, "/api/v1/organisations?page_size=2&page=2")
    assert len(rest["items"]) == 1

    liaoning = get_json(client, "/api/v1/organisations?division=210000")
    assert liaoning["count"] == 2
    assert changchun.uscc not in {o["uscc"] for o in liaoning["items"]}

    police = get_json(client, "/api/v1/organisations?q=公安局")
    assert {o["uscc"] for o in police["items"]} == {dalian.uscc, changchun.uscc}

    only = get_json(client, "/api/v1/organisations?division=210200&q=公安")
    assert only["items"] == [
        {
            "uscc": dalian.uscc,
            "name": "大连市公安局",
            "short_name": "",
            "kind": "department",
            "kind_label": "政府部门",
            "division": {"code": "210200", "name": "大连市"},
        }
    ]
    assert_problem(client, "/api/v1/organisations?division=123456", 422, "unknown_division")
    assert_problem(client, "/api/v1/organisations?page=0", 422, "request_invalid")


def test_organisation_detail(client):
    org = builders.organisation("大连市公安局", "210200")
    body = get_json(client, f"/api/v1/organisations/{org.uscc.lower()}")
    assert body["uscc"] == org.uscc
    assert body["division"] == {"code": "210200", "name": "大连市"}
    assert_problem(
        client, "/api/v1/organisations/91210200MA0000000X", 404, "organisation_not_found"
    )


def test_organisations_query_count_does_not_grow(client):
    for n in range(3):
        builders.organisation(f"测试机构{n}", "210200")
    few = count_queries(client, "/api/v1/organisations?division=210000&q=测试")
    for n in range(3, 15):
        builders.organisation(f"测试机构{n}", "210200")
    many = count_queries(client, "/api/v1/organisations?division=210000&q=测试")
    assert get_json(client, "/api/v1/organisations?q=测试")["count"] == 15
    assert few == many
