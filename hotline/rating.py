"""The ticket side of 好差评: what a rating of a ticket event refers to.

The ratings app keeps a strict registry of rated subject kinds,
`register_subject_kind(kind, resolve)` with `resolve(reference, event) -> RatedService`;
tickets join it with one registration in `HotlineConfig.ready()`. The rating is the last step of a
ticket: the events are the actions the definition tags `rate:<event>` — `consultation`
(answered on the spot) and `handling` (closed after the reply and the callback) — and a
ticket is rateable for an event only once the action that completes it has been taken.
"""

from __future__ import annotations

from core.exceptions import NotFound, RuleViolation
from hotline.engine import PROCESS
from hotline.models import Ticket
from hotline.selectors import RatedTicket
from hotline.workflow import RATED_EVENTS

SUBJECT_KIND = "ticket"


def resolve_ticket(reference: str, event: str) -> RatedTicket:
    """The rated service behind ticket `reference` and `event`: the organisation that
    served (the lead for `handling`, the centre for `consultation`), the caller's account
    that may rate (None for a phone caller: the agent records their rating), when."""
    if event not in RATED_EVENTS:
        raise RuleViolation("rating_event_unknown", f"工单没有可评价的环节“{event}”", field="event")
    ticket = (
        Ticket.objects.select_related("workflow", "lead", "centre__organisation", "division")
        .filter(number=reference)
        .first()
    )
    if ticket is None:
        raise NotFound("ticket_not_found", f"工单 {reference} 不存在")
    definition = PROCESS.definition_of(ticket)
    outcomes = {
        value
        for action in definition.actions
        if f"rate:{event}" in action.tags
        for value in definition.tag_values(action.to, "outcome")
    }
    if ticket.outcome not in outcomes or ticket.closed_at is None:
        raise RuleViolation(
            "ticket_not_rateable", f"工单 {reference} 尚未完成该环节，暂不能评价", status=409
        )
    organisation = (
        ticket.lead if event == "handling" and ticket.lead else ticket.centre.organisation
    )
    return RatedTicket(
        reference=ticket.number,
        event=event,
        organisation_id=organisation.pk,
        division=ticket.division.code,
        service_name=f"12345 {ticket.get_type_display()}：{ticket.title}",
        rater_user_id=ticket.caller_user_id,
        served_at=ticket.closed_at,
    )
