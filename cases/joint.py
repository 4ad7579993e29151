"""多地联办: one case, several organisations each doing a step, in order or in parallel,
possibly on several nodes; the applicant sees one case and one status.

The organisation that accepted the case (its home) assigns the steps with the action whose
payload is `steps` (e.g. 准予迁入 by the move-in police, then 注销原户籍 by the move-out
police): its effects create them (`create_steps`) and start the first (`start_steps`).
Steps of the lowest open `order` start together; a step of an organisation on another
node is sent there (`case.step.assigned`, with the applicant, the form and the
materials), and its result comes back (`case.step.done`). When every step is finished the
system takes the action that leaves the `steps_running` state (its effect
`require_steps_finished` checks it); a step that did not pass is there for the approver
to weigh.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from accounts.selectors import staff_user
from cases import outbound, timeline
from cases.engine import take_action
from cases.models import Case, CaseStep
from cases.payloads import Steps
from cases.workflow import definition_of, has_tag
from core.actors import Actor, NodeActor, SystemActor, actor_label
from core.exceptions import ProblemList, RuleViolation
from core.models import Organisation
from core.process import Transition

STEP_ROLES = [Role.REVIEWER, Role.APPROVER]
SYSTEM_ACTOR = SystemActor("多地联办")


def create_steps(t: Transition[Case]) -> None:
    """Effect of assigning the steps: each names an organisation this node knows (its own,
    or another node's); nothing is created unless every row is right."""
    case, payload = t.process, t.payload
    if not case.handling_org.is_local:
        return  # told by the handling node: its step messages bring the steps
    assert isinstance(payload, Steps)
    if not payload.steps:
        raise RuleViolation("steps_required", "请至少分派一个联办环节")
    orgs = {
        o.uscc: o
        for o in Organisation.objects.filter(uscc__in={row.organisation for row in payload.steps})
    }
    problems = ProblemList()
    for n, row in enumerate(payload.steps, start=1):
        if not row.name.strip() or len(row.name.strip()) > 64:
            problems.add("请填写环节名称（64 字以内）", row=n, field="name")
        if row.organisation not in orgs:
            problems.add("承办机构不存在", row=n, field="organisation")
        if not 1 <= row.order <= 20:
            problems.add("顺序应为 1—20 的整数", row=n, field="order")
    problems.raise_if_any("steps_invalid", "联办环节有误")
    CaseStep.objects.bulk_create(
        CaseStep(
            case=case, order=row.order, name=row.name.strip(), organisation=orgs[row.organisation]
        )
        for row in payload.steps
    )


def start_steps(t: Transition[Case]) -> None:
    """Effect (after the change) of assigning the steps: the first order starts."""
    if t.process.handling_org.is_local:
        _start_next(t.process, t.actor)


def require_steps_finished(t: Transition[Case]) -> None:
    """The steps are over only when none is waiting or running."""
    if t.process.steps.filter(
        status__in=[CaseStep.Status.ACTIVE, CaseStep.Status.WAITING]
    ).exists():
        raise RuleViolation("steps_unfinished", "联办环节尚未全部办结", status=409)


def _start_next(case: Case, actor: Actor) -> bool:
    """Start the lowest waiting order if nothing is still running; True if one started."""
    steps = list(case.steps.select_related("organisation__division"))
    if any(s.status == CaseStep.Status.ACTIVE for s in steps):
        return False
    waiting = [s for s in steps if s.status == CaseStep.Status.WAITING]
    if not waiting:
        return False
    order = min(s.order for s in waiting)
    now = timezone.now()
    started = [s for s in waiting if s.order == order]
    CaseStep.objects.filter(pk__in=[s.pk for s in started]).update(
        status=CaseStep.Status.ACTIVE, started_at=now
    )
    for step in started:
        step.status, step.started_at = CaseStep.Status.ACTIVE, now
    timeline.record_event(
        case,
        actor=actor,
        action="start_steps",
        note="、".join(f"{s.organisation.name}：{s.name}" for s in started),
    )
    by_node: dict[str, list[CaseStep]] = {}
    for step in started:
        if not step.organisation.is_local:
            by_node.setdefault(step.organisation.node, []).append(step)
    for node, remote in by_node.items():
        outbound.send_steps(case, node, remote, steps)
    return True


def actionable_steps(case: Case, actor: Actor) -> list[CaseStep]:
    """The running steps of `case` that `actor` may record a result for, here."""
    return [
        s
        for s in case.steps.all()
        if s.status == CaseStep.Status.ACTIVE
        and s.organisation.is_local
        and staff_user(actor, STEP_ROLES, [s.organisation]) is not None
    ]


def _local_step(step: CaseStep, actor: Actor) -> None:
    if step.status != CaseStep.Status.ACTIVE:
        raise RuleViolation(
            "step_not_active", f"环节“{step.name}”当前{step.get_status_display()}", status=409
        )
    if not step.organisation.is_local or staff_user(actor, STEP_ROLES, [step.organisation]) is None:
        raise RuleViolation(
            "action_forbidden",
            f"只有{step.organisation.name}的审查、审批人员可以办理该环节",
            status=403,
        )


@transaction.atomic
def complete_step(step: CaseStep, *, passed: bool, note: str, actor: Actor) -> CaseStep:
    """The step's organisation records its result (here, on its own node)."""
    step = (
        CaseStep.objects.select_for_update().select_related("organisation", "case").get(pk=step.pk)
    )
    _local_step(step, actor)
    if not passed and not note.strip():
        raise RuleViolation("note_required", "未通过的须说明理由")
    _finish(step, passed=passed, note=note, actor=actor)
    case = step.case
    if case.counterpart_node and not case.handling_org.is_local:
        outbound.send_step_done(case, step)
    else:
        advance(case)
    return step


@transaction.atomic
def record_step_from_node(
    case_number: str, home_id: int, *, passed: bool, note: str, actor: NodeActor
) -> CaseStep:
    """On the case's home node: the result of a step that an organisation on another node
    recorded there; then the next order starts, or the steps are over."""
    step = (
        CaseStep.objects.select_for_update()
        .select_related("case", "organisation")
        .filter(case__number=case_number, pk=home_id)
        .first()
    )
    if step is None or step.organisation.node != actor.node:
        raise RuleViolation(
            "step_unknown", f"办件 {case_number} 没有节点 {actor.node} 承办的该环节"
        )
    if step.status != CaseStep.Status.ACTIVE:
        raise RuleViolation("step_not_active", f"环节“{step.name}”当前{step.get_status_display()}")
    _finish(step, passed=passed, note=note, actor=actor, node=actor.node)
    advance(step.case)
    return step


def _finish(step: CaseStep, *, passed: bool, note: str, actor: Actor, node: str = "") -> None:
    step.status = CaseStep.Status.DONE if passed else CaseStep.Status.REFUSED
    step.finished_at = timezone.now()
    step.note = note.strip()
    step.actor_label = actor_label(actor)
    step.save(update_fields=["status", "finished_at", "note", "actor_label"])
    timeline.record_event(
        step.case,
        actor=actor,
        action="complete_step" if passed else "refuse_step",
        organisation=step.organisation,
        note=f"{step.name}：{'已完成' if passed else '未通过'}{'。' + step.note if step.note else ''}",
        data={"step": step.home_id or step.pk},
        node=node,
    )


def advance(case: Case) -> None:
    """On the home node: start the next order, or move on when every step is finished."""
    case = Case.objects.select_related("workflow").get(pk=case.pk)
    if not has_tag(case, "steps_running") or _start_next(case, SYSTEM_ACTOR):
        return
    closing = definition_of(case).action_with_effect(case.state, "require_steps_finished")
    unfinished = case.steps.filter(status__in=[CaseStep.Status.ACTIVE, CaseStep.Status.WAITING])
    if closing is not None and not unfinished.exists():
        refused = case.steps.filter(status=CaseStep.Status.REFUSED).count()
        take_action(
            case,
            closing.name,
            actor=SYSTEM_ACTOR,
            note=f"联办环节全部办结{f'，其中 {refused} 个未通过' if refused else ''}",
        )
