"""Shared checks for the API tests: JSON bodies, problem documents, query counts."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

PROBLEM_TYPE_BASE = "https://tongban.gov.cn/problems/"


def get_json(client: Client, url: str, status: int = 200) -> Any:
    response = client.get(url)
    assert response.status_code == status, response.content.decode()
    return response.json()


def assert_problem(client: Client, url: str, status: int, code: str) -> dict[str, Any]:
    """The URL answers an RFC 9457 problem document with this status and stable code."""
    response = client.get(url)
    assert response.status_code == status, response.content.decode()
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == PROBLEM_TYPE_BASE + code
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"]
    return body


def count_queries(client: Client, url: str) -> int:
    """How many SQL queries answering `url` issues (it must answer 200)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content.decode()
    return len(queries)
