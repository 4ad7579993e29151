"""The node's JSON API (/api/v1/): one NinjaAPI, each app adds its router.

Errors are RFC 9457 problem details (`application/problem+json`) with a stable `code`
member that clients switch on; `title`/`detail` are Chinese for people.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Swagger
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder

from core.exceptions import NotFound, RuleViolation

PROBLEM_TYPE_BASE = "https://tongban.gov.cn/problems/"


class UTF8JSONRenderer(JSONRenderer):
    """Chinese as UTF-8, not \\u escapes (about a quarter smaller)."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    title="通办平台 API",
    version="1.0.0",
    description="政务服务“跨省通办”“区域通办”“省内通办”节点接口。错误按 RFC 9457 返回，"
    "`code` 成员为稳定的错误代码。",
    renderer=UTF8JSONRenderer(),
    urls_namespace="api-v1",
    # Swagger UI from ninja's own static files (no CDN: nodes run on intranets), and no
    # badge that would send the schema's address to validator.swagger.io.
    docs=Swagger(settings={"validatorUrl": None}),
)


def problem(
    request: HttpRequest,
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    **extra: Any,
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = api.create_response(request, body, status=status)
    response["Content-Type"] = "application/problem+json; charset=utf-8"
    return response


@api.exception_handler(RuleViolation)
def _rule_violation(request: HttpRequest, exc: RuleViolation) -> HttpResponse:
    extra: dict[str, Any] = {}
    if exc.problems:
        extra["errors"] = [p.as_dict() for p in exc.problems]
    title = "资源不存在" if isinstance(exc, NotFound) else "请求不符合业务规则"
    return problem(
        request, status=exc.status, code=exc.code, title=title, detail=exc.message, **extra
    )


@api.exception_handler(ValidationError)
def _django_validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    code = getattr(exc, "code", None) or "invalid"
    return problem(
        request, status=422, code=code, title="请求参数无效", detail="；".join(exc.messages)
    )


@api.exception_handler(NinjaValidationError)
def _schema_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        {
            "field": ".".join(
                str(part)
                for part in err.get("loc", ())
                if part not in ("body", "query", "path", "payload")
            ),
            "reason": err.get("msg", ""),
        }
        for err in exc.errors
    ]
    return problem(
        request,
        status=422,
        code="request_invalid",
        title="请求参数无效",
        detail="请求参数未通过校验",
        errors=errors,
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    codes = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status_code, "http_error")
    return problem(request, status=exc.status_code, code=code, title=str(exc))


def _register_routers() -> None:
    from cases.api import router as cases_router
    from catalog.api import router as catalog_router
    from core.api import router as core_router
    from halls.api import router as halls_router
    from licences.api import router as licences_router
    from ratings.api import router as ratings_router

    api.add_router("", core_router)
    api.add_router("", catalog_router)
    api.add_router("", licences_router)
    api.add_router("", cases_router)
    api.add_router("", halls_router)
    api.add_router("", ratings_router)


_register_routers()


def openapi_json(request: HttpRequest) -> HttpResponse:
    """The OpenAPI document with Chinese as UTF-8 (ninja's own view escapes it)."""
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    return HttpResponse(
        json.dumps(schema, ensure_ascii=False, cls=NinjaJSONEncoder),
        content_type="application/json; charset=utf-8",
    )


def unknown_endpoint(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any other path under /api/v1/: a problem document, not the portal's HTML page."""
    return problem(
        request,
        status=404,
        code="endpoint_not_found",
        title="接口不存在",
        detail=f"没有接口 {request.path}，请查阅 /api/v1/docs",
    )
