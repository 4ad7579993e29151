"""Posting a case's paper (寄递): the originals from the receiving window to the handling
organisation, a supplement, and the result to the applicant or to the receiving window for
hand-over. Each booking and each status the carrier reports is a timeline entry, shared
with the counterpart node of a two-node case, so both show who holds the paper."""

from __future__ import annotations

from dataclasses import replace

from django.db import transaction

from accounts.models import Role
from accounts.selectors import staff_user
from cases import outbound, timeline
from cases.models import Case
from cases.payloads import Delivery
from cases.workflow import HANDLING, RECEIVING, definition_of
from core.actors import Actor, SystemActor
from core.exceptions import RuleViolation
from core.personal_data import mask_name
from core.process import Transition
from delivery.carriers import Party
from delivery.models import Shipment, ShipmentEvent
from delivery.services import book_shipment
from licences.models import Licence

# Who posts what; when is the workflow definition's (states tagged `post:<purpose>`).
_RULES: dict[str, tuple[str, list[Role]]] = {
    Shipment.Purpose.MATERIALS: (RECEIVING, [Role.WINDOW_CLERK]),
    Shipment.Purpose.SUPPLEMENT: (RECEIVING, [Role.WINDOW_CLERK]),
    Shipment.Purpose.RESULT: (HANDLING, [Role.REVIEWER, Role.APPROVER]),
}


def postable(case: Case, actor: Actor) -> list[str]:
    """What `actor` may post for `case` now (the purposes, in `_RULES` order)."""
    now = definition_of(case).tag_values(case.state, "post")
    out = []
    for purpose, (side, roles) in _RULES.items():
        org = case.receiving_org if side == RECEIVING else case.handling_org
        if purpose in now and org.is_local and staff_user(actor, roles, [org]) is not None:
            out.append(purpose)
    return out


def post(
    case: Case,
    *,
    purpose: str,
    sender: Party,
    recipient: Party,
    contents: str,
    actor: Actor,
    to_window: bool = True,
    in_state: str | None = None,
) -> Shipment:
    """Book a parcel for the case with the carrier and put it on the timeline. The sender is
    the posting side's organisation; the recipient the other side's window (`to_window`) or
    a person (the applicant, for a result). Organisation codes come from the case, not the
    caller. `in_state`: the state the posting is judged in, for an action's effect (the
    state it leaves)."""
    if purpose not in _RULES:
        raise RuleViolation("shipment_purpose_unknown", f"未知的寄递用途：{purpose}")
    side, roles = _RULES[purpose]
    org = case.receiving_org if side == RECEIVING else case.handling_org
    other = case.handling_org if side == RECEIVING else case.receiving_org
    if not org.is_local or staff_user(actor, roles, [org]) is None:
        raise RuleViolation(
            "action_forbidden",
            f"只有{'收件窗口' if side == RECEIVING else '业务属地'}的工作人员可以寄出{Shipment.Purpose(purpose).label}",
            status=403,
        )
    state = case.state if in_state is None else in_state
    if purpose not in definition_of(case).tag_values(state, "post"):
        raise RuleViolation(
            "shipment_not_now",
            f"办件当前状态下不能寄出{Shipment.Purpose(purpose).label}",
            status=409,
        )
    sender = replace(sender, org_uscc=org.uscc)
    recipient = replace(recipient, org_uscc=other.uscc if to_window else "")
    shipment = book_shipment(
        case_number=case.number,
        purpose=purpose,
        sender=sender,
        recipient=recipient,
        contents=contents,
        actor=actor,
    )
    with transaction.atomic():
        event = timeline.record_event(
            case,
            actor=actor,
            action=f"post_{purpose}",
            organisation=org,
            note=(
                f"{Shipment.Purpose(purpose).label}（{contents}）寄往"
                f"{recipient.name if recipient.org_uscc else mask_name(recipient.name)}，"
                f"运单号 {shipment.tracking_number}"
            ),
            data={"tracking_number": shipment.tracking_number, "purpose": purpose},
        )
        outbound.share_event(case, event)
    return shipment


def on_shipment_status(shipment: Shipment, new_events: list[ShipmentEvent]) -> None:
    """Carrier news about a case's parcel goes on the case's timeline (and its counterpart's)."""
    case = Case.objects.filter(number=shipment.case_number).first()
    if case is None or not new_events:
        return
    latest = new_events[-1]
    signed = f"，签收人 {shipment.signed_by_masked}" if shipment.status == "delivered" else ""
    with transaction.atomic():
        event = timeline.record_event(
            case,
            actor=SystemActor(f"寄递（{shipment.carrier}）"),
            action="shipment_status",
            note=(
                f"运单 {shipment.tracking_number}（{shipment.get_purpose_display()}）："
                f"{shipment.get_status_display()}{signed}"
                f"{'，' + latest.location if latest.location else ''}"
            ),
            data={"tracking_number": shipment.tracking_number, "status": shipment.status},
        )
        outbound.share_event(case, event)


def deliver_result(t: Transition[Case]) -> None:
    """Effect of 送达: the result reaches the applicant the way they chose when applying.

    - 电子送达: the licence or result document is in their 证照夹 (and on /verify/);
    - 窗口领取: handed over at the window (the receiving window's 交付 for a proxy case);
    - 邮寄送达: the result is posted to the address they gave, booked with the carrier now
      unless a result parcel is already on its way; the handling side gives its own mobile
      number and address as sender (`delivery` payload).
    The timeline row of the action says which."""
    case = t.process
    method = case.delivery_method
    if t.action.name == "hand_over" or method == Case.DeliveryMethod.WINDOW:
        where = case.receiving_org if t.action.name == "hand_over" else case.handling_org
        t.event_data["delivery"] = Case.DeliveryMethod.WINDOW
        _say(t, f"窗口领取：{where.name}当面交付办理结果")
        return
    if method == Case.DeliveryMethod.ELECTRONIC:
        issued = Licence.objects.filter(case_number=case.number).exclude(
            status=Licence.Status.REVOKED
        )
        t.event_data["delivery"] = method
        _say(
            t,
            "电子送达：办理结果已存入申请人的证照夹，可下载并扫码核验"
            if issued.exists()
            else "电子送达：办理结果已通过消息告知申请人",
        )
        return
    posted = Shipment.objects.filter(
        case_number=case.number, purpose=Shipment.Purpose.RESULT
    ).first()
    if posted is None:
        payload = t.payload
        assert isinstance(payload, Delivery)
        if not payload.sender_mobile.strip() or not payload.sender_address.strip():
            raise RuleViolation(
                "delivery_sender_required",
                "申请人选择了邮寄送达：请填写寄件人手机号码和寄件地址",
                field="sender_address",
            )
        posted = post(
            case,
            purpose=Shipment.Purpose.RESULT,
            sender=Party(case.handling_org.name, payload.sender_mobile, payload.sender_address),
            recipient=Party(case.applicant_name, case.delivery_mobile, case.delivery_address),
            contents=case.item_version.result_name or "办理结果",
            actor=t.actor,
            to_window=False,
            in_state=t.from_state,
        )
    t.event_data["delivery"] = method
    t.event_data["tracking_number"] = posted.tracking_number
    _say(t, f"邮寄送达：运单号 {posted.tracking_number}")


def _say(t: Transition[Case], text: str) -> None:
    t.note = f"{text}；{t.note}" if t.note else text
