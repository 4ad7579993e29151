"""The node-to-node endpoints under /federation/v1/. Other nodes, not browsers, call them:
no session, no CSRF token; every request is a signed envelope checked by the services."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from federation import directory, services

JSON_UTF8 = {"ensure_ascii": False}


def _signed_input(request: HttpRequest) -> tuple[str, str] | JsonResponse:
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > settings.FEDERATION_MAX_BYTES:
        return JsonResponse(
            {"code": "too_large", "detail": f"报文超过 {settings.FEDERATION_MAX_BYTES} 字节"},
            status=413,
        )
    try:
        data = json.loads(request.read(length or None))
        body, signature = data["envelope"], data["signature"]
        if not isinstance(body, str) or not isinstance(signature, str):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return JsonResponse(
            {"code": "malformed", "detail": '请求应为 {"envelope": 文本, "signature": base64}'},
            status=400,
            json_dumps_params=JSON_UTF8,
        )
    return body, signature


def _refused(refused: services.Refused, body: str) -> JsonResponse:
    return JsonResponse(
        services.signed_refusal(refused, body), status=refused.status, json_dumps_params=JSON_UTF8
    )


@csrf_exempt
@require_POST
def envelopes(request: HttpRequest) -> JsonResponse:
    signed = _signed_input(request)
    if isinstance(signed, JsonResponse):
        return signed
    try:
        receipt: dict[str, Any] = services.receive(*signed)
    except services.Refused as refused:
        return _refused(refused, signed[0])
    return JsonResponse(receipt, json_dumps_params=JSON_UTF8)


@csrf_exempt
@require_POST
def queries(request: HttpRequest) -> JsonResponse:
    signed = _signed_input(request)
    if isinstance(signed, JsonResponse):
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
