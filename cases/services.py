"""The life of a case: opening it, the workflow engine, and the periodic deadline scan.
Each change runs in one transaction, writes the timeline row itself (cases/timeline.py),
and announces the change to the applicant after commit. Materials live in
cases/materials.py, 容缺 and 告知承诺 in cases/commitments.py.

`take_action` is the engine: it finds the action in the case's pinned workflow definition,
checks who may take it, runs the action's own rules (a hook per action name), applies the
clock effect, and moves the state with a conditional update — of two clerks acting at
once, exactly one succeeds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Company, Person
from accounts.selectors import staff_user
from cases import deadlines, exchange, timeline
from cases.materials import applicant_side, missing_materials
from cases.models import (
    Case,
    CaseMaterial,
    CaseNumberSequence,
    ClockPause,
    Commitment,
    SupplementRequest,
)
from cases.selectors import REVEAL_ROLES, acting_organisation
from cases.timeline import applicant_label
from cases.workflow import ActionSpec, clock_effect, current_definition, parsed
from catalog.form_schema import parse_form_fields, validate_form_data
from catalog.models import ItemVersion
from core.exceptions import ProblemList, RuleViolation
from core.models import Organisation
from core.services import Actor
from licences.services import (
    Holder,
    issue_licence,
)

# Numbers ---------------------------------------------------------------------------------


def next_case_number(day: dt.date) -> str:
    """`<node code>-<yyyymmdd>-<6-digit sequence of the day>`, e.g. `LN-20261128-000042`."""
    for _ in range(3):
        if CaseNumberSequence.objects.filter(day=day).update(last=F("last") + 1):
            break
        try:
            with transaction.atomic():
                CaseNumberSequence.objects.create(day=day, last=1)
            break
        except IntegrityError:
            continue
    last = CaseNumberSequence.objects.get(day=day).last
    return f"{settings.NODE_CODE}-{day:%Y%m%d}-{last:06d}"


# Starting a case ---------------------------------------------------------------------------


@transaction.atomic
def start_case(
    *,
    item_version: ItemVersion,
    form_data: dict[str, Any],
    actor: Actor,
    person: Person | None = None,
    company: Company | None = None,
    channel: str = Case.Channel.ONLINE,
    receiving_org: Organisation | None = None,
    mode: str | None = None,
    assisted: bool = False,
    idempotency_key: str = "",
) -> Case:
    """Open a draft case for an applicant under the item version in force.

    The form is validated against the version's form schema now; the mode must be one the
    item offers (全程网办 on its own node by default). A repeated idempotency key returns the
    case it made, if the request is the same, and is refused otherwise."""
    user = timeline.user_of(actor)
    if user is None:
        raise RuleViolation("actor_required", "须以登录账号办理")
    if (person is None) == (company is None):
        raise RuleViolation("applicant_required", "须指明一个申请人（自然人或法人）")
    if not item_version.is_published:
        raise RuleViolation("item_version_not_published", "该事项版本未发布，不能申请")
    audience = item_version.audience
    if (person is not None and audience == "company") or (
        company is not None and audience == "person"
    ):
        raise RuleViolation(
            "audience_mismatch", f"该事项的服务对象为{item_version.get_audience_display()}"
        )
    offered = {a.mode for a in item_version.availabilities.all()} | {"online"}
    if mode is None:
        # Received away from the owner: 异地代收代办 where offered; an item that needs several
        # organisations is 多地联办 wherever it is received.
        elsewhere = receiving_org is not None and receiving_org != item_version.item.organisation
        preference = ("proxy", "joint", "online") if elsewhere else ("joint", "online")
        mode = next(m for m in preference if m in offered)
    if mode not in offered:
        raise RuleViolation("mode_not_offered", "该事项未开通此业务模式")
    problems = ProblemList()
    fields = parse_form_fields(item_version.form_fields, problems)
    cleaned = validate_form_data(fields, form_data)
    if idempotency_key:
        existing = Case.objects.filter(submitted_by=user, idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.item_version_id != item_version.pk or existing.form_data != cleaned:
                raise RuleViolation(
                    "idempotency_key_reused", "该幂等键已用于另一份申请", status=409
                )
            return existing
    handling_org = item_version.item.organisation
    receiving_org = receiving_org or handling_org
    today = timeline.today()
    case = Case.objects.create(
        number=next_case_number(today),
        item_version=item_version,
        workflow=current_definition(mode),
        mode=mode,
        channel=channel,
        state=parsed(current_definition(mode)).initial,
        applicant_person=person,
        applicant_company=company,
        applicant_name=person.name if person else company.name,  # type: ignore[union-attr]
        submitted_by=user,
        assisted=assisted,
        idempotency_key=idempotency_key,
        receiving_org=receiving_org,
        handling_org=handling_org,
        form_data=cleaned,
        counterpart_node=handling_org.node,
    )
    note = "代办帮办" if assisted else ""
    timeline.record_event(
        case,
        actor=actor,
        action="start",
        to_state=case.state,
        note=note,
        data={"item": item_version.item.code, "version": item_version.number},
    )
    return case


@transaction.atomic
def update_draft_form(case: Case, *, form_data: dict[str, Any], actor: Actor) -> Case:
    """Change the answers of an application not yet submitted (the applicant, or the
    receiving window's clerk). They are validated again against the pinned item version;
    once the case has left its initial state the form is part of the record and frozen."""
    case = (
        Case.objects.select_for_update().select_related("workflow", "item_version").get(pk=case.pk)
    )
    if case.state != parsed(case.workflow).initial:
        raise RuleViolation("form_locked", "申请已提交，申请表不能再修改", status=409)
    org = applicant_side(case, actor)
    fields = parse_form_fields(case.item_version.form_fields, ProblemList())
    cleaned = validate_form_data(fields, form_data)
    if cleaned != case.form_data:
        changed = sorted(
            name
            for name in set(cleaned) | set(case.form_data or {})
            if cleaned.get(name) != (case.form_data or {}).get(name)
        )
        case.form_data = cleaned
        case.save(update_fields=["form_data"])
        timeline.record_event(
            case, actor=actor, action="update_form", organisation=org, data={"fields": changed}
        )
    return case


# The engine --------------------------------------------------------------------------------

Hook = Callable[[Case, ActionSpec, Actor, str, dict[str, Any]], None]
_HOOKS: dict[str, Hook] = {}


def hook(*names: str) -> Callable[[Hook], Hook]:
    def register(func: Hook) -> Hook:
        for name in names:
            _HOOKS[name] = func
        return func

    return register


def _locked(case: Case) -> Case:
    return Case.objects.select_related(
        "item_version__item",
        "handling_org__division",
        "receiving_org",
        "workflow",
        "applicant_person",
        "applicant_company",
    ).get(pk=case.pk)


def _spec_for(definition: Any, case: Case, name: str) -> ActionSpec:
    spec = definition.action(name, case.state)
    if spec is None:
        if any(a.name == name for a in definition.actions):
            raise RuleViolation(
                "action_not_allowed_in_state",
                f"办件当前状态为“{definition.label(case.state)}”，不能{name}",
                status=409,
            )
        raise RuleViolation("action_unknown", f"未知的操作：{name}", status=404)
    return spec  # type: ignore[no-any-return]


@transaction.atomic
def take_action(
    case: Case, name: str, *, actor: Actor, note: str = "", data: dict[str, Any] | None = None
) -> Case:
    """Take workflow action `name` on `case` as `actor`; see the module docstring."""
    case = _locked(case)
    definition = parsed(case.workflow)
    spec = _spec_for(definition, case, name)
    org = acting_organisation(case, spec, actor)
    if org is False:
        raise RuleViolation("action_forbidden", f"无权执行“{spec.label}”", status=403)
    return _transition(
        case, definition, spec, actor=actor, org=org, note=note, data=data or {}, node=""
    )


@transaction.atomic
def take_remote_action(
    case: Case,
    name: str,
    *,
    node: str,
    actor_label: str,
    organisation: Organisation | None,
    from_state: str,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> Case:
    """Apply an action taken on the counterpart node of a two-node case (cases/exchange.py).

    The same engine runs — hooks, clock and deadline of this node's own segment — but the
    permission check is that the node owns the side the action belongs to: the handling
    node for the department's and the system's actions, the receiving node for the
    window's and the applicant's. A case that moved on here meanwhile refuses it."""
    case = _locked(case)
    if case.counterpart_node != node:
        raise RuleViolation("case_not_shared", f"办件 {case.number} 不与节点 {node} 协同办理")
    if case.state != from_state:
        raise RuleViolation(
            "case_state_conflict",
            f"办件 {case.number} 在本节点的状态为 {case.state}，不是 {from_state}",
            status=409,
        )
    definition = parsed(case.workflow)
    spec = _spec_for(definition, case, name)
    # The applicant applied on the node that forwarded the case here.
    applicant_node = node if case.handling_org.is_local else ""
    owns = any(
        case.handling_org.node == node
        if who.role == "system" or who.scope == "handling"
        else (applicant_node if who.role == "applicant" else case.receiving_org.node) == node
        for who in spec.by
    )
    if not owns:
        raise RuleViolation(
            "action_forbidden", f"节点 {node} 不能代为执行“{spec.label}”", status=403
        )
    return _transition(
        case,
        definition,
        spec,
        actor=actor_label,
        org=organisation,
        note=note,
        data=data or {},
        node=node,
    )


def _transition(
    case: Case,
    definition: Any,
    spec: ActionSpec,
    *,
    actor: Actor,
    org: Organisation | bool | None,
    note: str,
    data: dict[str, Any],
    node: str,
) -> Case:
    if spec.note_required and not note.strip():
        raise RuleViolation("note_required", f"“{spec.label}”须填写说明")
    from_state, today = case.state, timeline.today()
    before_version = case.row_version
    case.state = spec.to
    state_days = definition.states[spec.to].deadline_days
    case.state_due_date = (
        deadlines.days_after(case, today, state_days).date if state_days is not None else None
    )
    if spec.name in _HOOKS:
        _HOOKS[spec.name](case, spec, actor, note, data)
    _apply_clock(case, spec, today, note)
    finished = definition.is_finished(spec.to)
    if finished and case.closed_at is None:
        case.closed_at = timezone.now()
    case.warning = deadlines.warning_for(case, today)
    fields = [
        "state",
        "state_due_date",
        "submitted_at",
        "accepted_on",
        "due_date",
        "due_provisional",
        "paused_days",
        "clock_state",
        "warning",
        "closed_at",
        "outcome_note",
    ]
    updated = Case.objects.filter(pk=case.pk, row_version=before_version).update(
        row_version=before_version + 1, **{f: getattr(case, f) for f in fields}
    )
    if updated != 1:
        raise RuleViolation("case_conflict", "办件已被他人处理，请刷新后重试", status=409)
    case.row_version = before_version + 1
    event = timeline.record_event(
        case,
        actor=actor,
        action=spec.name,
        from_state=from_state,
        to_state=spec.to,
        note=note,
        organisation=org if isinstance(org, Organisation) else None,
        data=_event_data(data),
        node=node,
    )
    if case.counterpart_node and not node:
        exchange.share(case, event, data)
    if finished:
        timeline.archive(case)
    timeline.announce(case, definition.label(spec.to), note or spec.label)
    return case


def _event_data(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if isinstance(v, (str, int, bool, list))}


def _apply_clock(case: Case, spec: ActionSpec, today: dt.date, note: str) -> None:
    effect = clock_effect(spec)
    if effect is None:
        return
    if effect.kind == "start":
        case.accepted_on = today
        case.clock_state = Case.ClockState.RUNNING
    elif effect.kind == "pause":
        ClockPause.objects.create(
            case=case, reason=effect.reason, started_on=today, detail=note[:200]
        )
        case.clock_state = Case.ClockState.PAUSED
    elif effect.kind in {"resume", "stop"}:
        for pause in case.pauses.filter(ended_on__isnull=True):
            pause.ended_on = today
            pause.days = max(deadlines.days_between(case, pause.started_on, today), 0)
            pause.save(update_fields=["ended_on", "days"])
            case.paused_days += pause.days
        case.clock_state = (
            Case.ClockState.RUNNING if effect.kind == "resume" else Case.ClockState.STOPPED
        )
    due = deadlines.overall_due(case)
    if due is not None:
        case.due_date, case.due_provisional = due.date, due.provisional


@hook("submit", "forward")
def _on_submit(case: Case, spec: ActionSpec, actor: Actor, note: str, data: dict[str, Any]) -> None:
    missing = missing_materials(case)
    if missing:
        problems = ProblemList()
        for m in missing:
            problems.add(f"缺少必要材料“{m.name}”", field=f"materials[{m.pk}]")
        problems.raise_if_any("materials_missing", "申请材料不齐，不能提交")
    case.submitted_at = timezone.now()


@hook("check_materials")
def _on_check_materials(
    case: Case, spec: ActionSpec, actor: Actor, note: str, data: dict[str, Any]
) -> None:
    missing = missing_materials(case)
    if missing:
        raise RuleViolation(
            "materials_missing", "形式审查未通过，缺少：" + "、".join(m.name for m in missing)
        )


@hook("request_supplement")
def _on_request_supplement(
    case: Case, spec: ActionSpec, actor: Actor, note: str, data: dict[str, Any]
) -> None:
    ids = data.get("materials") or []
    if not isinstance(ids, list) or not ids:
        raise RuleViolation("supplement_materials_required", "请一次性列出需补正的全部材料")
    requested = list(
        case.item_version.materials.filter(pk__in=[i for i in ids if isinstance(i, int)])
    )
    if len(requested) != len(set(ids)):
        raise RuleViolation("material_not_of_item", "所列材料不全是该事项的申请材料")
    try:
        due = dt.date.fromisoformat(str(data.get("due_date", "")))
    except ValueError as exc:
        raise RuleViolation("supplement_due_invalid", "补正期限应为 YYYY-MM-DD") from exc
    today = timeline.today()
    limit = deadlines.days_after(case, today, max(case.item_version.promised_limit, 5)).date
    if not today < due <= limit:
        raise RuleViolation("supplement_due_beyond_limit", f"补正期限应在今天之后、不晚于 {limit}")
    request = SupplementRequest.objects.create(case=case, note=note, due_date=due)
    request.materials.set(requested)
    case.state_due_date = due


@hook("supplement")
def _on_supplement(
    case: Case, spec: ActionSpec, actor: Actor, note: str, data: dict[str, Any]
) -> None:
    request = (
        case.supplement_requests.filter(fulfilled_at__isnull=True).order_by("-requested_at").first()
    )
    if request is None:
        return
    fresh = set(
        case.materials.filter(
            status=CaseMaterial.Status.PROVIDED, uploaded_at__gte=request.requested_at
        ).values_list("requirement_id", flat=True)
    )
    outstanding = [m.name for m in request.materials.all() if m.pk not in fresh]
    if outstanding:
        raise RuleViolation("supplement_incomplete", "尚未补正：" + "、".join(outstanding))
    request.fulfilled_at = timezone.now()
    request.save(update_fields=["fulfilled_at"])


@hook("start_special_procedure")
def _on_special_procedure(
    case: Case, spec: ActionSpec, actor: Actor, note: str, data: dict[str, Any]
) -> None:
    names = [p.get("name") for p in case.item_version.special_procedures or []]
    if data.get("procedure") not in names:
        raise RuleViolation(
            "special_procedure_unknown",
            "该事项的特别程序为：" + ("、".join(map(str, names)) or "无"),
        )


@hook("approve")
def _on_approve(
    case: Case, spec: ActionSpec, actor: Actor, note: str, data: dict[str, Any]
) -> None:
    for commitment in case.commitments.filter(
        kind=Commitment.Kind.NOTIFICATION, status=Commitment.Status.OPEN
    ):
        due = deadlines.days_after(
            case, timeline.today(), settings.COMMITMENT_VERIFICATION_WORKING_DAYS
        )
        commitment.due_date = due.date
        commitment.save(update_fields=["due_date"])
        timeline.record_event(
            case,
            actor=actor,
            action="create_verification",
            note=f"告知承诺核查任务，期限 {due.date}",
        )
    _issue_result_licence(case, actor)


def _issue_result_licence(case: Case, actor: Actor) -> None:
    """An item whose result is a licence gets it in the same transaction as the decision:
    face data from the application form, the applicant as holder, the handling
    organisation's seal. If it cannot be issued, the decision does not happen either."""
    version = case.item_version
    if version.result_type != ItemVersion.ResultType.LICENCE or version.result_licence_type is None:
        return
    if not case.handling_org.is_local:
        return  # the handling node issues it, and its action reports the licence here
    licence_type = version.result_licence_type
    form = case.form_data or {}
    face = {f["name"]: form[f["name"]] for f in licence_type.face_fields if f.get("name") in form}
    holder = (
        Holder.of_person(case.applicant_person)
        if case.applicant_person is not None
        else Holder.of_company(case.applicant_company)  # type: ignore[arg-type]
    )
    licence = issue_licence(
        licence_type=licence_type,
        holder=holder,
        issuer=case.handling_org,
        face_data=face,
        case_number=case.number,
        actor=actor,
    )
    timeline.record_event(
        case,
        actor=actor,
        action="issue_licence",
        organisation=case.handling_org,
        note=f"签发{licence_type.name}，电子证照标识 {licence.identifier}",
        data={"identifier": licence.identifier},
    )


@hook("issue_result")
def _on_issue_result(
    case: Case, spec: ActionSpec, actor: Actor, note: str, data: dict[str, Any]
) -> None:
    if case.commitments.filter(
        kind=Commitment.Kind.DEFICIENCY, status=Commitment.Status.OPEN
    ).exists():
        raise RuleViolation(
            "deficiency_outstanding", "容缺材料尚未补齐，暂不发放办理结果", status=409
        )


@hook("terminate", "revoke_decision", "deny", "refuse_acceptance")
def _on_outcome(
    case: Case, spec: ActionSpec, actor: Actor, note: str, data: dict[str, Any]
) -> None:
    case.outcome_note = note[:500]


# Periodic work ---------------------------------------------------------------------------------


def refresh_warnings(on: dt.date | None = None) -> dict[str, int]:
    """Recompute the yellow/red warning of every running case; return how many of each."""
    today = on or timeline.today()
    counts: dict[str, int] = {Case.Warning.YELLOW.value: 0, Case.Warning.RED.value: 0}
    running = Case.objects.filter(clock_state=Case.ClockState.RUNNING).select_related(
        "handling_org__division", "item_version"
    )
    for case in running.iterator(chunk_size=500):
        level = deadlines.warning_for(case, today)
        if level in counts:
            counts[level] += 1
        if level != case.warning:
            Case.objects.filter(pk=case.pk).update(warning=level)
    return counts


# Applying, as one call for the API and the pages ----------------------------------------------


@transaction.atomic
def apply(
    *,
    actor: Actor,
    item_version: ItemVersion,
    form_data: dict[str, Any],
    on_behalf_of: dict[str, Any] | None = None,
    company_uscc: str | None = None,
    assisted: bool = False,
    idempotency_key: str = "",
    submit: bool = False,
) -> Case:
    """Open (and optionally submit) a case, working out who the applicant is and where the
    case is received:

    - a citizen applies for themself; a company agent names the company (`company_uscc`);
    - a window clerk applies on behalf of a person or company (`on_behalf_of`), received at
      the clerk's organisation — 代办帮办 when `assisted`; a different organisation than
      the item's owner makes it a 异地代收代办 (proxy) case;
    - a department system (any other staff role) files on behalf of an applicant, received
      by the item's own organisation.
    """
    from accounts.models import Role, StaffRole
    from accounts.services import register_company, register_person

    user = timeline.user_of(actor)
    if user is None:
        raise RuleViolation("actor_required", "须以登录账号办理", status=401)
    person: Person | None = None
    company: Company | None = None
    channel, receiving_org = Case.Channel.ONLINE, None
    if on_behalf_of is not None:
        roles = list(StaffRole.objects.filter(user=user).select_related("organisation"))
        if not roles:
            raise RuleViolation("action_forbidden", "只有工作人员可以代他人申请", status=403)
        clerk = next((r for r in roles if r.role == Role.WINDOW_CLERK), None)
        if clerk is not None:
            channel, receiving_org = Case.Channel.WINDOW, clerk.organisation
        else:
            channel = Case.Channel.API
        if on_behalf_of.get("kind") == "company":
            company = register_company(
                uscc=on_behalf_of.get("uscc") or "",
                name=on_behalf_of.get("name") or "",
                legal_representative=on_behalf_of.get("legal_representative") or "",
                actor=actor,
            )
        else:
            person = register_person(
                name=on_behalf_of.get("name") or "",
                id_number=on_behalf_of.get("id_number") or "",
                mobile=on_behalf_of.get("mobile") or "",
                actor=actor,
            )
    elif company_uscc:
        company = Company.objects.filter(uscc=company_uscc.strip().upper(), agents=user).first()
        if company is None:
            raise RuleViolation("company_not_authorised", "您不是该法人的经办人", status=403)
    else:
        person = Person.objects.filter(user=user).first()
        if person is None:
            raise RuleViolation("person_not_registered", "请先完成实名登记", status=403)
    if assisted and channel != Case.Channel.WINDOW:
        raise RuleViolation("assisted_window_only", "代办帮办须由窗口人员办理")
    case = start_case(
        item_version=item_version,
        form_data=form_data,
        actor=actor,
        person=person,
        company=company,
        channel=channel,
        receiving_org=receiving_org,
        assisted=assisted,
        idempotency_key=idempotency_key,
    )
    if submit and case.state == parsed(case.workflow).initial:
        case = take_action(case, "submit", actor=actor)
    return case


def reveal_form(case: Case, *, viewer: Actor, purpose: str) -> dict[str, Any]:
    """The application form in clear, for staff handling the case, with the read logged.

    The applicant sees their own form in clear anyway; other parties get masked values from
    `selectors.masked_form` and must state a purpose here."""
    from core.models import PersonalDataAccess

    user = staff_user(viewer, REVEAL_ROLES, [case.handling_org_id, case.receiving_org_id])
    if user is None:
        raise RuleViolation("action_forbidden", "无权查看完整个人信息", status=403)
    if len(purpose.strip()) < 2:
        raise RuleViolation("purpose_required", "请说明查看用途")
    PersonalDataAccess.objects.create(
        actor=user,
        subject=applicant_label(case),
        context=f"办件 {case.number}",
        purpose=purpose.strip()[:200],
        fields=sorted(case.form_data or {}),
    )
    return dict(case.form_data or {})
