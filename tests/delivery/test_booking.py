"""Booking a shipment: what is stored, encrypted at rest, audited; bad input changes nothing."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from django.db import connection

from core.exceptions import RuleViolation
from core.models import AuditEvent
from core.personal_data import current_prefix
from delivery.carriers import is_valid_s10
from delivery.models import Shipment
from tests.delivery.conftest import T0


def test_booking_records_the_shipment_with_a_tracking_number(book, window_uscc):
    shipment = book()

    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.CREATED
    assert shipment.carrier == "local"
    assert is_valid_s10(shipment.tracking_number)
    assert shipment.booked_at == T0
    assert shipment.fee == Decimal("0.00")
    assert shipment.case_number == "LN-20260511-000042"
    assert shipment.sender_org_uscc == window_uscc
    assert shipment.recipient_name == "王芳"
    assert shipment.recipient_mobile == "15840116677"
    assert shipment.events.count() == 0


def test_booking_is_audited_without_personal_data(book):
    shipment = book()

    audit = AuditEvent.objects.get(action="book_shipment", object_id=str(shipment.pk))
    assert audit.actor_label == "test"
    assert shipment.tracking_number in audit.summary
    assert "王*" in audit.summary
    assert "王芳" not in audit.summary and "15840116677" not in str(audit.data)
    assert audit.data["case_number"] == "LN-20260511-000042"


def test_mobile_numbers_are_normalised(book, recipient):
    shipment = book(recipient=dataclasses.replace(recipient, mobile="+86 158-4011-6677"))

    shipment.refresh_from_db()
    assert shipment.recipient_mobile == "15840116677"
    assert shipment.recipient_mobile_masked == "158****6677"


def test_personal_data_is_encrypted_at_rest_and_masked_for_display(book):
    shipment = book()

    columns = [
        "sender_name",
        "sender_mobile",
        "sender_address",
        "recipient_name",
        "recipient_mobile",
        "recipient_address",
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM delivery_shipment WHERE id = %s", [shipment.pk]
        )
        raw = cursor.fetchone()
    stored = " ".join(raw)
    for secret in ["13904112368", "15840116677", "王芳", "李窗口", "学府路", "人民路"]:
        assert secret not in stored
    assert all(value.startswith(current_prefix()) for value in raw)
    assert shipment.recipient_name_masked == "王*"
    assert shipment.recipient_address_masked == "黑龙江省哈尔滨市****"
    assert shipment.sender_mobile_masked == "139****2368"


def _replace(party, **changes):
    return dataclasses.replace(party, **changes)


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda s, r: {"recipient": _replace(r, address="  ")}, "recipient.address"),
        (lambda s, r: {"recipient": _replace(r, mobile="1584011667")}, "recipient.mobile"),
        (lambda s, r: {"recipient": _replace(r, mobile="12840116677")}, "recipient.mobile"),
        (lambda s, r: {"sender": _replace(s, name="")}, "sender.name"),
        (lambda s, r: {"sender": _replace(s, mobile="")}, "sender.mobile"),
        (lambda s, r: {"sender": _replace(s, org_uscc="91210200MA0XXXXX1")}, "sender.org_uscc"),
        (lambda s, r: {"purpose": "gift"}, "purpose"),
        (lambda s, r: {"contents": ""}, "contents"),
        (lambda s, r: {"case_number": " "}, "case_number"),
    ],
    ids=[
        "empty-address",
        "short-mobile",
        "mobile-prefix",
        "no-sender-name",
        "no-sender-mobile",
        "bad-uscc",
        "unknown-purpose",
        "no-contents",
        "no-case-number",
    ],
)
def test_bad_input_is_refused_and_changes_nothing(book, sender, recipient, change, field):
    audits = AuditEvent.objects.count()

    with pytest.raises(RuleViolation) as caught:
        book(**change(sender, recipient))

    assert caught.value.code == "shipment_invalid"
    assert caught.value.message == "寄递信息有误，未下单"
    assert [p.field for p in caught.value.problems] == [field]
    assert Shipment.objects.count() == 0
    assert AuditEvent.objects.count() == audits


def test_every_problem_is_reported_at_once(book, sender, recipient):
    with pytest.raises(RuleViolation) as caught:
        book(
            sender=_replace(sender, mobile="110"),
            recipient=_replace(recipient, name="", address=""),
        )

    fields = {p.field: p.reason for p in caught.value.problems}
    assert set(fields) == {"sender.mobile", "recipient.name", "recipient.address"}
    assert fields["recipient.address"] == "收件地址不能为空"
    assert fields["sender.mobile"].startswith("寄件人手机号码应为11位")
    assert Shipment.objects.count() == 0
