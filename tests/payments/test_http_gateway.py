"""The province's payment platform adapter against a real HTTP server on 127.0.0.1 that
signs its answers with SM2-SM3 (no mocks): signed orders and refunds, answers and notices
checked against the platform's key, and every way the platform can fail."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest

from core import signing
from payments.gateways import (
    GatewayUnavailable,
    HttpGateway,
    NoticeRefused,
    OrderRequest,
    RefundRequest,
)

SM2 = signing.Algorithm.SM2


ORDER = OrderRequest(
    order_number="TB0001",
    amount="80.00",
    subject="学历公证（办件 LN-1）",
    payee_uscc="12210100410005231L",
    notify_url="https://node.example/api/v1/payments/notices/gpp",
    return_url="/my/cases/LN-1/",
)


def test_an_order_is_signed_by_the_merchant_and_the_answer_checked(platform):
    platform.answer = (200, {"order_number": "TB0001", "pay_url": "https://pay.example/c/1"}, True)
    order = HttpGateway().create_order(ORDER)
    assert order.pay_url == "https://pay.example/c/1"
    [(path, headers, body)] = platform.received
    assert path == "/gpp/v1/orders"
    assert headers["X-Merchant-Id"] == "M2102000001"
    assert signing.verify(
        SM2, platform.merchant_public, body, base64.b64decode(headers["X-Signature"])
    )
    assert json.loads(body)["amount"] == "80.00"


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ((200, {"order_number": "TB0001", "pay_url": "https://pay.example/c/1"}, False), "签名"),
        ((200, {"order_number": "TB9999", "pay_url": "https://pay.example/c/1"}, True), "订单号"),
        ((200, {"order_number": "TB0001", "pay_url": "javascript:alert(1)"}, True), "支付页"),
        ((500, {"error": "x"}, True), "HTTP 500"),
    ],
)
def test_an_answer_we_cannot_trust_is_refused(platform, answer, why):
    platform.answer = answer
    with pytest.raises(GatewayUnavailable) as refused:
        HttpGateway().create_order(ORDER)
    assert why in str(refused.value)


def test_a_refund_answers_its_number(platform):
    platform.answer = (
        200,
        {"order_number": "TB0001", "refund_number": "R123", "status": "refunded"},
        True,
    )
    number = HttpGateway().refund(RefundRequest("TB0001", "T1", "80.00", "办件不予受理", "RF1"))
    assert number == "R123"
    assert platform.received[0][0] == "/gpp/v1/refunds"


def test_notices_are_read_only_with_the_platforms_signature(platform):
    document = {
        "notice_id": "N1",
        "order_number": "TB0001",
        "trade_number": "T1",
        "amount": "80.00",
        "status": "paid",
        "paid_at": "2026-12-05T10:00:00",
    }
    body = signing.canonical_json(document)
    signature = base64.b64encode(signing.sign(SM2, platform.key.private_pem, body)).decode()
    notice = HttpGateway().read_notice(body, signature)
    assert (notice.order_number, notice.amount) == ("TB0001", Decimal("80.00"))
    other = signing.generate_key(SM2)
    forged = base64.b64encode(signing.sign(SM2, other.private_pem, body)).decode()
    with pytest.raises(NoticeRefused) as refused:
        HttpGateway().read_notice(body, forged)
    assert refused.value.code == "payment_notice_bad_signature"


def test_plain_http_elsewhere_and_missing_keys_are_refused(platform, settings):
    settings.PAYMENTS_HTTP_BASE_URL = "http://pay.example/gpp/v1"
    with pytest.raises(GatewayUnavailable, match="HTTPS"):
        HttpGateway().create_order(ORDER)
    settings.PAYMENTS_HTTP_BASE_URL = "https://pay.example/gpp/v1"
    settings.PAYMENTS_HTTP_MERCHANT_KEY_FILE = "/nonexistent/merchant.pem"
    with pytest.raises(GatewayUnavailable, match="私钥"):
        HttpGateway().create_order(ORDER)
    assert not platform.received


def test_a_refund_request_carries_our_request_number(platform):
    platform.answer = (
        200,
        {"order_number": "TB0001", "refund_number": "R123", "status": "refunded"},
        True,
    )
    HttpGateway().refund(RefundRequest("TB0001", "T1", "80.00", "办件不予受理", "RF1"))
    assert json.loads(platform.received[0][2])["request_number"] == "RF1"


def test_the_statement_is_read_line_by_line(platform):
    import datetime as dt

    platform.answer = (
        200,
        {
            "date": "2026-12-04",
            "entries": [
                {
                    "kind": "payment",
                    "order_number": "TB0001",
                    "trade_number": "T1",
                    "amount": "80.00",
                    "at": "2026-12-04T10:00:00+08:00",
                },
                {
                    "kind": "refund",
                    "order_number": "TB0001",
                    "trade_number": "T1",
                    "amount": "80.00",
                    "at": "2026-12-04T11:00:00+08:00",
                    "refund_number": "R1",
                },
            ],
        },
        True,
    )
    entries = HttpGateway().statement(dt.date(2026, 12, 4))
    assert [(e.kind, e.trade_number, e.amount) for e in entries] == [
        ("payment", "T1", Decimal("80.00")),
        ("refund", "T1", Decimal("80.00")),
    ]
    assert platform.received[0][0] == "/gpp/v1/statements"
    assert json.loads(platform.received[0][2]) == {"date": "2026-12-04"}


@pytest.mark.parametrize(
    "document",
    [
        {"date": "2026-12-03", "entries": []},
        {"date": "2026-12-04"},
        {"date": "2026-12-04", "entries": [{"kind": "payment", "order_number": "TB1"}]},
        {
            "date": "2026-12-04",
            "entries": [
                {
                    "kind": "gift",
                    "order_number": "TB1",
                    "trade_number": "T",
                    "amount": "1.00",
                    "at": "2026-12-04T10:00:00",
                }
            ],
        },
        {
            "date": "2026-12-04",
            "entries": [
                {
                    "kind": "payment",
                    "order_number": "TB1",
                    "trade_number": "T",
                    "amount": "-1.00",
                    "at": "2026-12-04T10:00:00",
                }
            ],
        },
    ],
)
def test_a_statement_that_makes_no_sense_is_refused(platform, document):
    import datetime as dt

    platform.answer = (200, document, True)
    with pytest.raises(GatewayUnavailable):
        HttpGateway().statement(dt.date(2026, 12, 4))
