"""Payment notices (支付结果通知): checked by signature, amount and repetition; refused
ones change nothing, through the service and through POST /api/v1/payments/notices/…"""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest

from core import signing
from core.actors import SystemActor
from core.exceptions import RuleViolation
from core.models import AuditEvent
from payments import services
from payments.gateways import LocalGateway
from payments.models import Payment, PaymentNotice
from payments.services import Line
from tests import builders

pytestmark = pytest.mark.django_db

URL = "/api/v1/payments/notices/local"


@pytest.fixture
def payment() -> Payment:
    return services.open_payment(
        case_number="LN-20261205-000042",
        payee=builders.organisation("大连市公安局", "210200"),
        subject="户籍证明开具（办件 LN-20261205-000042）",
        lines=[
            Line("fee", "证明工本费", Decimal("20.00")),
            Line("postage", "邮寄费", Decimal("12.00")),
        ],
        actor=SystemActor("test"),
    )


def _post(client, body: bytes, signature: str):
    return client.post(URL, data=body, content_type="application/json", HTTP_X_SIGNATURE=signature)


def _resigned(document: dict) -> tuple[bytes, str]:
    """`document` signed by the local gateway's own key (a gateway that really sent it)."""
    from django.conf import settings

    from payments.gateways import _local_key

    private_pem, _ = _local_key(settings.SECRET_KEY)
    body = signing.canonical_json(document)
    return body, base64.b64encode(
        signing.sign(signing.Algorithm.ED25519, private_pem, body)
    ).decode()


def test_a_signed_notice_settles_the_payment_once(client, payment):
    body, signature = LocalGateway().notice_for(payment.order_number, "32.00")
    r = _post(client, body, signature)
    assert r.status_code == 200, r.content
    assert r.json() == {"code": "ok", "order_number": payment.order_number, "status": "paid"}
    payment.refresh_from_db()
    assert payment.status == "paid" and payment.method == "online" and payment.gateway == "local"
    notice = PaymentNotice.objects.get(payment=payment)
    assert notice.body.encode() == body
    assert payment.trade_number == json.loads(body)["trade_number"]

    # The same notice again: refused with its code, nothing stored twice.
    again = _post(client, body, signature)
    assert again.status_code == 409
    assert again.json()["code"] == "payment_notice_duplicate"
    # Another notice for the same payment: no second effect either.
    other, other_signature = LocalGateway().notice_for(payment.order_number, "32.00")
    assert _post(client, other, other_signature).json()["code"] == "payment_notice_duplicate"
    assert PaymentNotice.objects.count() == 1
    assert AuditEvent.objects.filter(action="receive_payment_notice").count() == 1


def test_a_bad_signature_is_refused_and_changes_nothing(client, payment):
    body, signature = LocalGateway().notice_for(payment.order_number, "32.00")
    tampered = body.replace(b'"32.00"', b'"0.01"')
    for sent, sig in [
        (tampered, signature),
        (body, base64.b64encode(b"x" * 64).decode()),
        (body, "not base64 !"),
        (body, ""),
    ]:
        r = _post(client, sent, sig)
        assert r.status_code == 400
        assert r.json()["code"] == "payment_notice_bad_signature"
    # A notice signed by another key (another node's local gateway) is not ours either.
    key = signing.generate_key(signing.Algorithm.ED25519)
    foreign = base64.b64encode(signing.sign(key.algorithm, key.private_pem, body)).decode()
    assert _post(client, body, foreign).json()["code"] == "payment_notice_bad_signature"
    payment.refresh_from_db()
    assert payment.status == "due" and not PaymentNotice.objects.exists()


def test_a_different_amount_is_refused_and_changes_nothing(client, payment):
    for amount in ("20.00", "32.01", "320.00"):
        body, signature = LocalGateway().notice_for(payment.order_number, amount)
        r = _post(client, body, signature)
        assert r.status_code == 400
        assert r.json()["code"] == "payment_amount_mismatch"
    payment.refresh_from_db()
    assert payment.status == "due" and not PaymentNotice.objects.exists()


@pytest.mark.parametrize(
    ("change", "code", "status"),
    [
        ({"order_number": "TBNOSUCHORDER"}, "payment_unknown", 404),
        ({"status": "failed"}, "payment_notice_invalid", 400),
        ({"amount": "32"}, "payment_notice_invalid", 400),
        ({"amount": "三十二"}, "payment_notice_invalid", 400),
        ({"paid_at": "yesterday"}, "payment_notice_invalid", 400),
        ({"notice_id": ""}, "payment_notice_invalid", 400),
    ],
)
def test_malformed_or_unknown_notices_are_refused(client, payment, change, code, status):
    document = {
        "notice_id": "N1",
        "order_number": payment.order_number,
        "trade_number": "T1",
        "amount": "32.00",
        "status": "paid",
        "paid_at": "2026-12-05T10:00:00+08:00",
        **change,
    }
    r = _post(client, *_resigned(document))
    assert (r.status_code, r.json()["code"]) == (status, code)
    payment.refresh_from_db()
    assert payment.status == "due"


def test_a_notice_for_another_gateway_is_refused(client, payment):
    body, signature = LocalGateway().notice_for(payment.order_number, "32.00")
    r = client.post(
        "/api/v1/payments/notices/gpp",
        data=body,
        content_type="application/json",
        HTTP_X_SIGNATURE=signature,
    )
    assert (r.status_code, r.json()["code"]) == (404, "payment_gateway_unknown")


def test_open_payment_refuses_bad_lines_and_a_second_open_payment(payment):
    org = payment.payee
    for lines in (
        [],
        [Line("fee", "x", Decimal("0"))],
        [Line("fee", "x", Decimal("1.001"))],
        [Line("tip", "x", Decimal("1"))],
    ):
        with pytest.raises(RuleViolation) as refused:
            services.open_payment(
                case_number="LN-1", payee=org, subject="x", lines=lines, actor=SystemActor("t")
            )
        assert refused.value.code == "payment_invalid"
    with pytest.raises(RuleViolation) as twice:
        services.open_payment(
            case_number=payment.case_number,
            payee=org,
            subject="x",
            lines=[Line("fee", "x", Decimal("1"))],
            actor=SystemActor("t"),
        )
    assert twice.value.code == "payment_exists"
    assert Payment.objects.count() == 1


def test_refunding_a_cash_payment_records_it(payment):
    services.record_counter_payment(payment, method="cash", actor=SystemActor("t"))
    refunded = services.refund_payment(payment, reason="办件不予受理", actor=SystemActor("t"))
    assert refunded.status == "refunded" and refunded.refund_reason == "办件不予受理"
    # Refunding again leaves it as it is.
    assert (
        services.refund_payment(payment, reason="x", actor=SystemActor("t")).refund_reason
        == "办件不予受理"
    )
