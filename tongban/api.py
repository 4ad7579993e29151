"""The node's JSON API (/api/v1/): one NinjaAPI, each app adds its router.

Errors are RFC 9457 problem details (`application/problem+json`) with a stable `code`
member that clients switch on; `title`/`detail` are Chinese for people.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import RequestDataTooBig, ValidationError
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


# Problem answers every operation may give (decision 89): a malformed or oversized request
# (400, 413, 422), a method the path does not take (405), and — for operations that need
# credentials — 401 and 403. 404, 409 and 429 are documented where the router says so.
COMMON_PROBLEMS = {
    "400": "请求格式错误（如 Content-Length 无效、JSON 无法解析）",
    "405": "该路径不支持此 HTTP 方法",
    "413": "请求体超过上限",
    "422": "请求参数未通过校验或不符合业务规则",
}
AUTH_PROBLEMS = {"401": "未提供或提供了无效的凭据", "403": "无权执行此操作"}
PROBLEM_REF = {"$ref": "#/components/schemas/ProblemOut"}
PROBLEM_MEDIA = "application/problem+json"


class TongbanAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI document says what the node really answers: problem
    documents as `application/problem+json`, the problems every operation may give, and
    one entry per status code (ninja may list a code both as a number and as text)."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                operation["responses"] = _documented_responses(operation)
        return schema


def _documented_responses(operation: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for code, answer in operation.get("responses", {}).items():
        merged = responses.setdefault(str(code), {})
        content = {**merged.get("content", {}), **answer.get("content", {})}
        merged.update(answer)
        if content:
            merged["content"] = content
    wanted = dict(COMMON_PROBLEMS)
    if operation.get("security"):
        wanted |= AUTH_PROBLEMS
    for code, description in wanted.items():
        responses.setdefault(code, {"description": description})
    for code, answer in responses.items():
        content = answer.get("content", {})
        is_problem = any(media.get("schema") == PROBLEM_REF for media in content.values())
        if code in wanted or is_problem:
            answer["content"] = {PROBLEM_MEDIA: {"schema": PROBLEM_REF}}
    return dict(sorted(responses.items()))


api = TongbanAPI(
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


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    """A body past DATA_UPLOAD_MAX_MEMORY_SIZE (a form field, a JSON body) that carried no
    honest Content-Length for core.request_limits to refuse first."""
    return problem(request, status=413, code="request_too_large", title="请求过大")


def _register_routers() -> None:
    from cases.api import router as cases_router
    from cases.bundle_api import router as bundle_cases_router
    from cases.payment_api import router as case_payments_router
    from catalog.api import router as catalog_router
    from core.api import router as core_router
    from halls.api import router as halls_router
    from licences.api import router as licences_router
    from payments.api import router as payments_router
    from ratings.api import router as ratings_router
    from sharing.api import router as sharing_router

    api.add_router("", core_router)
    api.add_router("", catalog_router)
    api.add_router("", licences_router)
    api.add_router("", cases_router)
    api.add_router("", case_payments_router)
    api.add_router("", bundle_cases_router)
    api.add_router("", halls_router)
    api.add_router("", ratings_router)
    api.add_router("", payments_router)
    api.add_router("", sharing_router)


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
