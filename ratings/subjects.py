"""Cases as a rated subject kind (`case`): which organisation did the rated part of a case
event, who received the service, and the invitation sent when a rated event happens.

The events are the actions a case definition tags `rate:<event>` (cases/workflow.py:
consultation, application, supplement, payment, result, delivery — any other value the
definitions come to use is handled the same way). The organisation that did the rated
part (谁办理、谁负责) follows the event: the receiving side for consultation and application
(the window or platform that took the case in), the handling side for supplement, payment
and result (the department that asked, charged and decided — even when another node's
window handed the result over), and for any other event (delivery …) the organisation the
acting clerk worked for, else the handling side.
"""

from __future__ import annotations

from django.contrib.auth.models import User

from accounts.agents import acting_accounts
from cases.engine import PROCESS as CASE_PROCESS
from cases.models import Case, CaseEvent
from cases.workflow import definition_of
from core.exceptions import NotFound, RuleViolation
from core.personal_data import mask_name
from core.process import Transition
from ratings.models import RatedService

SUBJECT_KIND = "case"
RECEIVING_EVENTS = frozenset({"consultation", "application"})
HANDLING_EVENTS = frozenset({"supplement", "payment", "result"})
EVENT_LABELS = {
    "consultation": "咨询",
    "application": "申报",
    "supplement": "补正",
    "payment": "缴费",
    "result": "办结",
    "delivery": "送达",
}


def event_label(event: str) -> str:
    return EVENT_LABELS.get(event, event)


def _rated_actions(case: Case, event: str) -> list[str]:
    definition = definition_of(case)
    return sorted(
        {a.name for a in definition.actions if event in definition.action_tag_values(a, "rate")}
    )


def _raters(case: Case) -> tuple[int | None, tuple[int, ...]]:
    if case.applicant_person_id is not None:
        user_id = case.applicant_person.user_id  # type: ignore[union-attr]
        return user_id, ()
    agents = tuple(
        acting_accounts(case.applicant_company).values_list("pk", flat=True)  # type: ignore[arg-type]
    )
    return (agents[0] if agents else None), agents[1:]


def resolve_case(reference: str, event: str) -> RatedService:
    """The rated service behind case `reference` at `event`; refused for an unknown case,
    an event its workflow does not rate, or one that has not happened yet."""
    case = (
        Case.objects.select_related(
            "workflow",
            "item_version__item",
            "receiving_org__division",
            "handling_org__division",
            "applicant_person",
            "applicant_company",
        )
        .filter(number=reference)
        .first()
    )
    if case is None:
        raise NotFound("case_not_found", f"办件 {reference} 不存在")
    actions = _rated_actions(case, event)
    if not actions:
        raise RuleViolation("rating_event_unknown", f"办件没有可评价的环节“{event}”", field="event")
    happened = (
        CaseEvent.objects.filter(case=case, action__in=actions, to_state__gt="")
        .select_related("organisation__division")
        .order_by("-at", "-id")
        .first()
    )
    if happened is None:
        raise RuleViolation(
            "rating_event_not_happened",
            f"办件 {reference} 尚未完成“{event_label(event)}”环节，暂不能评价",
            status=409,
        )
    if event in RECEIVING_EVENTS:
        organisation = case.receiving_org
    elif event in HANDLING_EVENTS:
        organisation = case.handling_org
    else:
        organisation = happened.organisation or case.handling_org
    rater, others = _raters(case)
    return RatedService(
        rater_label=mask_name(case.applicant_name) if case.applicant_person_id else "",
        reference=case.number,
        event=event,
        organisation_id=organisation.pk,
        division=organisation.division.code,
        service_name=f"{case.item_version.name}（{event_label(event)}）",
        rater_user_id=rater,
        rater_user_ids=others,
        served_at=happened.at,
        item_id=case.item_version.item_id,
        clerk_id=happened.actor_id if happened.organisation_id else None,
    )


def invite_after_event(transition: Transition[Case]) -> None:
    """A case listener (cases.engine.on_transition): after an action tagged `rate:<event>`,
    the applicant is asked to rate it — by a notification if they have an account here,
    else through the rating code on the window's hand-over receipt. The node that received
    the case asks; the node that only handles a two-node case does not."""
    from ratings.services import invite

    events = transition.definition.action_tag_values(transition.action, "rate")
    if not events:
        return
    case = transition.process
    rater_id, _ = _raters(case)
    rater = User.objects.filter(pk=rater_id, is_active=True).first() if rater_id else None
    if rater is None and (rater_id is not None or not case.receiving_org.is_local):
        return
    for event in events:
        invite(
            SUBJECT_KIND,
            case.number,
            event,
            rater=rater,
            service_name=f"{case.item_version.name}（{event_label(event)}）",
        )


def case_state_label(case: Case) -> str:
    return CASE_PROCESS.state_label(case)
