"""The case engine: cases as a kind of process (core/process.py) — who may act for which
side of a case, its clock on the handling division's calendar in the item's unit, and
what follows each change (the counterpart node told, the archive on finishing, the
applicant notified).

`take_action` is every local change of state; `take_remote_action` applies one that the
counterpart node of a two-node case took and reported (cases/inbound.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from accounts.agents import check_agent
from accounts.models import AgentAction
from cases import outbound, results, timeline
from cases.models import Case, CaseEvent, ClockPause, WorkflowDefinition
from cases.selectors import acting_organisation
from cases.workflow import (
    APPLICANT,
    DEFINITIONS_DIR,
    HANDLING,
    SYSTEM,
    VOCABULARY,
    category_of,
    definition_of,
)
from core.actors import Actor, NodeActor
from core.clock import Limit
from core.exceptions import RuleViolation
from core.models import Organisation
from core.process import Process, Transition
from core.registry import Registry
from core.workflow import ActionSpec, Definition

# Higher apps that act on case transitions (ratings invites the applicant after a rated
# service event), registered from their ready(): name -> listener(transition). A listener
# runs inside the transaction of the change; raising refuses the change.
TRANSITION_LISTENERS: Registry[Callable[[Transition[Case]], None]] = Registry(
    "case transition listener"
)


def on_transition(name: str, listener: Callable[[Transition[Case]], None]) -> None:
    TRANSITION_LISTENERS.register(name, listener)


# Which verb of an agent's authorisation (accounts.models.AgentAction) an applicant's
# workflow action needs; any other applicant action counts as applying.
AGENT_SCOPE = {
    "submit": AgentAction.APPLY,
    "supplement": AgentAction.SUPPLEMENT,
    "withdraw": AgentAction.WITHDRAW,
}


class CaseProcess(Process[Case]):
    """Cases (办件) moved through `cases/workflows/*.json`."""

    model = Case
    definition_model = WorkflowDefinition
    event_model = CaseEvent
    event_owner = "case"
    pause_model = ClockPause
    pause_owner = "case"
    vocabulary = VOCABULARY
    definitions_dir = DEFINITIONS_DIR
    division_path = "handling_org__division__code"
    noun = "办件"
    conflict = ("case_conflict", "办件已被他人处理，请刷新后重试")

    def stored_fields(self, definition: Definition) -> dict[str, Any]:
        return {"name": definition.name, "mode": definition.code}

    def definition_of(self, process: Case) -> Definition:
        return definition_of(process)

    def category(self, process: Case) -> str:
        return category_of(process)

    def lock(self, process: Case) -> Case:
        # Read afresh with what the effects need; the conditional UPDATE on row_version is
        # the lock (SELECT … FOR UPDATE cannot cover the nullable applicant joins).
        return Case.objects.select_related(
            "item_version__item",
            "item_version__category",
            "handling_org__division",
            "receiving_org",
            "workflow",
            "applicant_person",
            "applicant_company",
        ).get(pk=process.pk)

    def authorise(self, process: Case, action: ActionSpec, actor: Actor) -> Organisation | None:
        organisation = acting_organisation(process, action, actor)
        if organisation is False:
            label = definition_of(process).action_label(action, category_of(process))
            raise RuleViolation("action_forbidden", f"无权执行“{label}”", status=403)
        if (
            organisation is None
            and process.applicant_company_id is not None
            and isinstance(actor, User)
            and any(who.role == APPLICANT for who in action.by)
        ):
            # An agent acts for the company within their authorisation only.
            check_agent(
                process.applicant_company,  # type: ignore[arg-type]
                actor,
                action=AGENT_SCOPE.get(action.name, AgentAction.APPLY),
                item_code=process.item_version.item.code,
            )
        return organisation

    def limit(self, process: Case) -> Limit:
        version = process.item_version
        return Limit(version.promised_limit, version.promised_limit_unit)

    def division(self, process: Case) -> str:
        return str(process.handling_org.division.code)

    def today(self) -> dt.date:
        return timeline.today()

    def after(self, transition: Transition[Case]) -> None:
        case = transition.process
        if not transition.node:
            results.issue_refusal_document(transition)
        if case.counterpart_node and not transition.node and "forwarded" not in transition.done:
            outbound.share(transition)
        definition = transition.definition
        if definition.is_finished(transition.action.to):
            timeline.archive(case)
        for name in TRANSITION_LISTENERS:
            TRANSITION_LISTENERS[name](transition)
        category = category_of(case)
        timeline.announce(
            case,
            definition.label(transition.action.to, category),
            transition.note or definition.action_label(transition.action, category),
        )


PROCESS = CaseProcess()


def take_action(
    case: Case,
    name: str,
    *,
    actor: Actor,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> Case:
    """Take workflow action `name` on `case` as `actor` (core/process.py, `Process.act`).
    Before an action that requires the materials, those obtainable by data sharing are
    verified or fetched (cases/sharing.py), outside the action's transaction."""
    spec = definition_of(case).action(name, case.state)
    if spec is not None and "require_materials" in spec.effects:
        from cases.sharing import obtain_shared_materials

        obtain_shared_materials(case, actor=actor)
    return PROCESS.act(case, name, actor=actor, note=note, data=data)


@transaction.atomic
def take_remote_action(
    case: Case,
    name: str,
    *,
    actor: NodeActor,
    organisation: Organisation | None,
    from_state: str,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> Case:
    """Apply an action taken on the counterpart node of a two-node case.

    The same engine runs — effects, clock and deadline of this node's own segment — but
    the permission check is that the node owns the side the action belongs to: the
    handling node for the department's and the system's actions, the receiving node for
    the window's and the applicant's. A case that moved on here meanwhile refuses it."""
    node = actor.node
    case = PROCESS.lock(case)
    if case.counterpart_node != node:
        raise RuleViolation("case_not_shared", f"办件 {case.number} 不与节点 {node} 协同办理")
    if case.state != from_state:
        raise RuleViolation(
            "case_state_conflict",
            f"办件 {case.number} 在本节点的状态为 {case.state}，不是 {from_state}",
            status=409,
        )
    definition = definition_of(case)
    spec = PROCESS.spec_for(definition, case, name)
    # The applicant applied on the node that forwarded the case here.
    applicant_node = node if case.handling_org.is_local else ""
    owns = any(
        case.handling_org.node == node
        if who.role == SYSTEM or who.scope == HANDLING
        else (applicant_node if who.scope is None else case.receiving_org.node) == node
        for who in spec.by
    )
    if not owns:
        raise RuleViolation(
            "action_forbidden", f"节点 {node} 不能代为执行“{spec.label}”", status=403
        )
    return PROCESS.transition(
        case,
        definition,
        spec,
        actor=actor,
        organisation=organisation,
        note=note,
        data=data,
        node=node,
    )


def current_definition(mode: str) -> WorkflowDefinition:
    """The definition new cases of `mode` start under (stored on first use)."""
    stored = PROCESS.current(mode)
    assert isinstance(stored, WorkflowDefinition)
    return stored
