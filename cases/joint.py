"""多地联办: one case, several organisations each doing a step, in order or in parallel,
possibly on several nodes; the applicant sees one case and one status.

The organisation that accepted the case (its home) assigns the steps (`assign_steps`
action, e.g. 准予迁入 by the move-in police, then 注销原户籍 by the move-out police). Steps
of the lowest open `order` start together; a step of an organisation on another node is
sent there (`case.step.assigned`, with the applicant, the form and the materials), and its
result comes back (`case.step.done`). When every step is finished the case moves on to
review by the system action `finish_steps`; a step that did not pass is there for the
approver to weigh.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from accounts.selectors import staff_user
from cases import exchange, services, timeline
from cases.models import Case, CaseStep
from cases.workflow import ActionSpec
from core.exceptions import ProblemList, RuleViolation
from core.models import Organisation
from core.services import Actor, actor_label

STEP_ROLES = [Role.REVIEWER, Role.APPROVER]
SYSTEM_ACTOR = "system:多地联办"


@services.hook("assign_steps")
def _on_assign_steps(
    case: Case, spec: ActionSpec, actor: Actor, note: str, data: dict[str, Any]
) -> None:
    if not case.handling_org.is_local:
        return  # told by the handling node: its step messages bring the steps
    rows = data.get("steps")
    problems = ProblemList()
    if not isinstance(rows, list) or not rows:
        raise RuleViolation("steps_required", "请至少分派一个联办环节")
    usccs = {str(r.get("organisation", "")) for r in rows if isinstance(r, dict)}
    orgs = {o.uscc: o for o in Organisation.objects.filter(uscc__in=usccs)}
    steps = []
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            problems.add("环节格式不对", row=n)
            continue
        name = str(row.get("name", "")).strip()
        org = orgs.get(str(row.get("organisation", "")))
        order = row.get("order")
        if not name or len(name) > 64:
            problems.add("请填写环节名称（64 字以内）", row=n, field="name")
        if org is None:
            problems.add("承办机构不存在", row=n, field="organisation")
        if not isinstance(order, int) or not 1 <= order <= 20:
            problems.add("顺序应为 1—20 的整数", row=n, field="order")
        if name and org is not None and isinstance(order, int):
            steps.append(CaseStep(case=case, order=order, name=name, organisation=org))
    problems.raise_if_any("steps_invalid", "联办环节有误")
    CaseStep.objects.bulk_create(steps)


@transaction.atomic
def assign(case: Case, steps: list[dict[str, Any]], *, actor: Actor, note: str = "") -> Case:
    """分派联办环节 and start the first of them, in one transaction."""
    case = services.take_action(case, "assign_steps", actor=actor, note=note, data={"steps": steps})
    _start_next(case, actor)
    return case


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
        exchange.assign_steps(case, node, remote, steps)
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
    finish(step, passed=passed, note=note, actor_label=actor_label(actor), actor=actor)
    case = step.case
    if case.counterpart_node and not case.handling_org.is_local:
        exchange.step_done(case, step)
    else:
        advance(case)
    return step


def finish(
    step: CaseStep, *, passed: bool, note: str, actor_label: str, actor: Actor, node: str = ""
) -> None:
    step.status = CaseStep.Status.DONE if passed else CaseStep.Status.REFUSED
    step.finished_at = timezone.now()
    step.note = note.strip()
    step.actor_label = actor_label[:128]
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
    case = Case.objects.get(pk=case.pk)
    if case.state != "joint_steps" or _start_next(case, SYSTEM_ACTOR):
        return
    if not case.steps.filter(status__in=[CaseStep.Status.ACTIVE, CaseStep.Status.WAITING]).exists():
        refused = case.steps.filter(status=CaseStep.Status.REFUSED).count()
        services.take_action(
            case,
            "finish_steps",
            actor=SYSTEM_ACTOR,
            note=f"联办环节全部办结{f'，其中 {refused} 个未通过' if refused else ''}",
        )
