"""Tracking with the local carrier: simulated progress from the booking time, idempotent
polling, the status-change registry, the periodic refresh and the window hand-over."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.actors import SystemActor
from core.exceptions import RuleViolation
from core.models import AuditEvent
from core.registry import RegistryError
from delivery import registry
from delivery.models import Shipment, ShipmentEvent
from delivery.services import record_handover, refresh_open_shipments, refresh_tracking
from tests.delivery.conftest import STEP, T0

Status = Shipment.Status


def after(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_the_local_parcel_moves_one_step_at_a_time(book):
    shipment = book()

    assert refresh_tracking(shipment, now=after(STEP - 1)) == []
    assert shipment.status == Status.CREATED

    [picked_up] = refresh_tracking(shipment, now=after(STEP))
    assert (picked_up.status, picked_up.at) == (Status.PICKED_UP, after(STEP))
    assert picked_up.location == "辽宁省大连市"
    assert picked_up.source == ShipmentEvent.Source.CARRIER
    assert shipment.status == Status.PICKED_UP

    assert [e.status for e in refresh_tracking(shipment, now=after(3 * STEP))] == [
        Status.IN_TRANSIT,
        Status.DELIVERING,
    ]
    assert shipment.status == Status.DELIVERING
    assert shipment.delivered_at is None

    [signed] = refresh_tracking(shipment, now=after(10 * STEP))
    assert signed.status == Status.DELIVERED
    # Where the recipient lives, to the city (黑龙江省哈尔滨市南岗区学府路 52 号): the street
    # and number are personal data and stay out of the carrier's tracking.
    assert signed.location == "黑龙江省哈尔滨市"
    shipment.refresh_from_db()
    assert shipment.status == Status.DELIVERED
    assert shipment.delivered_at == after(4 * STEP)
    assert shipment.signed_by == "王芳" and shipment.signed_by_masked == "王*"
    assert list(shipment.events.values_list("status", flat=True)) == [
        Status.PICKED_UP,
        Status.IN_TRANSIT,
        Status.DELIVERING,
        Status.DELIVERED,
    ]


def test_the_step_comes_from_the_settings(book, settings):
    settings.DELIVERY_LOCAL_STEP_SECONDS = 5
    shipment = book()

    refresh_tracking(shipment, now=after(20))

    assert shipment.status == Status.DELIVERED
    assert shipment.delivered_at == after(20)


def test_polling_twice_stores_nothing_twice(book):
    shipment = book()

    first = refresh_tracking(shipment, now=after(2 * STEP))
    again = refresh_tracking(shipment, now=after(2 * STEP))
    # A stale copy of the shipment, as a second worker would hold.
    stale = Shipment.objects.get(pk=shipment.pk)
    Shipment.objects.filter(pk=shipment.pk).update(status=Status.CREATED)
    later = refresh_tracking(stale, now=after(2 * STEP))

    assert len(first) == 2 and again == [] and later == []
    assert ShipmentEvent.objects.filter(shipment=shipment).count() == 2
    audits = AuditEvent.objects.filter(action="update_shipment_status", object_id=str(shipment.pk))
    assert audits.count() == 1
    assert "待揽收 → 运输中" in audits.get().summary


def test_a_signed_shipment_is_not_polled_again(book):
    shipment = book()
    refresh_tracking(shipment, now=after(4 * STEP))
    assert shipment.status == Status.DELIVERED

    assert refresh_tracking(shipment, now=after(100 * STEP)) == []
    assert shipment.events.count() == 4


def test_an_unknown_carrier_is_refused(book, settings):
    shipment = book()
    Shipment.objects.filter(pk=shipment.pk).update(carrier="sf")
    shipment.refresh_from_db()

    with pytest.raises(RuleViolation) as caught:
        refresh_tracking(shipment, now=after(4 * STEP))

    assert caught.value.code == "carrier_mismatch"
    assert shipment.events.count() == 0


# The registry ------------------------------------------------------------------------------


@pytest.fixture
def heard():
    """Callbacks registered as a higher app would, removed after the test."""
    calls: list[tuple[str, str, list[str]]] = []

    def listener(shipment, events):
        calls.append((shipment.tracking_number, shipment.status, [e.status for e in events]))

    registry.on_status_change(listener)
    with pytest.raises(RegistryError):
        registry.on_status_change(listener)  # registering twice is refused
    yield calls
    registry.remove_status_callback(listener)


def test_status_changes_are_reported_after_commit(book, heard, django_capture_on_commit_callbacks):
    shipment = book()

    with django_capture_on_commit_callbacks(execute=False) as pending:
        refresh_tracking(shipment, now=after(2 * STEP))
    assert heard == []  # nothing before the commit
    for callback in pending:
        callback()

    assert heard == [(shipment.tracking_number, Status.IN_TRANSIT, ["picked_up", "in_transit"])]


def test_no_report_without_a_status_change(book, heard, django_capture_on_commit_callbacks):
    shipment = book()
    with django_capture_on_commit_callbacks(execute=True):
        refresh_tracking(shipment, now=after(STEP))
        refresh_tracking(shipment, now=after(STEP))

    assert len(heard) == 1


def test_a_failing_callback_does_not_stop_the_others(
    book, heard, django_capture_on_commit_callbacks
):
    def broken(shipment, events):
        raise RuntimeError("cases is having a bad day")

    registry.on_status_change(broken)
    registry._CALLBACKS.insert(0, registry._CALLBACKS.pop())  # the broken one runs first
    try:
        with django_capture_on_commit_callbacks(execute=True):
            refresh_tracking(book(), now=after(STEP))
    finally:
        registry.remove_status_callback(broken)

    assert len(heard) == 1


# The periodic refresh ----------------------------------------------------------------------


def test_refresh_open_shipments_polls_only_open_ones(book):
    moving = book()
    signed = book(case_number="LN-20260511-000043")
    refresh_tracking(signed, now=after(4 * STEP))

    summary = refresh_open_shipments(now=after(4 * STEP))

    assert (summary.checked, summary.advanced, summary.delivered) == (1, 1, 1)
    assert summary.new_events == 4 and summary.unavailable == 0
    moving.refresh_from_db()
    assert moving.status == Status.DELIVERED


def test_the_refresh_command_prints_a_summary(book, capsys):
    an_hour_ago = timezone.now() - dt.timedelta(hours=1)
    book(now=an_hour_ago)
    book(now=timezone.now(), case_number="LN-20260511-000043")

    call_command("refresh_shipments")

    out = capsys.readouterr().out
    assert "已查询 2 件在途邮件" in out
    assert "状态更新 1 件，其中已签收 1 件" in out


# Hand-over at a window ---------------------------------------------------------------------


@pytest.fixture
def to_window(book, sender, recipient):
    """A result posted from region B to region A's window, for the applicant to collect."""
    return book(
        purpose=Shipment.Purpose.RESULT,
        sender=dataclasses.replace(recipient, org_uscc=""),
        recipient=sender,
        contents="营业执照正本 1 份",
    )


def test_window_staff_record_the_handover(to_window):
    refresh_tracking(to_window, now=after(2 * STEP))

    record_handover(to_window, signed_by="李窗口", actor=SystemActor("clerk"), now=after(3 * STEP))

    to_window.refresh_from_db()
    assert to_window.status == Status.DELIVERED
    assert to_window.delivered_at == after(3 * STEP)
    assert to_window.signed_by == "李窗口"
    last = to_window.events.last()
    assert last is not None
    assert (last.source, last.status) == (ShipmentEvent.Source.STAFF, Status.DELIVERED)
    audit = AuditEvent.objects.get(action="record_handover")
    assert "李*" in audit.summary and "李窗口" not in audit.summary
    # The carrier is not asked about it any more.
    assert refresh_tracking(to_window, now=after(10 * STEP)) == []


@pytest.mark.parametrize(
    "signed_by, code",
    [("", "signed_by_missing"), ("  ", "signed_by_missing"), ("李" * 65, "signed_by_too_long")],
)
def test_a_handover_needs_a_signer(to_window, signed_by, code):
    with pytest.raises(RuleViolation) as caught:
        record_handover(to_window, signed_by=signed_by, actor=SystemActor("clerk"))

    assert caught.value.code == code
    to_window.refresh_from_db()
    assert to_window.status == Status.CREATED and to_window.events.count() == 0


def test_only_parcels_to_a_window_are_handed_over_there(book):
    to_home = book()

    with pytest.raises(RuleViolation) as caught:
        record_handover(to_home, signed_by="王芳", actor=SystemActor("clerk"))

    assert caught.value.code == "handover_not_window"
    assert to_home.events.count() == 0


def test_a_signed_parcel_cannot_be_handed_over_again(to_window):
    record_handover(to_window, signed_by="李窗口", actor=SystemActor("clerk"))

    with pytest.raises(RuleViolation) as caught:
        record_handover(to_window, signed_by="张三", actor=SystemActor("clerk"))

    assert caught.value.code == "shipment_closed"
    assert caught.value.message == "该邮件状态为“已签收”，不能再登记签收"
    to_window.refresh_from_db()
    assert to_window.signed_by == "李窗口"
