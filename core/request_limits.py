"""Request-size limits checked before anything reads the body (decision 84).

`RequestLimitsMiddleware` runs first in the stack: before sessions, CSRF, authentication
or any parser. A `Content-Length` that is not a number is refused with 400
`content_length_invalid`; one above the limit of the path with 413 `request_too_large`,
whether or not the caller is signed in. The limits:

- `/federation/v1/`: `FEDERATION_MAX_BYTES` (envelopes carry a case's materials);
- `/api/v1/licences/verify` and `/verify/`: `VERIFY_MAX_BYTES` (a token is a few hundred
  bytes, and anyone may call them);
- anything else: `REQUEST_MAX_BYTES` (uploads of case materials).

Django itself still applies `DATA_UPLOAD_MAX_MEMORY_SIZE` to form fields and JSON bodies
(the API answers that with 413 too, `tongban.api`).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.problems import problem_response


def limit_for(path: str) -> int:
    """The largest body, in bytes, a request to `path` may carry."""
    if path.startswith("/federation/"):
        return int(settings.FEDERATION_MAX_BYTES)
    if path.rstrip("/") in ("/api/v1/licences/verify", "/verify"):
        return int(settings.VERIFY_MAX_BYTES)
    return int(settings.REQUEST_MAX_BYTES)


class RequestLimitsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw = request.META.get("CONTENT_LENGTH") or ""
        if raw:
            if not (raw.isascii() and raw.isdigit()):
                return problem_response(
                    status=400,
                    code="content_length_invalid",
                    title="请求头无效",
                    detail="Content-Length 应为非负整数",
                )
            limit = limit_for(request.path)
            if int(raw) > limit:
                return problem_response(
                    status=413,
                    code="request_too_large",
                    title="请求过大",
                    detail=f"请求体超过本接口 {limit} 字节的上限",
                    limit=limit,
                )
        return self.get_response(request)
