"""我的办件 issues the same number of queries for 3 cases as for 15."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.case_pages import quick_item, submitted


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_my_cases_queries_do_not_grow_with_cases(client, world):
    version = quick_item(world)
    client.force_login(world.applicant.user)
    for _ in range(3):
        submitted(world, version)
    client.get("/my/cases/")
    small = count_queries(client, "/my/cases/")
    for _ in range(12):
        submitted(world, version)
    large = count_queries(client, "/my/cases/")
    assert small == large, f"{small} queries with 3 cases, {large} with 15"
    assert large <= 8, large
