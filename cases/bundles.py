"""一件事一次办: one application for a bundle (catalog/bundles.py) fanned out into one case
per step that applies, each with its own workflow and organisation — on another node when
the item is another node's (the case's usual outbound/inbound exchange carries it).

- `start_bundle_case` checks everything up front, all or nothing: the merged form, which
  steps apply (`bundle_item_twice`), that each item is offered where the applicant is
  served (`bundle_item_not_available`), each item's own form and that its result is not
  already held. `add_bundle_material` takes each material once; `submit_bundle_case`
  opens and submits the cases of the first steps, giving each the materials it asks for.
- When a sub-case is decided (`on_case_transition`, a listener of the case engine), the
  bundle advances after the decision commits (`advance_bundle_case`): once every step of
  an order is approved the next order's cases open, the licences the earlier steps issued
  given in place of the materials that name their type (免提交, passed forward); a step
  refused, withdrawn or unable to open blocks every step after it.
- `withdraw_bundle_case` withdraws every undecided sub-case through its workflow and
  cancels the steps not yet opened; refused whole (`bundle_withdraw_not_possible`) if a
  running sub-case's workflow does not allow withdrawal in its state.
- One status, deadline, timeline and result: `bundle_overview`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.agents import acting_companies, acts_for, check_agent
from accounts.models import AgentAction, Company, Person
from cases import timeline
from cases.engine import take_action, take_remote_action
from cases.materials import add_material, check_upload, use_foreign_licence, use_licence
from cases.models import (
    BundleCase,
    BundleCaseEvent,
    BundleMaterial,
    BundleSubCase,
    Case,
    CaseEvent,
)
from cases.results import check_result_not_held
from cases.services import clean_form, next_case_number, place_of, start_case
from cases.workflow import definition_of
from catalog.bundles import (
    applicable_steps,
    bundle_materials,
    form_of,
    item_answers,
    material_key,
    producer_of,
)
from catalog.form_schema import validate_form_data
from catalog.models import Audience, BundleStep, BundleVersion, Material
from catalog.offers import offer_for
from core import blobs
from core.actors import Actor, NodeActor, actor_label, user_of
from core.calendar import add_working_days
from core.exceptions import Problem, RuleViolation
from core.models import Division
from core.process import Transition
from licences.models import Licence

logger = logging.getLogger(__name__)

Status = BundleCase.Status
Sub = BundleSubCase.Status
# A sub-case's outcome (the workflow's `outcome:` tag) → its status in the bundle.
OUTCOME_STATUS = {"": Sub.RUNNING, "approved": Sub.APPROVED, "withdrawn": Sub.WITHDRAWN}
STOPPING = (Sub.FAILED, Sub.WITHDRAWN)


# Applying --------------------------------------------------------------------------------


def _applicant(user: User, company_uscc: str | None) -> tuple[Person | None, Company | None]:
    if company_uscc:
        company = Company.objects.filter(uscc=company_uscc.strip().upper()).first()
        if company is None or not acts_for(company, user):
            if company is not None:  # revoked or expired: say which
                check_agent(company, user, action=AgentAction.APPLY, item_code="")
            raise RuleViolation("company_not_authorised", "您不是该法人的经办人", status=403)
        return None, company
    person = Person.objects.filter(user=user).first()
    if person is None:
        raise RuleViolation("person_not_registered", "请先完成实名登记", status=403)
    return person, None


def _record(bundle_case: BundleCase, action: str, note: str, actor: Actor) -> None:
    BundleCaseEvent.objects.create(
        bundle_case=bundle_case, actor_label=actor_label(actor), action=action, note=note[:500]
    )


def item_name(step: BundleStep) -> str:
    return step.item_version.name if step.item_version is not None else str(step.item)


@transaction.atomic
def start_bundle_case(
    *,
    bundle_version: BundleVersion,
    form_data: dict[str, Any],
    actor: Actor,
    company_uscc: str | None = None,
    place: Division | None = None,
    idempotency_key: str = "",
) -> BundleCase:
    """Open a draft bundle case for the signed-in applicant (themself, or a company they
    are an agent of) with the answers of the merged form. Every step that applies is
    checked now, so that nothing is refused half-way: the answers must not make an item
    apply twice (`bundle_item_twice`); each item must be offered online where the
    applicant is served (`bundle_item_not_available`), its form complete from the answers
    (`form_invalid`, naming the merged form's fields) and its result not already held."""
    user = user_of(actor)
    if user is None:
        raise RuleViolation("actor_required", "须以登录账号办理", status=401)
    if not bundle_version.is_published:
        raise RuleViolation("bundle_version_not_published", "该一件事版本未发布，不能申请")
    person, company = _applicant(user, company_uscc)
    bundle = bundle_version.bundle
    kind = Audience.PERSON if person is not None else Audience.COMPANY
    if not Audience.serves(bundle.audience, kind):
        raise RuleViolation(
            "audience_mismatch", f"该一件事的服务对象为{bundle.get_audience_display()}"
        )
    if idempotency_key:
        existing = BundleCase.objects.filter(
            submitted_by=user, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            if existing.bundle_version_id != bundle_version.pk:
                raise RuleViolation(
                    "idempotency_key_reused", "该幂等键已用于另一份申请", status=409
                )
            return existing
    answers = validate_form_data(form_of(bundle_version), form_data)
    steps = applicable_steps(bundle_version, answers)
    assert steps[0].item_version is not None
    where = place_of(
        place=place,
        channel=Case.Channel.ONLINE,
        window=None,
        person=person,
        company=company,
        item_version=steps[0].item_version,
    )
    for step in steps:
        if company is not None:  # an agent applies for every item within their scope
            check_agent(company, user, action=AgentAction.APPLY, item_code=step.item.code)
        _check_step(step, answers, where=where, person=person, company=company)
    bundle_case = BundleCase.objects.create(
        number=next_case_number(timeline.today()).replace("-", "-YJS-", 1),
        bundle_version=bundle_version,
        applicant_person=person,
        applicant_company=company,
        applicant_name=person.name if person else company.name,  # type: ignore[union-attr]
        submitted_by=user,
        place=where,
        form_data=answers,
        idempotency_key=idempotency_key,
    )
    BundleSubCase.objects.bulk_create(
        BundleSubCase(bundle_case=bundle_case, step=step, order=step.order) for step in steps
    )
    _record(
        bundle_case,
        "start",
        f"申请{bundle.name}，涉及事项：{'、'.join(item_name(s) for s in steps)}",
        actor,
    )
    return bundle_case


def _check_step(
    step: BundleStep,
    answers: dict[str, Any],
    *,
    where: Division,
    person: Person | None,
    company: Company | None,
) -> None:
    version = step.item_version
    assert version is not None
    name = version.name
    try:
        offer_for(version, place=where, channel=Case.Channel.ONLINE)
    except RuleViolation as exc:
        raise RuleViolation(
            "bundle_item_not_available",
            f"一件事中的“{name}”不能在{where.name}网上办理：{exc.message}",
        ) from exc
    check_result_not_held(version, person=person, company=company)
    try:
        clean_form(version, item_answers(step, answers), person=person, company=company)
    except RuleViolation as exc:
        back = {target: source for source, target in (step.field_map or {}).items()}
        raise RuleViolation(
            exc.code,
            f"“{name}”的申请表：{exc.message}",
            problems=[
                Problem(p.reason, field=back.get(p.field or "", p.field)) for p in exc.problems
            ],
        ) from exc


def _asked(bundle_case: BundleCase) -> list[Any]:
    steps = [s.step for s in bundle_case.sub_cases.all()]
    return [m for m in bundle_materials(steps) if m.produced_by is None]


@transaction.atomic
def add_bundle_material(
    bundle_case: BundleCase, key: str, *, content: bytes, name: str, actor: Actor
) -> BundleMaterial:
    """Give one material of a draft bundle case, once for every step that asks for it
    (replacing an earlier file). Checked by content like any upload."""
    bundle_case = _lock(bundle_case)
    _check_applicant(bundle_case, actor)
    if bundle_case.status != Status.DRAFT:
        raise RuleViolation("materials_closed", "一件事已提交，不能再更换材料", status=409)
    wanted = {m.key: m for m in _asked(bundle_case)}
    if key not in wanted:
        raise RuleViolation("material_not_of_bundle", "该材料不是本一件事需要提交的材料")
    mime = check_upload(content, name)
    digest, path = blobs.store(content, area="cases")
    bundle_case.materials.filter(key=key).delete()
    material = BundleMaterial.objects.create(
        bundle_case=bundle_case,
        key=key,
        name=wanted[key].name,
        path=path,
        original_name=name[:200],
        content_type=mime,
        size=len(content),
        sha256=digest,
    )
    _record(bundle_case, "add_material", f"提交材料：{material.name}", actor)
    return material


@transaction.atomic
def submit_bundle_case(bundle_case: BundleCase, *, actor: Actor) -> BundleCase:
    """Submit a draft bundle case: every material asked for must have been given (a
    licence an earlier step issues is given by that step); the cases of the first order
    open and are submitted, each with its own materials. A refusal of any refuses all.
    The combined deadline is the sum of each order's longest promised limit."""
    bundle_case = _lock(bundle_case)
    user = _check_applicant(bundle_case, actor)
    if bundle_case.status != Status.DRAFT:
        raise RuleViolation("bundle_already_submitted", "该一件事已提交", status=409)
    given = set(bundle_case.materials.values_list("key", flat=True))
    missing = [m.name for m in _asked(bundle_case) if m.required and m.key not in given]
    if missing:
        raise RuleViolation("bundle_materials_missing", "尚未提交：" + "、".join(missing))
    subs = list(bundle_case.sub_cases.select_related("step__item_version"))
    first = min(s.order for s in subs)
    for sub in subs:
        if sub.order == first:
            _open_sub_case(bundle_case, sub, subs, actor=user)
    days: dict[int, int] = {}
    for sub in subs:
        limit = sub.step.item_version.promised_limit  # type: ignore[union-attr]
        days[sub.order] = max(days.get(sub.order, 0), limit)
    bundle_case.status = Status.RUNNING
    bundle_case.submitted_at = timezone.now()
    bundle_case.due_date = add_working_days(
        timeline.today(), sum(days.values()), bundle_case.place
    ).date
    bundle_case.save(update_fields=["status", "submitted_at", "due_date"])
    _record(bundle_case, "submit", "提交一件事，首批事项已送交承办部门", actor)
    return bundle_case


def _lock(bundle_case: BundleCase) -> BundleCase:
    return (
        BundleCase.objects.select_for_update(of=("self",))
        .select_related("bundle_version__bundle", "applicant_person", "applicant_company", "place")
        .get(pk=bundle_case.pk)
    )


def _check_applicant(bundle_case: BundleCase, actor: Actor) -> User:
    user = user_of(actor)
    if user is None or not _is_applicant(bundle_case, user):
        raise RuleViolation("action_forbidden", "只有申请人可以办理本一件事", status=403)
    return user


def _is_applicant(bundle_case: BundleCase, user: User) -> bool:
    if bundle_case.applicant_person is not None:
        return bundle_case.applicant_person.user_id == user.pk
    return acts_for(bundle_case.applicant_company, user)  # type: ignore[arg-type]


def _delivery(step: BundleStep) -> str:
    offered = step.item_version.result_delivery or []  # type: ignore[union-attr]
    for method in (Case.DeliveryMethod.ELECTRONIC, Case.DeliveryMethod.WINDOW):
        if method in offered:
            return method
    return ""


def _open_sub_case(
    bundle_case: BundleCase, sub: BundleSubCase, subs: Sequence[BundleSubCase], *, actor: User
) -> Case:
    """Open and submit the case of one step, as the applicant who applied: the answers
    mapped to the item's form, each material from the bundle's, and each licence an
    earlier step issued in place of the material that names its type."""
    step = sub.step
    version = step.item_version
    assert version is not None
    case = start_case(
        item_version=version,
        form_data=item_answers(step, bundle_case.form_data or {}),
        actor=actor,
        person=bundle_case.applicant_person,
        company=bundle_case.applicant_company,
        place=bundle_case.place,
        delivery_method=_delivery(step),
    )
    given = {m.key: m for m in bundle_case.materials.all()}
    steps = [s.step for s in subs]
    for requirement in version.materials.select_related("licence_type"):
        producer = producer_of(requirement, step, steps)
        if producer is not None:
            earlier = next(s for s in subs if s.step_id == producer.pk)
            _pass_forward(case, requirement, earlier, actor=actor)
            continue
        stored = given.get(material_key(requirement))
        if stored is not None:
            add_material(
                case,
                requirement,
                content=blobs.read(stored.path, stored.sha256),
                name=stored.original_name,
                actor=actor,
            )
    case.refresh_from_db()
    spec = definition_of(case).action_with_effect(case.state, "mark_submitted")
    if spec is None:
        raise RuleViolation("submit_not_possible", "子办件当前不能提交", status=409)
    case = take_action(case, spec.name, actor=actor, note=f"一件事 {bundle_case.number} 自动提交")
    sub.case = case
    sub.status = Sub.RUNNING
    sub.save(update_fields=["case", "status"])
    _record(
        bundle_case,
        "open_step",
        f"“{version.name}”已送交{version.item.organisation.name}办理（办件 {case.number}）",
        actor,
    )
    return case


def _pass_forward(
    case: Case, requirement: Material, earlier: BundleSubCase, *, actor: User
) -> None:
    """The licence the earlier step's case issued, given as `requirement` (免提交): the
    licence itself when this node issued it, else by its QR token, checked with the node
    that issued it."""
    number = earlier.case.number if earlier.case is not None else ""
    licence = (
        Licence.objects.filter(
            case_number=number,
            licence_type_id=requirement.licence_type_id,
            status=Licence.Status.VALID,
        )
        .order_by("-id")
        .first()
    )
    if licence is not None:
        use_licence(case, requirement, licence, actor=actor)
        return
    reported = (
        CaseEvent.objects.filter(case__number=number, action="issue_licence")
        .exclude(data__token="")
        .order_by("-at", "-id")
        .first()
    )
    token = (reported.data or {}).get("token") if reported is not None else None
    if not token:
        raise RuleViolation(
            "bundle_licence_missing",
            f"前序事项办件 {number} 未签发“{requirement.name}”所需的电子证照",
        )
    use_foreign_licence(case, requirement, str(token), actor=actor)


# Following the sub-cases ---------------------------------------------------------------------


def on_case_transition(t: Transition[Case]) -> None:
    """Case engine listener: a sub-case's change of outcome changes its status in the
    bundle; once decided, the bundle advances after this change commits (so that a
    licence another node reports with the decision is stored by then)."""
    link = BundleSubCase.objects.filter(case_id=t.process.pk).first()
    if link is None:
        return
    status = OUTCOME_STATUS.get(t.process.outcome, Sub.FAILED)
    if status == link.status:
        return
    link.status = status
    if status == Sub.FAILED:
        link.note = f"{t.definition.label(t.action.to)}：{t.note}".rstrip("：")[:500]
    link.save(update_fields=["status", "note"])
    if status != Sub.RUNNING:
        transaction.on_commit(partial(advance_bundle_case, link.bundle_case_id))


def on_step_refused(case: Case, *, actor: NodeActor, note: str) -> None:
    """The handling node refused, on arrival, the case of a bundle step this node forwarded
    to it (a refusal of `case.forwarded`, not retryable): the other node holds nothing, so
    the step has failed. The case ends as that node's system would end it — its
    `terminate` action taken for the node (`take_remote_action`, so it is not sent back)
    — and the engine's listener marks the step failed; the bundle then blocks what waits
    for it and fails (`advance_bundle_case`). Once in effect: a refusal told again, or a
    step already settled, changes nothing (the step's row is locked and read again)."""
    link = (
        BundleSubCase.objects.select_for_update()
        .filter(case_id=case.pk, status=Sub.RUNNING)
        .select_related("bundle_case")
        .first()
    )
    if link is None:
        return  # not a bundle step, or settled already
    case = Case.objects.get(pk=case.pk)
    why = f"承办节点未接受：{note}"
    if case.counterpart_node == actor.node and definition_of(case).action("terminate", case.state):
        take_remote_action(
            case,
            "terminate",
            actor=actor,
            organisation=None,
            from_state=case.state,
            note=why,
        )
        return
    # A workflow without a way to end the case there: the step fails all the same.
    link.status, link.note = Sub.FAILED, why[:500]
    link.save(update_fields=["status", "note"])
    transaction.on_commit(partial(advance_bundle_case, link.bundle_case_id))


def advance_bundle_case(bundle_case_id: int) -> BundleCase:
    """Move a running bundle case on from its sub-cases' statuses: a stopped step blocks
    every waiting one and fails the bundle; all approved finishes it; an order fully
    approved opens the next (a step that cannot open stops there, with the reason)."""
    with transaction.atomic():
        bundle_case = _lock(BundleCase(pk=bundle_case_id))
        if bundle_case.status != Status.RUNNING:
            return bundle_case
        subs = list(
            bundle_case.sub_cases.select_related("step__item_version__item__organisation", "case")
        )
        while True:
            stopped = [s for s in subs if s.status in STOPPING]
            waiting = [s for s in subs if s.status == Sub.WAITING]
            if stopped:
                names = "、".join(item_name(s.step) for s in stopped)
                for sub in waiting:
                    sub.status, sub.note = Sub.BLOCKED, f"因“{names}”未办成，无法办理"
                    sub.save(update_fields=["status", "note"])
                _finish(bundle_case, Status.FAILED, f"“{names}”未办成，其后事项受阻")
                break
            if all(s.status == Sub.APPROVED for s in subs):
                _finish(bundle_case, Status.DONE, "全部事项已办结")
                break
            if any(s.status == Sub.RUNNING for s in subs) or not waiting:
                break
            order = min(s.order for s in waiting)
            applicant = bundle_case.submitted_by
            for sub in [s for s in waiting if s.order == order]:
                try:
                    with transaction.atomic():
                        _open_sub_case(bundle_case, sub, subs, actor=applicant)
                except RuleViolation as exc:
                    sub.status, sub.note = Sub.FAILED, f"无法开始办理：{exc.message}"[:500]
                    sub.case = None
                    sub.save(update_fields=["status", "note", "case"])
                    logger.info("bundle step could not open", extra={"code": exc.code})
    return bundle_case


def _finish(bundle_case: BundleCase, status: str, note: str) -> None:
    bundle_case.status = status
    bundle_case.finished_at = timezone.now()
    bundle_case.save(update_fields=["status", "finished_at"])
    _record(bundle_case, status, note, None)


@transaction.atomic
def withdraw_bundle_case(bundle_case: BundleCase, *, actor: Actor, note: str = "") -> BundleCase:
    """Withdraw a bundle case: every running sub-case not yet decided is withdrawn through
    its workflow (and so on its handling node), every step not yet opened is cancelled;
    decided ones stand. Refused whole when a running sub-case's workflow does not allow
    withdrawal in its state (`bundle_withdraw_not_possible`)."""
    bundle_case = _lock(bundle_case)
    user = _check_applicant(bundle_case, actor)
    if bundle_case.status not in (Status.DRAFT, Status.RUNNING):
        raise RuleViolation("bundle_finished", "该一件事已结束，不能撤回", status=409)
    subs = list(bundle_case.sub_cases.select_related("case__workflow", "step__item_version"))
    running = [s for s in subs if s.status == Sub.RUNNING and s.case is not None]
    stuck = [s for s in running if not _withdrawable(s.case)]  # type: ignore[arg-type]
    if stuck:
        raise RuleViolation(
            "bundle_withdraw_not_possible",
            "以下事项已进入审查，不能撤回："
            + "、".join(f"{item_name(s.step)}（{s.case.number}）" for s in stuck),  # type: ignore[union-attr]
            status=409,
        )
    bundle_case.status = Status.WITHDRAWN
    bundle_case.finished_at = timezone.now()
    bundle_case.save(update_fields=["status", "finished_at"])
    for sub in running:
        take_action(sub.case, "withdraw", actor=user, note=note or "申请人撤回一件事")  # type: ignore[arg-type]
    for sub in subs:
        if sub.status == Sub.WAITING:
            sub.status, sub.note = Sub.CANCELLED, "一件事已撤回"
            sub.save(update_fields=["status", "note"])
    _record(bundle_case, "withdraw", note or "申请人撤回一件事", actor)
    return bundle_case


# Reading ---------------------------------------------------------------------------------------


def _withdrawable(case: Case) -> bool:
    return definition_of(case).action("withdraw", case.state) is not None


def bundle_cases_for(user: Any) -> QuerySet[BundleCase]:
    """The one scoping primitive for bundle cases: the applicant's own (themself, or a
    company they are an agent of), and for staff those with a sub-case they can see."""
    if not getattr(user, "is_authenticated", False):
        return BundleCase.objects.none()
    own = Q(applicant_person__user=user) | Q(
        applicant_company__in=acting_companies(user).values("pk")
    )
    staff = Q(sub_cases__case__in=Case.objects.for_user(user).values("pk"))
    return BundleCase.objects.filter(own | staff).distinct()


def list_bundle_cases(user: Any) -> QuerySet[BundleCase]:
    """The bundle cases `user` may see with what a list shows, newest first; a fixed
    number of queries."""
    return (
        bundle_cases_for(user)
        .select_related("bundle_version__bundle")
        .prefetch_related(
            Prefetch(
                "sub_cases",
                queryset=BundleSubCase.objects.select_related("step__item_version", "case"),
            )
        )
        .order_by("-created_at", "-id")
    )


def get_bundle_case_for(user: Any, number: str) -> BundleCase:
    found = (
        list_bundle_cases(user)
        .select_related("applicant_person", "applicant_company", "place")
        .filter(number=number)
        .first()
    )
    if found is None:
        raise RuleViolation("bundle_case_not_found", "没有这件一件事办件", status=404)
    return found


@dataclass(frozen=True)
class BundleLink:
    """What a sub-case's handlers see of its bundle: which bundle, which stage, and the
    items that wait for this case."""

    name: str
    number: str
    order: int
    waiting: list[str]


def bundle_link_of(case: Case) -> BundleLink | None:
    """The bundle `case` is a step of, if any (two queries)."""
    link = (
        BundleSubCase.objects.filter(case=case)
        .select_related("bundle_case__bundle_version__bundle")
        .first()
    )
    if link is None:
        return None
    later = (
        link.bundle_case.sub_cases.filter(order__gt=link.order, status=Sub.WAITING)
        .select_related("step__item_version")
        .order_by("order", "id")
    )
    return BundleLink(
        name=link.bundle_case.bundle_version.bundle.name,
        number=link.bundle_case.number,
        order=link.order,
        waiting=[item_name(s.step) for s in later],
    )


@dataclass(frozen=True)
class TimelineRow:
    at: dt.datetime
    actor: str
    what: str
    note: str
    item: str


@dataclass(frozen=True)
class ResultRow:
    item: str
    name: str
    identifier: str
    case_number: str


@dataclass(frozen=True)
class BundleOverview:
    """One combined status, deadline, timeline and result of a bundle case."""

    bundle_case: BundleCase
    status_label: str
    current: list[str]
    due_date: dt.date | None
    sub_cases: list[BundleSubCase]
    timeline: list[TimelineRow]
    results: list[ResultRow]
    blocked: list[tuple[BundleSubCase, str]]
    # Running sub-cases the other node did not accept (their timeline says why).
    refused: list[tuple[BundleSubCase, str]]
    materials: list[Any]
    given: dict[str, BundleMaterial]


def bundle_overview(bundle_case: BundleCase) -> BundleOverview:
    """Everything the bundle's page and API show, from its sub-cases: the status (with
    the steps under way), the deadline, the timeline of the bundle and every sub-case
    merged by time, the licences issued, and what each stopped step blocks."""
    subs = list(
        bundle_case.sub_cases.select_related(
            "step__item_version__item__organisation",
            "step__item_version__result_licence_type",
            "step__item",
            "case__workflow",
        ).prefetch_related(
            Prefetch(
                "step__item_version__materials",
                queryset=Material.objects.select_related("licence_type"),
            )
        )
    )
    by_case = {s.case_id: s for s in subs if s.case_id is not None}
    rows = [
        TimelineRow(e.at, e.actor_label, BUNDLE_ACTIONS.get(e.action, e.action), e.note, "一件事")
        for e in bundle_case.events.all()
    ]
    events = list(CaseEvent.objects.filter(case_id__in=list(by_case)).order_by("at", "id"))
    for event in events:
        sub = by_case[event.case_id]
        rows.append(
            TimelineRow(
                event.at,
                event.actor_label,
                _event_label(event, sub),
                event.note,
                item_name(sub.step),
            )
        )
    rows.sort(key=lambda r: r.at)
    refused = {
        by_case[e.case_id].pk: (by_case[e.case_id], e.note)
        for e in events
        if e.action == "refused_by_node" and by_case[e.case_id].status == Sub.RUNNING
    }
    numbers = {s.case.number: s for s in subs if s.case is not None}
    results = [
        ResultRow(
            item_name(numbers[lic.case_number].step),
            lic.licence_type.name,
            lic.identifier,
            lic.case_number,
        )
        for lic in Licence.objects.filter(case_number__in=list(numbers))
        .select_related("licence_type")
        .order_by("id")
    ]
    known = {r.identifier for r in results}
    for event in events:
        identifier = (event.data or {}).get("identifier")
        if event.action == "issue_licence" and identifier and identifier not in known:
            sub = by_case[event.case_id]
            licence_type = sub.step.item_version.result_licence_type  # type: ignore[union-attr]
            name = licence_type.name if licence_type is not None else "电子证照"
            results.append(
                ResultRow(item_name(sub.step), name, str(identifier), sub.case.number)  # type: ignore[union-attr]
            )
            known.add(identifier)
    stopped = [s for s in subs if s.status in STOPPING]
    blocked = [
        (s, "、".join(item_name(b.step) for b in subs if b.status == Sub.BLOCKED)) for s in stopped
    ]
    current = [item_name(s.step) for s in subs if s.status == Sub.RUNNING]
    return BundleOverview(
        bundle_case=bundle_case,
        status_label=bundle_case.get_status_display(),
        current=current,
        due_date=bundle_case.due_date,
        sub_cases=subs,
        timeline=rows,
        results=results,
        blocked=blocked,
        refused=list(refused.values()),
        materials=bundle_materials([s.step for s in subs]),
        given={m.key: m for m in bundle_case.materials.all()},
    )


BUNDLE_ACTIONS = {
    "start": "申请",
    "add_material": "提交材料",
    "submit": "提交",
    "open_step": "送交承办部门",
    "withdraw": "撤回",
    Status.DONE: "办结",
    Status.FAILED: "未通过",
}


# Timeline rows of a sub-case that are not workflow actions (the portal's case page has
# its own, fuller list).
CASE_EVENTS = {
    "start": "创建申请",
    "add_material": "提交材料",
    "use_licence": "以电子证照代替材料",
    "issue_licence": "签发电子证照",
    "issue_result_document": "出具电子结果文书",
    "received_from_node": "协同节点收件",
    "refused_by_node": "协同节点未接受",
}


def _event_label(event: CaseEvent, sub: BundleSubCase) -> str:
    case = sub.case
    if case is not None and event.from_state:
        definition = definition_of(case)
        spec = definition.action(event.action, event.from_state)
        if spec is not None:
            return definition.action_label(spec)
    return CASE_EVENTS.get(event.action, event.action)
