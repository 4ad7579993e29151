"""The node-to-node endpoints under /federation/v1/. Other nodes, not browsers, call them:
no session, no CSRF token; every request is a signed envelope checked by the services.

What cannot even be read as `{"envelope": text, "signature": text}` is answered with an
unsigned problem document (400/413); refusals of envelopes are signed only when the
envelope's signature was checked first (`services.refusal_answer`, decision 83).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from core.problems import problem_response
from federation import directory, services

JSON_UTF8 = {"ensure_ascii": False}
MALFORMED = '请求应为 {"envelope": 文本, "signature": base64}'


def _malformed(detail: str = MALFORMED) -> HttpResponse:
    return problem_response(status=400, code="malformed", title="报文格式不对", detail=detail)


def _signed_input(request: HttpRequest) -> tuple[str, str] | HttpResponse:
    """The envelope text and signature, or the problem that refuses the request. The size
    was checked against `Content-Length` before this view (core.request_limits); a body
    sent without one is read only up to the limit."""
    limit = settings.FEDERATION_MAX_BYTES
    raw = request.read(limit + 1)
    if len(raw) > limit:
        return problem_response(
            status=413, code="request_too_large", title="请求过大", detail=f"报文超过 {limit} 字节"
        )
    try:
        data = json.loads(raw)
        body, signature = data["envelope"], data["signature"]
        if not isinstance(body, str) or not isinstance(signature, str):
            raise TypeError
        # A lone surrogate (`"\ud800"`) parses but is no text: it cannot be hashed or stored.
        body.encode()
        signature.encode()
    except (ValueError, KeyError, TypeError, RecursionError):
        return _malformed()
    return body, signature


def _refused(refused: services.Refused, body: str) -> HttpResponse:
    answer = services.refusal_answer(refused, body)
    if "refusal" in answer:
        return JsonResponse(answer, status=refused.status, json_dumps_params=JSON_UTF8)
    extra = {"problems": refused.problems} if refused.problems else {}
    return problem_response(
        status=refused.status,
        code=refused.code,
        title="报文被拒收",
        detail=refused.reason,
        **extra,
    )


@csrf_exempt
@require_POST
def envelopes(request: HttpRequest) -> HttpResponse:
    signed = _signed_input(request)
    if isinstance(signed, HttpResponse):
        return signed
    try:
        receipt: dict[str, Any] = services.receive(*signed)
    except services.Refused as refused:
        return _refused(refused, signed[0])
    return JsonResponse(receipt, json_dumps_params=JSON_UTF8)


@csrf_exempt
@require_POST
def envelope_batch(request: HttpRequest) -> HttpResponse:
    """Several envelopes in one request, `{"envelopes": [{"envelope", "signature"}, …]}`
    (at most `services.BATCH_LIMIT`), answered `{"results": [...]}` in the same order."""
    limit = settings.FEDERATION_MAX_BYTES
    raw = request.read(limit + 1)
    if len(raw) > limit:
        return problem_response(
            status=413, code="request_too_large", title="请求过大", detail=f"报文超过 {limit} 字节"
        )
    detail = f'请求应为 {{"envelopes": [{{"envelope": 文本, "signature": base64}}, …]}}，至多 {services.BATCH_LIMIT} 份'
    try:
        data = json.loads(raw)
        listed = data["envelopes"]
        if not isinstance(listed, list) or not 0 < len(listed) <= services.BATCH_LIMIT:
            raise TypeError
        items = []
        for one in listed:
            body, signature = one["envelope"], one["signature"]
            if not isinstance(body, str) or not isinstance(signature, str):
                raise TypeError
            body.encode()
            signature.encode()
            items.append((body, signature))
    except (ValueError, KeyError, TypeError, RecursionError):
        return _malformed(detail)
    results = services.receive_batch(items)
    return JsonResponse({"results": results}, json_dumps_params=JSON_UTF8)


@csrf_exempt
@require_POST
def queries(request: HttpRequest) -> HttpResponse:
    signed = _signed_input(request)
    if isinstance(signed, HttpResponse):
        return signed
    try:
        answer: dict[str, Any] = services.answer(*signed)
    except services.Refused as refused:
        return _refused(refused, signed[0])
    return JsonResponse(answer, json_dumps_params=JSON_UTF8)


@require_GET
def signed_directory(request: HttpRequest) -> JsonResponse:
    served = directory.served()
    if served is None:
        return JsonResponse(
            {"code": "no_directory", "detail": "本节点还没有节点目录"},
            status=404,
            json_dumps_params=JSON_UTF8,
        )
    return JsonResponse(served, json_dumps_params=JSON_UTF8)
