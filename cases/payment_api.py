"""JSON endpoints of a case's payment (缴费) for the applicant's apps: read the payments,
start paying online (the answer names the gateway's cashier page to open)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from accounts.auth import API_AUTH
from cases import selectors
from cases.payment import pay_online
from core.schemas import ProblemOut
from payments.selectors import payments_for_case

router = Router(tags=["办件"], auth=API_AUTH)

ERRORS = {401: ProblemOut, 403: ProblemOut, 404: ProblemOut, 409: ProblemOut, 503: ProblemOut}


class PaymentLineOut(Schema):
    kind: str
    name: str
    amount: str
    basis: str


class PaymentOut(Schema):
    order_number: str
    status: str
    status_label: str
    amount: str
    lines: list[PaymentLineOut]
    payee: str
    method: str
    paid_at: dt.datetime | None
    refunded_at: dt.datetime | None


class PayOut(Schema):
    order_number: str
    amount: str
    pay_url: str


def _out(payment: Any) -> dict[str, Any]:
    return {
        "order_number": payment.order_number,
        "status": payment.status,
        "status_label": payment.get_status_display(),
        "amount": payment.amount_text,
        "lines": payment.lines,
        "payee": payment.payee.name,
        "method": payment.method,
        "paid_at": payment.paid_at,
        "refunded_at": payment.refunded_at,
    }


@router.get(
    "/cases/{number}/payments",
    response={200: list[PaymentOut], **ERRORS},
    summary="办件的缴费单（最新在前）",
)
def case_payments(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    case = selectors.find_case_for(request.user, number)
    return [_out(p) for p in payments_for_case(case.number)]


@router.post(
    "/cases/{number}/payment",
    response={200: PayOut, **ERRORS},
    summary="网上缴费：返回支付平台收银台地址（仅申请人，办件待缴费时）",
)
def start_payment(request: HttpRequest, number: str) -> dict[str, Any]:
    case = selectors.find_case_for(request.user, number)
    pay_url = pay_online(
        case,
        actor=request.user,
        base_url=request.build_absolute_uri("/"),
        return_url=f"/my/cases/{case.number}/",
    )
    payment = payments_for_case(case.number)[0]
    return {
        "order_number": payment.order_number,
        "amount": payment.amount_text,
        "pay_url": request.build_absolute_uri(pay_url),
    }
