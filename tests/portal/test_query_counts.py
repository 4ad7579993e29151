"""Listing pages issue the same number of queries whatever the number of rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import builders
from tests.portal.conftest import publish_list


def build_items(count: int, start: int = 0) -> list:
    versions = []
    for n in range(start, start + count):
        org = builders.organisation(f"测试部门{n}", "210200")
        versions.append(
            builders.item(
                f"测试事项{n:02d}",
                org=org,
                themes=("household", "medical"),
                scopes=(("cross_province", "online"), ("in_province", "proxy")),
            )
        )
    return versions


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


ITEM_URLS = [
    "/items/",
    "/items/?q=测试事项",
    "/items/?theme=household&audience=person&scope=cross_province&mode=online",
    "/items/?division=210200",
]
ZONE_URLS = ["/zones/cross_province/", "/zones/cross_province/?theme=medical&audience=person"]
LIST_URLS = [
    "/",
    "/lists/",
    "/lists/cross/",
    "/lists/cross/versions/1/",
    "/lists/cross/diff/?from=1&to=2",
]


@pytest.mark.parametrize("url", ITEM_URLS + ZONE_URLS + LIST_URLS)
def test_query_count_does_not_grow_with_rows(client, url):
    lst = builders.item_list("cross", "cross_province")
    few = build_items(3)
    publish_list(lst, [(v, ["online"]) for v in few], number=1)
    publish_list(
        lst,
        [(v, ["online"]) for v in few],
        number=2,
        effective_from=dt.date(2024, 7, 1),
        note="再次发布",
    )
    small = count_queries(client, url)

    many = few + build_items(12, start=3)
    publish_list(
        lst,
        [(v, ["online"]) for v in many],
        number=3,
        effective_from=dt.date(2024, 8, 1),
        note="扩充",
    )
    url = url.replace("from=1&to=2", "from=1&to=3")
    large = count_queries(client, url)

    assert large == small, f"{url}: {small} queries with 3 rows, {large} with 15"
    assert large <= 12, f"{url}: {large} queries"
    page = client.get(url).content.decode()
    if url.startswith(("/items/", "/zones/", "/lists/cross/diff/")):
        assert "测试事项14" in page
