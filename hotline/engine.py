"""Tickets as a kind of process (core/process.py): who may act for which side of a ticket,
the clock in the province's working days (or hours for 接诉即办) on the place's
calendar, and what follows a change (a signed-in caller is told).

`take_action` is every change of a ticket's state."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from accounts.models import StaffRole
from accounts.services import notify
from core.actors import Actor, SystemActor
from core.clock import Limit
from core.exceptions import RuleViolation
from core.models import Organisation
from core.process import Process, Transition
from core.workflow import ActionSpec
from hotline.models import Ticket, TicketAssignment, TicketDefinition, TicketEvent
from hotline.selectors import deadline_for
from hotline.workflow import CALLER, CENTRE, CO, DEFINITIONS_DIR, LEAD, SYSTEM, VOCABULARY


class TicketProcess(Process[Ticket]):
    """12345 tickets moved through `hotline/workflows/*.json`."""

    model = Ticket
    definition_model = TicketDefinition
    event_model = TicketEvent
    event_owner = "ticket"
    vocabulary = VOCABULARY
    definitions_dir = DEFINITIONS_DIR
    division_path = "division__code"
    noun = "工单"
    conflict = ("ticket_conflict", "工单已被他人处理，请刷新后重试")

    def lock(self, process: Ticket) -> Ticket:
        locked: Ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("workflow", "division", "centre__organisation", "lead", "category")
            .get(pk=process.pk)
        )
        return locked

    def organisations(self, ticket: Ticket, scope: str | None) -> list[int]:
        """The organisations acting for `scope` of `ticket` now."""
        if scope == CENTRE:
            return [ticket.centre.organisation_id]
        if scope == LEAD:
            return [ticket.lead_id] if ticket.lead_id else []
        if scope == CO:
            return list(
                TicketAssignment.objects.filter(
                    ticket=ticket, active=True, part=TicketAssignment.Part.CO
                ).values_list("organisation_id", flat=True)
            )
        return []

    def authorise(self, process: Ticket, action: ActionSpec, actor: Actor) -> Organisation | None:
        for who in action.by:
            if who.role == SYSTEM:
                if isinstance(actor, SystemActor):
                    return None
            elif who.role == CALLER:
                if isinstance(actor, User) and process.caller_user_id == actor.pk:
                    return None
            elif isinstance(actor, User):
                orgs = self.organisations(process, who.scope)
                held = (
                    StaffRole.objects.filter(user=actor, role=who.role, organisation_id__in=orgs)
                    .select_related("organisation")
                    .first()
                )
                if held is not None:
                    return held.organisation
        label = self.definition_of(process).action_label(action)
        raise RuleViolation("action_forbidden", f"无权执行“{label}”", status=403)

    def limit(self, process: Ticket) -> Limit:
        if process.limit_amount is None:
            return deadline_for(process.division.province_code, process.type, process.urgent)
        return Limit(process.limit_amount + process.extended_by, process.limit_unit)

    def division(self, process: Ticket) -> str:
        return str(process.division.code)

    def after(self, transition: Transition[Ticket]) -> None:
        ticket = transition.process
        to = transition.action.to
        if ticket.caller_user_id and transition.definition.has_tag(to, "notify_caller"):
            notify(
                ticket.caller_user,  # type: ignore[arg-type]
                title=f"您的诉求 {ticket.number} {transition.definition.label(to)}",
                body=ticket.reply or transition.note or transition.definition.label(to),
                link=f"/hotline/my/{ticket.number}/",
            )


PROCESS = TicketProcess()


def take_action(
    ticket: Ticket,
    name: str,
    *,
    actor: Actor,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> Ticket:
    """Take workflow action `name` on `ticket` as `actor` (core/process.py, `Process.act`)."""
    return PROCESS.act(ticket, name, actor=actor, note=note, data=data)


def current_definition() -> TicketDefinition:
    stored = PROCESS.current("ticket")
    assert isinstance(stored, TicketDefinition)
    return stored
