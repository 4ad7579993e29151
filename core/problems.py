"""RFC 9457 problem documents outside the API's own handlers.

The JSON API (`tongban.api.problem`) answers through django-ninja; what refuses a request
before any view runs (`core.request_limits`) or outside the API (`/federation/v1/`) builds
the same document here: `type`, `title`, `status`, the stable `code`, and a `detail` in
Chinese, as `application/problem+json`.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse

PROBLEM_TYPE_BASE = "https://tongban.gov.cn/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json; charset=utf-8"


def problem_body(
    *, status: int, code: str, title: str, detail: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    return body


def problem_response(
    *, status: int, code: str, title: str, detail: str | None = None, **extra: Any
) -> HttpResponse:
    """A problem document as a response; never cached (it may echo what was sent)."""
    body = problem_body(status=status, code=code, title=title, detail=detail, **extra)
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type=PROBLEM_CONTENT_TYPE
    )
    response["Cache-Control"] = "no-store"
    return response
