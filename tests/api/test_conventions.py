"""What holds for the whole API: UTF-8 JSON, problem documents, OpenAPI and docs served
locally, and listings whose query count does not grow with their length."""

import re

from django.contrib.staticfiles import finders

from catalog.models import Availability
from catalog.services import publish_item_version
from core.actors import SystemActor
from core.models import Division
from tests import builders
from tests.api.helpers import assert_problem, count_queries, get_json


def test_json_is_utf8_not_escaped(client):
    builders.item("户口迁移（夫妻投靠）")
    response = client.get("/api/v1/items")
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert "户口迁移（夫妻投靠）".encode() in response.content
    assert b"\\u" not in response.content


def test_problem_document_shape(client):
    response = client.get("/api/v1/items/no-such-item")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json; charset=utf-8"
    assert "不存在".encode() in response.content
    assert b"\\u" not in response.content
    assert response.json() == {
        "type": "https://tongban.gov.cn/problems/item_not_found",
        "title": "资源不存在",
        "status": 404,
        "code": "item_not_found",
        "detail": "事项 no-such-item 不存在",
    }
    invalid = assert_problem(client, "/api/v1/items?scope=nationwide", 422, "unknown_scope")
    assert invalid["title"] == "请求不符合业务规则"
    assert invalid["errors"] == [
        {"field": "scope", "reason": invalid["detail"], "code": "unknown_scope"}
    ]


def test_openapi_schema(client):
    schema = get_json(client, "/api/v1/openapi.json")
    assert schema["info"]["title"] == "通办平台 API"
    paths = set(schema["paths"])
    for path in (
        "/api/v1/divisions",
        "/api/v1/divisions/{code}",
        "/api/v1/organisations",
        "/api/v1/organisations/{uscc}",
        "/api/v1/items",
        "/api/v1/items/{code}",
        "/api/v1/items/{code}/versions",
        "/api/v1/items/{code}/versions/{number}",
        "/api/v1/lists",
        "/api/v1/lists/{id}",
        "/api/v1/lists/{id}/versions",
        "/api/v1/lists/{id}/versions/{number}",
        "/api/v1/lists/{id}/diff",
        "/api/v1/calendar/deadline",
        "/api/v1/calendar/working-days",
        "/api/v1/calendar/days",
    ):
        assert path in paths, path
        assert list(schema["paths"][path]) == ["get"]
    items = schema["paths"]["/api/v1/items"]["get"]
    assert {p["name"] for p in items["parameters"]} >= {"scope", "theme", "q", "page"}
    assert "404" in schema["paths"]["/api/v1/items/{code}"]["get"]["responses"]
    scope = schema["components"]["schemas"]["AvailabilityOut"]["properties"]["scope"]
    assert "cross_province" in str(scope) or "$ref" in str(scope)


def test_openapi_document_is_utf8(client):
    raw = client.get("/api/v1/openapi.json").content
    assert "通办平台".encode() in raw and b"\\u" not in raw


def test_unknown_api_path_is_a_problem_document(client):
    response = client.get("/api/v1/no-such-endpoint")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "endpoint_not_found"


def test_docs_are_served_without_a_cdn(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui-bundle.js" in html
    assert "/api/v1/openapi.json" in html
    assert '"validatorUrl": null' in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), asset


def rich_item(n: int) -> None:
    """An item with several themes, two availabilities (one with covered divisions) and
    materials, so that every prefetch of a listing row has something to fetch."""
    version = builders.item(
        f"测试事项{n:02d}",
        scopes=(("cross_province", "online"), ("regional", "proxy")),
        scheme=builders.northeast_scheme(),
        themes=("household", "housing"),
        publish=False,
    )
    regional = Availability.objects.get(version=version, scope="regional")
    regional.divisions.set(Division.objects.filter(code__in=["220100", "230100"]))
    publish_item_version(version, actor=SystemActor("test"))


def test_item_listing_query_count_does_not_grow(client):
    url = "/api/v1/items?page_size=100"
    filtered = "/api/v1/items?page_size=100&scope=regional&theme=household&division=210000&q=测试"
    for n in range(3):
        rich_item(n)
    few, few_filtered = count_queries(client, url), count_queries(client, filtered)
    for n in range(3, 15):
        rich_item(n)
    assert get_json(client, filtered)["count"] == 15
    assert count_queries(client, url) == few
    assert count_queries(client, filtered) == few_filtered


def test_list_queries_do_not_grow(client):
    small = builders.item_list("small", name="小清单")
    builders.list_version(small, [builders.item(f"小清单事项{n}") for n in range(3)])
    big = builders.item_list("big", name="大清单")
    builders.list_version(big, [builders.item(f"大清单事项{n}") for n in range(15)])
    assert len(get_json(client, "/api/v1/lists/big/versions/1")["entries"]) == 15
    assert count_queries(client, "/api/v1/lists/small/versions/1") == count_queries(
        client, "/api/v1/lists/big/versions/1"
    )
    assert count_queries(client, "/api/v1/lists/small") == count_queries(
        client, "/api/v1/lists/big"
    )
    assert count_queries(client, "/api/v1/lists/small/diff?from=1&to=1") == count_queries(
        client, "/api/v1/lists/big/diff?from=1&to=1"
    )


def test_lists_listing_query_count_does_not_grow(client):
    version = builders.item("户口迁移（夫妻投靠）")
    for n in range(3):
        builders.list_version(builders.item_list(f"list-{n}", name=f"清单{n}"), [version])
    few = count_queries(client, "/api/v1/lists")
    for n in range(3, 15):
        builders.list_version(builders.item_list(f"list-{n}", name=f"清单{n}"), [version])
    assert len(get_json(client, "/api/v1/lists")) == 15
    assert count_queries(client, "/api/v1/lists") == few
