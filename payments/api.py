"""The payment gateway's side of the JSON API: it posts its signed payment notices here.

No credentials: the notice's signature is the proof (see docs/payments.md). A refused
notice answers a problem document with a stable code; `payment_notice_duplicate` (409)
tells the gateway the payment was already settled, so it stops resending.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from core.schemas import ProblemOut
from payments import services

router = Router(tags=["支付"])


class NoticeAnswer(Schema):
    code: str
    order_number: str
    status: str


@router.post(
    "/payments/notices/{gateway}",
    response={
        200: NoticeAnswer,
        400: ProblemOut,
        404: ProblemOut,
        409: ProblemOut,
        503: ProblemOut,
    },
    summary="接收支付平台的支付结果通知",
    description=(
        "请求体为支付平台签名的通知原文（JSON：notice_id、order_number、trade_number、amount、"
        "status、paid_at），签名（Base64）放在 X-Signature 请求头。签名无效："
        "payment_notice_bad_signature；金额不符：payment_amount_mismatch；重复通知："
        "payment_notice_duplicate（不再产生任何效果）。"
    ),
)
def receive_notice(request: HttpRequest, gateway: str) -> Any:
    payment = services.receive_notice(
        request.body, request.headers.get("X-Signature", ""), gateway_code=gateway
    )
    return {"code": "ok", "order_number": payment.order_number, "status": payment.status}
