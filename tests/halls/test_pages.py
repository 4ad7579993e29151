"""The public hall pages and the halls API: what a hall handles (grouped by list), where,
when, whom to call; a constant number of queries whatever the number of windows, lists
and items."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import builders
from tests.portal.html import assert_accessible_structure, text


@pytest.fixture
def hall():
    centre = builders.organisation("大连市政务服务中心")
    shenyang = builders.organisation("沈阳市公安局", "210100")
    listed = builders.item("开具户籍类证明", org=shenyang, scopes=(("in_province", "proxy"),))
    lst = builders.item_list("in-province", "in_province", name="辽宁省省内通办事项清单")
    builders.list_version(lst, [listed], modes=("proxy",), effective_from=dt.date(2024, 1, 1))
    own = builders.item("个体工商户设立登记", org=centre, scopes=())
    the_hall = builders.hall(centre, code="dl-centre")
    builders.window(centre, lists=(lst,), number="2", name="省内通办专窗", at=the_hall)
    builders.window(centre, items=(own,), number="3", name="企业开办专窗", at=the_hall)
    return the_hall, lst


def _more(the_hall, n: int) -> None:
    org = the_hall.organisation
    for i in range(n):
        versions = [builders.item(f"事项{i}-{k}", org=org) for k in range(2)]
        lst = builders.item_list(f"extra-{i}", "cross_province", name=f"清单{i}")
        builders.list_version(lst, versions, effective_from=dt.date(2024, 1, 1))
        builders.window(org, items=tuple(versions), lists=(lst,), number=f"9{i}", at=the_hall)
        builders.hall(org, code=f"other-{i}")


def test_the_hall_page_says_what_where_when_and_whom_to_call(client, hall):
    response = client.get("/halls/dl-centre/")
    assert response.status_code == 200
    assert_accessible_structure(response.content)
    page = text(response.content)
    assert "大连市政务服务中心服务大厅" in page
    assert "测试路1号" in page and "周一至周五 9:00—17:00" in page and "0411-12345" in page
    # What it handles, by list: the list's entry in force, and the single items.
    assert "辽宁省省内通办事项清单" in page and "开具户籍类证明" in page
    assert "受理窗口：2号窗口（省内通办专窗）" in page
    assert "单独入驻的事项" in page and "个体工商户设立登记" in page
    assert "异地代收代办" in page


def test_the_hall_list_is_linked_from_every_page(client, hall):
    home = client.get("/").content.decode()
    assert 'href="/halls/"' in home
    response = client.get("/halls/")
    assert response.status_code == 200
    assert_accessible_structure(response.content)
    assert "大连市政务服务中心服务大厅" in text(response.content)
    assert client.get("/halls/nowhere/").status_code == 404


@pytest.mark.parametrize(
    "url", ["/halls/", "/halls/dl-centre/", "/api/v1/halls", "/api/v1/halls/dl-centre"]
)
def test_query_count_does_not_grow(client, hall, url, django_assert_num_queries):
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    _more(hall[0], 3)
    with django_assert_num_queries(len(small.captured_queries)):
        assert client.get(url).status_code == 200


def test_the_api_lists_halls_and_gives_one_with_its_windows(client, hall):
    rows = client.get("/api/v1/halls").json()
    assert [r["code"] for r in rows["items"]] == ["dl-centre"]
    assert rows["items"][0]["window_count"] == 2
    detail = client.get("/api/v1/halls/dl-centre").json()
    assert detail["opening_hours"] == ["周一至周五 9:00—17:00"]
    assert [w["number"] for w in detail["windows"]] == ["2", "3"]
    assert detail["windows"][0]["lists"] == [
        {"code": "in-province", "name": "辽宁省省内通办事项清单"}
    ]
    groups = {g["item_list"]["code"] if g["item_list"] else None: g for g in detail["received"]}
    assert [i["name"] for i in groups["in-province"]["items"]] == ["开具户籍类证明"]
    assert groups["in-province"]["items"][0]["modes"] == ["proxy"]
    assert [i["name"] for i in groups[None]["items"]] == ["个体工商户设立登记"]
    missing = client.get("/api/v1/halls/nowhere")
    assert missing.status_code == 404 and missing.json()["code"] == "hall_not_found"
