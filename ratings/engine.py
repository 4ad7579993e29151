"""Rectifications as a kind of process (core/process.py): who may act for which side, the
clock in the province's working days on the owning organisation's calendar, and what
follows a change (the evaluator is asked to rate the fix).

`take_action` is every change of a rectification's state."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from accounts.models import Role, StaffRole
from accounts.services import notify
from core.actors import Actor, SystemActor
from core.clock import Limit
from core.exceptions import RuleViolation
from core.models import LimitUnit, Organisation
from core.process import Process, Transition
from core.workflow import ActionSpec
from ratings import outbound
from ratings.models import OWNER_ROLES, Rectification, RectificationDefinition, RectificationEvent
from ratings.workflow import DEFINITIONS_DIR, EVALUATOR, OWNER, SUPERVISION, SYSTEM, VOCABULARY


class RectificationProcess(Process[Rectification]):
    """差评整改 moved through `ratings/workflows/*.json`."""

    model = Rectification
    definition_model = RectificationDefinition
    event_model = RectificationEvent
    event_owner = "rectification"
    vocabulary = VOCABULARY
    definitions_dir = DEFINITIONS_DIR
    division_path = "organisation__division__code"
    noun = "整改"
    conflict = ("rectification_conflict", "整改已被他人处理，请刷新后重试")

    def lock(self, process: Rectification) -> Rectification:
        locked: Rectification = (
            Rectification.objects.select_for_update(of=("self",))
            .select_related("workflow", "organisation__division", "rating")
            .get(pk=process.pk)
        )
        return locked

    def authorise(
        self, process: Rectification, action: ActionSpec, actor: Actor
    ) -> Organisation | None:
        for who in action.by:
            if who.role == SYSTEM:
                if isinstance(actor, SystemActor):
                    return None
            elif who.role == EVALUATOR:
                if isinstance(actor, User) and process.rating.evaluator_id == actor.pk:
                    return None
            elif isinstance(actor, User) and who.scope == OWNER:
                held = (
                    StaffRole.objects.filter(
                        user=actor, role=who.role, organisation_id=process.organisation_id
                    )
                    .select_related("organisation")
                    .first()
                )
                if held is not None:
                    return held.organisation
            elif isinstance(actor, User) and who.scope == SUPERVISION:
                supervising = supervisor_over(actor, process.organisation)
                if supervising is not None:
                    return supervising
        label = self.definition_of(process).action_label(action)
        raise RuleViolation("action_forbidden", f"无权执行“{label}”", status=403)

    def limit(self, process: Rectification) -> Limit:
        return Limit(process.limit_days, LimitUnit.WORKING_DAYS)

    def division(self, process: Rectification) -> str:
        return str(process.organisation.division.code)

    def after(self, transition: Transition[Rectification]) -> None:
        rectification = transition.process
        fixed = transition.definition.has_tag(transition.action.to, "awaiting_rerating")
        if fixed and rectification.rating.node:
            # The citizen rated on another node: that node asks them to rate the fix.
            outbound.send_fixed(rectification.rating, rectification.measures or transition.note)
            return
        evaluator = rectification.rating.evaluator
        if evaluator is None or not evaluator.is_active:
            return
        if transition.definition.has_tag(transition.action.to, "awaiting_rerating"):
            notify(
                evaluator,
                title=f"您的差评已整改，请评价整改结果（{rectification.rating.service_name[:40]}）",
                body=rectification.measures or transition.note,
                link=rerating_link(rectification),
            )


def supervisor_over(user: User, organisation: Organisation) -> Organisation | None:
    """The organisation `user` supervises `organisation` for — a supervisor role over a
    division containing it — or None. The rated organisation never decides its own appeal:
    a supervisor who is also its staff is refused with a code of its own."""
    roles = list(StaffRole.objects.filter(user=user).select_related("division", "organisation"))
    if any(r.organisation_id == organisation.pk for r in roles if r.role in OWNER_ROLES) or any(
        r.organisation_id == organisation.pk for r in roles if r.role == Role.SUPERVISOR
    ):
        raise RuleViolation(
            "appeal_by_rated_organisation",
            "被评价单位不能复核针对本单位的差评申诉，须由监督人员复核",
            status=403,
        )
    code = organisation.division.code
    for role in roles:
        if role.role == Role.SUPERVISOR and code.startswith(role.division.code_prefix):
            return role.organisation
    return None


def rerating_link(rectification: Rectification) -> str:
    invitation = getattr(rectification.rating, "invitation", None)
    if invitation is None:
        return "/ratings/my/"
    return f"/ratings/rate/{invitation.token}/"


PROCESS = RectificationProcess()


def take_action(
    rectification: Rectification,
    name: str,
    *,
    actor: Actor,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> Rectification:
    """Take workflow action `name` on `rectification` as `actor` (`Process.act`)."""
    return PROCESS.act(rectification, name, actor=actor, note=note, data=data)


def current_definition() -> RectificationDefinition:
    stored = PROCESS.current("rectification")
    assert isinstance(stored, RectificationDefinition)
    return stored
