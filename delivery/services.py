"""Every state change of shipments: booking, tracking, window hand-over.

Rules: addresses and mobile numbers are checked before anything is booked; the status only
moves forward (待揽收 → 已揽收 → 运输中 → 派送中 → 投递失败 → 已签收 / 已退回), and once a
shipment is signed for or returned nothing moves it again; polling the carrier twice
stores no event twice. Status changes are audited and reported, after commit, to the
callbacks registered in `delivery.registry`.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.actors import Actor, SystemActor
from core.exceptions import ProblemList, RuleViolation
from core.models import Organisation
from core.personal_data import mask_name, scrub
from core.services import record_audit
from core.validators import normalize_mobile, normalize_uscc
from delivery import registry
from delivery.carriers import BookingRequest, CarrierEvent, CarrierUnavailable, Party, carrier
from delivery.models import FINAL_STATUSES, Shipment, ShipmentEvent, ShipmentPurpose
from delivery.models import ShipmentStatus as Status

logger = logging.getLogger(__name__)

# How far along the route a status is. Failed delivery (投递失败) ranks after 派送中: the
# parcel may still be signed for on a later attempt, or be returned.
_RANK = {
    Status.CREATED: 0,
    Status.PICKED_UP: 1,
    Status.IN_TRANSIT: 2,
    Status.DELIVERING: 3,
    Status.FAILED: 4,
    Status.DELIVERED: 5,
    Status.RETURNED: 5,
}

# The actor named in audit rows of changes reported by the carrier.
TRACKING_ACTOR = SystemActor("track_shipments")


def book_shipment(
    *,
    case_number: str,
    purpose: str,
    sender: Party,
    recipient: Party,
    contents: str,
    actor: Actor,
    now: dt.datetime | None = None,
) -> Shipment:
    """Book a parcel for case `case_number` with the configured carrier and record it.

    Everything is checked first (names, mobile numbers, addresses, organisation codes);
    bad input raises `RuleViolation("shipment_invalid")` naming every problem and books
    nothing. The carrier is asked before our transaction opens, so no lock is held while
    it answers; a carrier that cannot be reached raises `carrier_unavailable` (HTTP 503)."""
    problems = ProblemList()
    case_number, contents = case_number.strip(), contents.strip()
    if not case_number:
        problems.add("办件编号不能为空", field="case_number")
    elif len(case_number) > 40:
        problems.add("办件编号过长", field="case_number")
    if purpose not in ShipmentPurpose.values:
        problems.add(f"未知的寄递用途：{purpose}", field="purpose")
    if not contents:
        problems.add("请填写内件，如“申请材料原件 3 份”", field="contents")
    elif len(contents) > 200:
        problems.add("内件说明不能超过200字", field="contents")
    sender = _clean_party(sender, "sender", "寄件", problems)
    recipient = _clean_party(recipient, "recipient", "收件", problems)
    problems.raise_if_any("shipment_invalid", "寄递信息有误，未下单")

    adapter = carrier()
    shipment = Shipment(
        case_number=case_number,
        purpose=purpose,
        carrier=adapter.code,
        sender_name=sender.name,
        sender_mobile=sender.mobile,
        sender_address=sender.address,
        sender_org_uscc=sender.org_uscc,
        recipient_name=recipient.name,
        recipient_mobile=recipient.mobile,
        recipient_address=recipient.address,
        recipient_org_uscc=recipient.org_uscc,
        contents=contents,
    )
    request = BookingRequest(str(shipment.public_id), sender, recipient, contents)
    try:
        booking = adapter.book(request)
    except CarrierUnavailable as exc:
        raise RuleViolation("carrier_unavailable", str(exc), status=503) from exc

    with transaction.atomic():
        taken = Shipment.objects.filter(
            carrier=adapter.code, tracking_number=booking.tracking_number
        ).exists()
        if taken:
            raise RuleViolation(
                "tracking_number_taken",
                f"承运方返回的运单号 {booking.tracking_number} 已被其他邮件使用，未下单",
            )
        shipment.tracking_number = booking.tracking_number
        shipment.fee = booking.fee
        shipment.booked_at = now or timezone.now()
        shipment.save()
        record_audit(
            actor=actor,
            action="book_shipment",
            obj=shipment,
            summary=(
                f"办件 {case_number} 寄递{shipment.get_purpose_display()}，"
                f"运单号 {shipment.tracking_number}，收件人 {shipment.recipient_name_masked}"
            ),
            data={
                "case_number": case_number,
                "purpose": purpose,
                "carrier": adapter.code,
                "tracking_number": shipment.tracking_number,
                "fee": str(shipment.fee),
            },
        )
    return shipment


def _clean_party(party: Party, field: str, label: str, problems: ProblemList) -> Party:
    """`party` with its mobile number and organisation code normalised; problems noted."""
    name, address, org = party.name.strip(), party.address.strip(), party.org_uscc.strip()
    if not name:
        problems.add(f"{label}人姓名不能为空", field=f"{field}.name")
    elif len(name) > 64:
        problems.add(f"{label}人姓名过长", field=f"{field}.name")
    mobile = party.mobile
    try:
        mobile = normalize_mobile(party.mobile)
    except ValidationError as exc:
        problems.add(f"{label}人{exc.messages[0]}", field=f"{field}.mobile", code=exc.code)
    if not address:
        problems.add(f"{label}地址不能为空", field=f"{field}.address")
    elif len(address) > 200:
        problems.add(f"{label}地址不能超过200字", field=f"{field}.address")
    if org:
        try:
            org = normalize_uscc(org)
        except ValidationError as exc:
            problems.add(
                f"{label}机构：{exc.messages[0]}", field=f"{field}.org_uscc", code=exc.code
            )
    return Party(name=name, mobile=mobile, address=address, org_uscc=org)


def refresh_tracking(
    shipment: Shipment, *, actor: Actor = TRACKING_ACTOR, now: dt.datetime | None = None
) -> list[ShipmentEvent]:
    """Ask the carrier for `shipment`'s events and store the new ones; returns them.

    Events already stored are skipped (by the carrier's event id), so polling again is
    harmless. The status moves to the furthest status reported, never back; 已签收 sets
    the signing time and the signer. `shipment` is updated in place. A shipment already
    signed for or returned is not polled. `now` is passed to the carrier (the local one
    simulates progress up to it)."""
    if not shipment.tracking_number:
        raise RuleViolation("shipment_not_booked", "该邮件尚未下单，无法查询轨迹")
    if not shipment.is_open:
        return []
    adapter = carrier()
    if adapter.code != shipment.carrier:
        raise RuleViolation(
            "carrier_mismatch",
            f"该邮件由承运方 {shipment.carrier} 承运，当前接入的是 {adapter.code}，无法查询轨迹",
        )
    try:
        reported = adapter.track(shipment.tracking_number, now=now)
    except CarrierUnavailable as exc:
        raise RuleViolation("carrier_unavailable", str(exc), status=503) from exc
    return _store_carrier_events(shipment, reported, actor=actor)


@transaction.atomic
def _store_carrier_events(
    shipment: Shipment, reported: list[CarrierEvent], *, actor: Actor
) -> list[ShipmentEvent]:
    # The row lock makes two pollers running at once store each event only once.
    locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
    known = set(locked.events.values_list("carrier_event_id", flat=True))
    fresh: list[CarrierEvent] = []
    for event in sorted(reported, key=lambda e: e.at):
        if event.event_id not in known:
            known.add(event.event_id)
            fresh.append(event)
    if not fresh:
        return []
    stored = ShipmentEvent.objects.bulk_create(
        ShipmentEvent(
            shipment=locked,
            carrier_event_id=event.event_id,
            at=event.at,
            status=event.status,
            # Carriers write couriers' and signers' numbers into free text.
            location=scrub(event.location)[:100],
            description=scrub(event.description)[:200],
            source=ShipmentEvent.Source.CARRIER,
        )
        for event in fresh
    )
    before = locked.status
    for event in fresh:
        _advance(locked, event.status, at=event.at, signed_by=event.signed_by)
    if locked.status != before:
        _save_status(locked, before, actor=actor, new_events=stored)
    _copy_status(locked, shipment)
    return stored


def _advance(shipment: Shipment, status: str, *, at: dt.datetime, signed_by: str) -> None:
    """Move `shipment` to `status` if that is further along; never back, never past the end."""
    if shipment.status in FINAL_STATUSES or _RANK[Status(status)] <= _RANK[Status(shipment.status)]:
        return
    shipment.status = status
    if status == Status.DELIVERED:
        shipment.delivered_at = at
        shipment.signed_by = signed_by.strip()[:64]


def _save_status(
    shipment: Shipment, before: str, *, actor: Actor, new_events: list[ShipmentEvent]
) -> None:
    shipment.save(update_fields=["status", "delivered_at", "signed_by"])
    record_audit(
        actor=actor,
        action="update_shipment_status",
        obj=shipment,
        summary=(
            f"运单 {shipment.tracking_number}：{Status(before).label} → "
            f"{shipment.get_status_display()}"
        ),
        data={"case_number": shipment.case_number, "from": before, "to": shipment.status},
    )
    registry.status_changed(shipment, new_events)


def _copy_status(source: Shipment, target: Shipment) -> None:
    target.status = source.status
    target.delivered_at = source.delivered_at
    target.signed_by = source.signed_by


@dataclass
class RefreshSummary:
    """What one pass over the open shipments did."""

    checked: int = 0
    new_events: int = 0
    advanced: int = 0
    delivered: int = 0
    unavailable: int = 0

    def line(self) -> str:
        """The pass in one line, for the command's output and the worker's log."""
        return (
            f"已查询 {self.checked} 件在途邮件：新增轨迹 {self.new_events} 条，"
            f"状态更新 {self.advanced} 件，其中已签收 {self.delivered} 件"
            + (f"；{self.unavailable} 件因承运方暂不可用未能查询" if self.unavailable else "")
        )


def refresh_open_shipments(*, now: dt.datetime | None = None) -> RefreshSummary:
    """Poll the carrier for every shipment still on its way (for a worker or cron job).

    Each shipment is refreshed in its own transaction, so one the carrier cannot answer
    for is counted and skipped without undoing the others. Shipments booked with another
    carrier than the configured one are left alone."""
    summary = RefreshSummary()
    open_shipments = (
        Shipment.objects.filter(carrier=carrier().code)
        .exclude(status__in=FINAL_STATUSES)
        .exclude(tracking_number="")
        .order_by("id")
    )
    for shipment in open_shipments:
        before = shipment.status
        summary.checked += 1
        try:
            events = refresh_tracking(shipment, now=now)
        except RuleViolation as exc:
            logger.warning("shipment %s not refreshed: %s", shipment.tracking_number, exc.code)
            summary.unavailable += 1
            continue
        summary.new_events += len(events)
        if shipment.status != before:
            summary.advanced += 1
            if shipment.status == Status.DELIVERED:
                summary.delivered += 1
    return summary


@transaction.atomic
def record_handover(
    shipment: Shipment, *, signed_by: str, actor: Actor, now: dt.datetime | None = None
) -> Shipment:
    """Window staff record that a parcel addressed to their window was received
    (窗口签收), e.g. a result posted back to region A's window. Stored as a staff event;
    the shipment becomes 已签收 and the carrier is not polled for it again."""
    locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
    signed_by = signed_by.strip()
    if not locked.is_open:
        raise RuleViolation(
            "shipment_closed", f"该邮件状态为“{locked.get_status_display()}”，不能再登记签收"
        )
    if not locked.recipient_org_uscc:
        raise RuleViolation("handover_not_window", "只有寄往窗口的邮件可由窗口人员登记签收")
    if not signed_by:
        raise RuleViolation("signed_by_missing", "请填写签收人")
    if len(signed_by) > 64:
        raise RuleViolation("signed_by_too_long", "签收人姓名过长")
    now = now or timezone.now()
    window = Organisation.objects.filter(uscc=locked.recipient_org_uscc).first()
    event = ShipmentEvent.objects.create(
        shipment=locked,
        carrier_event_id=f"staff-{uuid.uuid4().hex}",
        at=now,
        status=Status.DELIVERED,
        location=window.name[:100] if window else "",
        description="窗口人员登记签收",
        source=ShipmentEvent.Source.STAFF,
    )
    before = locked.status
    locked.status, locked.delivered_at, locked.signed_by = Status.DELIVERED, now, signed_by
    locked.save(update_fields=["status", "delivered_at", "signed_by"])
    record_audit(
        actor=actor,
        action="record_handover",
        obj=locked,
        summary=f"运单 {locked.tracking_number} 窗口登记签收，签收人 {mask_name(signed_by)}",
        data={"case_number": locked.case_number, "from": before, "to": locked.status},
    )
    registry.status_changed(locked, [event])
    _copy_status(locked, shipment)
    return shipment


def result_postage() -> Decimal:
    """What the applicant pays for the result sent by post (元), from the tariff setting
    `DELIVERY_RESULT_POSTAGE`; 0 when the government pays the postage (the default)."""
    try:
        postage = Decimal(str(settings.DELIVERY_RESULT_POSTAGE)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise RuleViolation(
            "postage_invalid", "邮寄费设置（DELIVERY_RESULT_POSTAGE）不是金额", status=500
        ) from None
    if not postage.is_finite() or postage < 0:
        raise RuleViolation(
            "postage_invalid", "邮寄费设置（DELIVERY_RESULT_POSTAGE）无效", status=500
        )
    return postage
