"""Sharing requests as a kind of process (core/process.py): who may act for which side,
the clock in working days on the provider's calendar, and what follows a change (the
consuming organisation's node hears of a grant or a refusal).

`take_action` is every change of a sharing request's state."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User

from accounts.models import Role, StaffRole
from core.actors import Actor, NodeActor, SystemActor
from core.clock import Limit
from core.exceptions import RuleViolation
from core.models import LimitUnit, Organisation
from core.process import Process, Transition
from core.workflow import ActionSpec
from sharing.models import SharingRequest, SharingRequestDefinition, SharingRequestEvent
from sharing.workflow import (
    AUTHORITY,
    CONSUMER,
    CONSUMER_NODE,
    DEFINITIONS_DIR,
    PROVIDER,
    SYSTEM,
    VOCABULARY,
)

log = logging.getLogger(__name__)


class SharingRequestProcess(Process[SharingRequest]):
    """共享需求 moved through `sharing/workflows/*.json`."""

    model = SharingRequest
    definition_model = SharingRequestDefinition
    event_model = SharingRequestEvent
    event_owner = "request"
    vocabulary = VOCABULARY
    definitions_dir = DEFINITIONS_DIR
    division_path = "resource__provider__division__code"
    noun = "共享需求"
    conflict = ("sharing_request_conflict", "共享需求已被他人处理，请刷新后重试")

    def lock(self, process: SharingRequest) -> SharingRequest:
        locked: SharingRequest = (
            SharingRequest.objects.select_for_update(of=("self",))
            .select_related("workflow", "resource__provider__division", "consumer")
            .get(pk=process.pk)
        )
        return locked

    def authorise(
        self, process: SharingRequest, action: ActionSpec, actor: Actor
    ) -> Organisation | None:
        for who in action.by:
            if who.role == SYSTEM:
                if isinstance(actor, SystemActor):
                    return None
            elif who.role == CONSUMER_NODE:
                if isinstance(actor, NodeActor) and actor.node == process.consumer_node != "":
                    return process.consumer
            elif isinstance(actor, User) and who.scope in (PROVIDER, CONSUMER):
                org_id = (
                    process.resource.provider_id if who.scope == PROVIDER else process.consumer_id
                )
                held = (
                    StaffRole.objects.filter(user=actor, role=who.role, organisation_id=org_id)
                    .select_related("organisation")
                    .first()
                )
                if held is not None:
                    return held.organisation
            elif isinstance(actor, User) and who.scope == AUTHORITY:
                authority = authority_over(actor, process.resource.provider)
                if authority is not None:
                    return authority
        label = self.definition_of(process).action_label(action)
        raise RuleViolation("action_forbidden", f"无权执行“{label}”", status=403)

    def limit(self, process: SharingRequest) -> Limit:
        return Limit(process.limit_days, LimitUnit.WORKING_DAYS)

    def division(self, process: SharingRequest) -> str:
        return str(process.resource.provider.division.code)

    def after(self, transition: Transition[SharingRequest]) -> None:
        """A consumer of another node hears of every change but the grant (which comes
        with its details by `sharing.granted`): queued in the change's transaction."""
        tell_consumer_node(transition.process, transition.action.to, transition.note)


def authority_over(user: User, provider: Organisation) -> Organisation | None:
    """The organisation `user` acts for as data authority over `provider`: a supervisor
    role over a division containing it, held outside the provider itself."""
    code = provider.division.code
    for role in StaffRole.objects.filter(user=user, role=Role.SUPERVISOR).select_related(
        "division", "organisation"
    ):
        if role.organisation_id != provider.pk and code.startswith(role.division.code_prefix):
            return role.organisation
    return None


PROCESS = SharingRequestProcess()


def take_action(
    request: SharingRequest,
    name: str,
    *,
    actor: Actor,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> SharingRequest:
    """Take workflow action `name` on `request` as `actor` (`Process.act`)."""
    return PROCESS.act(request, name, actor=actor, note=note, data=data)


@dataclass(frozen=True)
class TimelineRow:
    at: Any
    actor_label: str
    organisation: Organisation | None
    label: str
    note: str


def timeline(request: SharingRequest) -> list[TimelineRow]:
    """The request's events in order, each under its action's label. Two queries."""
    definition = PROCESS.definition_of(request)
    rows = []
    for event in request.events.select_related("organisation").order_by("at", "id"):
        spec = definition.any_action(event.action)
        label = definition.action_label(spec) if spec else EVENT_LABELS.get(event.action, "")
        rows.append(
            TimelineRow(
                event.at, event.actor_label, event.organisation, label or event.action, event.note
            )
        )
    return rows


EVENT_LABELS = {"create": "填写需求"}


def current_definition() -> SharingRequestDefinition:
    stored = PROCESS.current("sharing_request")
    assert isinstance(stored, SharingRequestDefinition)
    return stored


STATUS_KIND = "sharing.request_status"
# The states a consumer's node hears of through `sharing.request_status`; a grant comes
# with its details as `sharing.granted` (exchange.send_grant_notices).
NOTIFIED_STATES = frozenset({"under_review", "refused", "disputed", "closed_refused", "withdrawn"})


def tell_consumer_node(request: SharingRequest, state: str, reason: str = "") -> None:
    """The consumer's node hears that a request its organisation filed changed state (queued
    in the outbox in the change's transaction). Only a request filed through the consumer's
    node (with its reference) is told. A directory that cannot be read does not stop the
    change: it is logged, and the consumer's copy stays at its last status."""
    from federation.services import send

    if not request.consumer_node or not request.consumer_reference:
        return
    if state not in NOTIFIED_STATES:
        return
    payload = {
        "reference": request.consumer_reference,
        "request": request.number,
        "state": state,
        "resource": request.resource.code,
        "resource_name": request.resource.name,
        "consumer_uscc": request.consumer.uscc,
        "reason": reason[:300],
    }
    try:
        send(request.consumer_node, STATUS_KIND, payload)
    except RuleViolation as exc:
        log.warning("status notice %s not sent: %s", request.number, exc.code)
