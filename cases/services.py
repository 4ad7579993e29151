"""Every state change of a case. Each runs in one transaction, writes the timeline row
itself, and announces the change to the applicant after commit.

`take_action` is the engine: it finds the action in the case's pinned workflow definition,
checks who may take it, runs the action's own rules (a hook per action name), applies the
clock effect, and moves the state with a conditional update — of two clerks acting at
once, exactly one succeeds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import filetype
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Company, Person
from accounts.services import has_false_commitment, notify, record_false_commitment
from cases import deadlines
from cases.models import (
    Case,
    CaseArchive,
    CaseEvent,
    CaseMaterial,
    CaseNumberSequence,
    ClockPause,
    Commitment,
    SupplementRequest,
)
from cases.selectors import acting_organisation, is_applicant
from cases.workflow import ActionSpec, clock_effect, current_definition, parsed
from catalog.form_schema import parse_form_fields, validate_form_data
from catalog.models import ItemVersion, Material
from core.exceptions import ProblemList, RuleViolation
from core.models import Organisation
from core.personal_data import lookup_hash, mask_name
from core.services import Actor, actor_label
from licences.models import Licence
from licences.services import (
    Holder,
    check_token,
    issue_licence,
    record_use,
    revoke_licences_of_case,
)

SYSTEM = "system"
# States in which the applicant side may still add or replace materials.
OPEN_FOR_MATERIALS = {
    "draft",
    "identity_checked",
    "formally_checked",
    "supplement_requested",
    "review_supplement",
}
ALLOWED_UPLOADS = {
    "application/pdf": {".pdf"},
    "image/jpeg": {".jpg", ".jpeg"},
    "image/png": {".png"},
    "application/zip": {".ofd"},
}


def _today() -> dt.date:
    return timezone.localdate()


def _user(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) else None


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


# Timeline, notification, archive -----------------------------------------------------------


def _event(
    case: Case,
    *,
    actor: Actor,
    action: str,
    from_state: str = "",
    to_state: str = "",
    note: str = "",
    organisation: Organisation | None = None,
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        actor=_user(actor),
        actor_label=actor_label(actor),
        organisation=organisation,
        action=action,
        from_state=from_state,
        to_state=to_state,
        note=note,
        data=data or {},
    )


def _applicant_user_and_mobile(case: Case) -> tuple[User | None, str]:
    if case.applicant_person_id is not None:
        person = case.applicant_person
        return person.user, person.mobile  # type: ignore[union-attr, return-value]
    company = case.applicant_company
    return company.agents.order_by("pk").first(), ""  # type: ignore[union-attr]


def _announce(case: Case, title: str, body: str) -> None:
    user, mobile = _applicant_user_and_mobile(case)
    if user is not None:
        notify(
            user,
            title=f"办件 {case.number}：{title}",
            body=body,
            link=f"/my/cases/{case.number}/",
            mobile=mobile,
        )


def _archive(case: Case) -> CaseArchive:
    events = [
        {
            "at": e.at.isoformat(),
            "actor": e.actor_label,
            "action": e.action,
            "from": e.from_state,
            "to": e.to_state,
            "note": e.note,
            "organisation": e.organisation.name if e.organisation else "",
        }
        for e in case.events.select_related("organisation").order_by("at", "id")
    ]
    materials = [
        {
            "requirement": m.requirement.name,
            "status": m.status,
            "sha256": m.sha256,
            "size": m.size,
            "content_type": m.content_type,
            "paper_custody": m.paper_custody,
        }
        for m in case.materials.select_related("requirement")
    ]
    record = {
        "number": case.number,
        "item": case.item_version.item.code,
        "item_version": case.item_version.number,
        "item_name": case.item_version.name,
        "workflow": f"{case.workflow.code}@{case.workflow.version}",
        "mode": case.mode,
        "state": case.state,
        "applicant": case.applicant_name,
        "receiving_org": case.receiving_org.uscc,
        "handling_org": case.handling_org.uscc,
        "form": case.form_data,
        "accepted_on": case.accepted_on.isoformat() if case.accepted_on else None,
        "due_date": case.due_date.isoformat() if case.due_date else None,
        "paused_days": case.paused_days,
        "events": events,
        "materials": materials,
        "commitments": [
            {"kind": c.kind, "status": c.status, "due_date": str(c.due_date), "notice": c.notice}
            for c in case.commitments.all()
        ],
    }
    canonical = json.dumps(record, ensure_ascii=False, sort_keys=True).encode()
    return CaseArchive.objects.create(
        case=case, record=record, digest=hashlib.sha256(canonical).hexdigest()
    )


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
    user = _user(actor)
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
    mode = mode or (
        "proxy" if receiving_org and receiving_org != item_version.item.organisation else "online"
    )
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
    today = _today()
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
    )
    note = "代办帮办" if assisted else ""
    _event(
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
    org = _applicant_side(case, actor)
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
        _event(case, actor=actor, action="update_form", organisation=org, data={"fields": changed})
    return case


# Materials ---------------------------------------------------------------------------------


def _sniff(content: bytes, name: str) -> str:
    """The content type of an upload, by its bytes; refused if not allowed or not what its
    name says."""
    kind = filetype.guess(content)
    mime = kind.mime if kind else ""
    if mime not in ALLOWED_UPLOADS:
        raise RuleViolation(
            "file_type_not_allowed", "只接受 PDF、JPEG、PNG 或 OFD 文件（按文件内容判断）"
        )
    suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if suffix and suffix not in ALLOWED_UPLOADS[mime]:
        raise RuleViolation(
            "file_type_mismatch", f"文件名为 {suffix} 但内容是 {kind.extension.upper()} 文件"
        )  # type: ignore[union-attr]
    return mime


@dataclass(frozen=True)
class _MaterialSlot:
    """A material requirement of a locked case that the actor may fill now."""

    case: Case
    organisation: Organisation | None
    uploader: User
    deficient: bool


def _open_slot(case: Case, requirement: Material, actor: Actor) -> _MaterialSlot:
    """Lock the case and check that `actor` may give `requirement` now: while the applicant
    side prepares or supplements, or for a material promised under 容缺. A material given
    as a verified licence cannot be replaced."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    if requirement.version_id != case.item_version_id:
        raise RuleViolation("material_not_of_item", f"“{requirement.name}”不是该事项的申请材料")
    deficient = case.commitments.filter(
        kind=Commitment.Kind.DEFICIENCY, status=Commitment.Status.OPEN, materials=requirement
    ).exists()
    if case.state not in OPEN_FOR_MATERIALS and not deficient:
        raise RuleViolation("materials_closed", "当前状态下不能提交材料", status=409)
    org = _applicant_side(case, actor)
    uploader = _user(actor)
    if uploader is None:  # _applicant_side admits only signed-in users
        raise RuleViolation("actor_required", "须以登录账号提交材料", status=401)
    current = case.materials.filter(requirement=requirement, status=CaseMaterial.Status.PROVIDED)
    if current.filter(licence__isnull=False).exists():
        raise RuleViolation(
            "material_licence_verified",
            f"“{requirement.name}”已以核验过的电子证照提供，不可更改",
            status=409,
        )
    current.update(status=CaseMaterial.Status.SUPERSEDED)
    return _MaterialSlot(case, org, uploader, deficient)


def _after_material(slot: _MaterialSlot, actor: Actor) -> None:
    if slot.deficient:
        _fulfil_deficiency(slot.case, actor)


@transaction.atomic
def add_material(
    case: Case,
    requirement: Material,
    *,
    content: bytes,
    name: str,
    actor: Actor,
    paper_custody: str = "",
) -> CaseMaterial:
    """Attach a file for one material requirement (replacing an earlier one)."""
    if not content:
        raise RuleViolation("file_empty", "文件为空")
    if len(content) > settings.CASE_UPLOAD_MAX_BYTES:
        raise RuleViolation(
            "file_too_large", f"文件超过 {settings.CASE_UPLOAD_MAX_BYTES // (1024 * 1024)} MB 上限"
        )
    mime = _sniff(content, name)
    slot = _open_slot(case, requirement, actor)
    digest = hashlib.sha256(content).hexdigest()
    path = f"cases/{digest[:2]}/{digest}"
    if not default_storage.exists(path):
        # Content-addressed: a rolled-back upload leaves only an unreferenced blob.
        default_storage.save(path, ContentFile(content))
    material = CaseMaterial.objects.create(
        case=slot.case,
        requirement=requirement,
        file=path,
        original_name=name[:200],
        content_type=mime,
        size=len(content),
        sha256=digest,
        uploaded_by=slot.uploader,
        paper_custody=paper_custody[:200],
    )
    _event(
        slot.case,
        actor=actor,
        action="add_material",
        organisation=slot.organisation,
        note=requirement.name,
        data={"sha256": digest, "size": len(content)},
    )
    _after_material(slot, actor)
    return material


@transaction.atomic
def use_licence(
    case: Case, requirement: Material, licence: Licence, *, actor: Actor
) -> CaseMaterial:
    """免提交: give the applicant's own electronic licence in place of a material the catalog
    says that licence type can replace. The licence is verified now (signature, status,
    validity); the material then counts as provided and cannot be altered."""
    if (
        requirement.licence_type_id is None
        or requirement.licence_type_id != licence.licence_type_id
    ):
        raise RuleViolation(
            "licence_type_not_accepted",
            f"“{requirement.name}”不接受以“{licence.licence_type.name}”代替",
        )
    holder_code = (
        case.applicant_person.id_number
        if case.applicant_person is not None
        else case.applicant_company.uscc  # type: ignore[union-attr]
    )
    if licence.holder_code_hash != lookup_hash(holder_code):
        raise RuleViolation(
            "licence_not_applicants", "该电子证照的持证主体不是本办件的申请人", status=403
        )
    check = check_token(licence.token)
    if check.outcome != "valid":
        raise RuleViolation(
            "licence_not_valid", f"电子证照核验未通过（{check.label}）：{check.reason}"
        )
    slot = _open_slot(case, requirement, actor)
    material = CaseMaterial.objects.create(
        case=slot.case,
        requirement=requirement,
        licence=licence,
        licence_verified_at=timezone.now(),
        original_name=licence.identifier,
        content_type="application/x-licence",
        uploaded_by=slot.uploader,
    )
    record_use(licence, case_number=slot.case.number, actor=actor)
    _event(
        slot.case,
        actor=actor,
        action="use_licence",
        organisation=slot.organisation,
        note=f"{requirement.name}：以电子证照 {licence.identifier} 代替（核验有效）",
        data={"identifier": licence.identifier},
    )
    _after_material(slot, actor)
    return material


def _applicant_side(case: Case, actor: Actor) -> Organisation | None:
    """The applicant, or a window clerk of the receiving organisation, may give materials."""
    if is_applicant(case, actor):
        return None
    from accounts.models import Role, StaffRole

    user = _user(actor)
    if (
        user is not None
        and StaffRole.objects.filter(
            user=user, role=Role.WINDOW_CLERK, organisation=case.receiving_org
        ).exists()
    ):
        return case.receiving_org
    raise RuleViolation("action_forbidden", "只有申请人或收件窗口人员可以提交材料", status=403)


def _provided_ids(case: Case) -> set[int]:
    return set(
        case.materials.filter(status=CaseMaterial.Status.PROVIDED).values_list(
            "requirement_id", flat=True
        )
    )


def _fulfil_deficiency(case: Case, actor: Actor) -> None:
    provided = _provided_ids(case)
    for commitment in case.commitments.filter(
        kind=Commitment.Kind.DEFICIENCY, status=Commitment.Status.OPEN
    ):
        if {m.pk for m in commitment.materials.all()} <= provided:
            commitment.status = Commitment.Status.FULFILLED
            commitment.resolved_at = timezone.now()
            commitment.save(update_fields=["status", "resolved_at"])
            _event(case, actor=actor, action="fulfil_deficiency", note="容缺材料已全部补齐")


def missing_materials(case: Case) -> list[Material]:
    """Required materials neither provided nor covered by a commitment."""
    provided = _provided_ids(case)
    covered = {m.pk for c in case.commitments.all() for m in c.materials.all()}
    return [
        m
        for m in case.item_version.materials.all()
        if m.necessity != Material.Necessity.OPTIONAL
        and m.pk not in provided
        and m.pk not in covered
    ]


# Commitments (容缺受理, 告知承诺) ----------------------------------------------------------


def _applicant_has_record(case: Case) -> bool:
    return has_false_commitment(person=case.applicant_person, company=case.applicant_company)


def _check_before_submission(case: Case, actor: Actor, what: str) -> Organisation | None:
    if case.state not in {"draft", "identity_checked", "formally_checked"}:
        raise RuleViolation("commitment_too_late", f"{what}须在提交申请前签署", status=409)
    org = _applicant_side(case, actor)
    if _applicant_has_record(case):
        raise RuleViolation("credit_excluded", f"申请人有虚假承诺记录，不能适用{what}")
    return org


@transaction.atomic
def sign_deficiency_commitment(
    case: Case, *, materials: list[Material], due_date: dt.date, actor: Actor
) -> Commitment:
    """容缺受理: the applicant commits to supply the listed secondary materials by `due_date`
    (not later than the promised limit); review may proceed, the result is withheld."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    org = _check_before_submission(case, actor, "容缺受理")
    if not materials:
        raise RuleViolation("deficiency_materials_required", "请列出容缺的材料")
    problems = ProblemList()
    for m in materials:
        if m.version_id != case.item_version_id:
            problems.add(f"“{m.name}”不是该事项的申请材料", field="materials")
        elif m.necessity != Material.Necessity.DEFICIENCY_ALLOWED:
            problems.add(f"“{m.name}”不允许容缺", field="materials")
    problems.raise_if_any("material_not_deficiency_allowed", "所列材料不能容缺")
    today = _today()
    limit = deadlines.days_after(case, today, max(case.item_version.promised_limit, 1))
    if not today < due_date <= limit.date:
        raise RuleViolation(
            "deficiency_due_beyond_limit", f"补齐期限应在今天之后、不晚于承诺时限 {limit.date}"
        )
    names = "、".join(m.name for m in materials)
    notice = (
        f"申请人承诺于 {due_date} 前补齐以下材料：{names}。补齐前审查照常进行，但不发放办理结果；"
        f"逾期未补齐的，本次申请终止办理，由申请人承担相应后果。"
    )
    commitment = Commitment.objects.create(
        case=case, kind=Commitment.Kind.DEFICIENCY, notice=notice, due_date=due_date
    )
    commitment.materials.set(materials)
    _event(
        case,
        actor=actor,
        action="sign_deficiency_commitment",
        organisation=org,
        note=notice,
        data={"due_date": due_date.isoformat()},
    )
    return commitment


def commitment_notice(item_version: ItemVersion) -> str:
    """The written notice (告知书) of 告知承诺 for an item version."""
    proofs = "、".join(m.name for m in item_version.materials.all() if m.commitment_allowed)
    return (
        f"事项：{item_version.name}。设定依据：{item_version.legal_basis}。"
        f"申请人以书面承诺代替以下证明：{proofs or '（无）'}。承诺内容不实的，行政机关将依法撤销"
        f"已作出的决定，记入信用记录，并依法追究相应的法律责任。行政机关将在作出决定后 "
        f"{settings.COMMITMENT_VERIFICATION_WORKING_DAYS} 个工作日内通过数据共享、书面核查或实地核查方式核实。"
    )


@transaction.atomic
def sign_notification_commitment(case: Case, *, actor: Actor) -> Commitment:
    """告知承诺: the applicant signs the notice instead of providing the proofs it names; the
    decision is made on the commitment and verified after it (核查)."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    org = _check_before_submission(case, actor, "告知承诺")
    version = case.item_version
    replaceable = [m for m in version.materials.all() if m.commitment_allowed]
    if not version.allows_commitment or not replaceable:
        raise RuleViolation("commitment_not_allowed", "该事项不适用告知承诺")
    notice = commitment_notice(version)
    commitment, created = Commitment.objects.get_or_create(
        case=case, kind=Commitment.Kind.NOTIFICATION, defaults={"notice": notice}
    )
    if created:
        commitment.materials.set(replaceable)
        _event(
            case, actor=actor, action="sign_notification_commitment", organisation=org, note=notice
        )
    return commitment


@transaction.atomic
def record_verification(
    commitment: Commitment, *, truthful: bool, note: str, actor: Actor
) -> Commitment:
    """核查 of a 告知承诺 by the handling organisation. A false finding revokes the decision,
    records the false commitment on the applicant, and tells them."""
    commitment = Commitment.objects.select_for_update().select_related("case").get(pk=commitment.pk)
    case = commitment.case
    if (
        commitment.kind != Commitment.Kind.NOTIFICATION
        or commitment.status != Commitment.Status.OPEN
        or commitment.due_date is None
    ):
        raise RuleViolation("verification_not_open", "该承诺当前没有待核查的任务", status=409)
    from accounts.models import Role, StaffRole

    user = _user(actor)
    if (
        user is None
        or not StaffRole.objects.filter(
            user=user, role__in=[Role.REVIEWER, Role.APPROVER], organisation=case.handling_org
        ).exists()
    ):
        raise RuleViolation("action_forbidden", "只有业务属地的审查或审批人员可以核查", status=403)
    if not note.strip():
        raise RuleViolation("note_required", "请填写核查说明")
    commitment.status = Commitment.Status.VERIFIED if truthful else Commitment.Status.FALSE
    commitment.resolved_at = timezone.now()
    commitment.resolution_note = note[:500]
    commitment.save(update_fields=["status", "resolved_at", "resolution_note"])
    _event(
        case,
        actor=actor,
        action="verify_commitment",
        organisation=case.handling_org,
        note=note,
        data={"truthful": truthful},
    )
    if not truthful:
        take_action(
            case,
            "revoke_decision",
            actor=f"{SYSTEM}:核查不实",
            note=f"告知承诺核查不实，撤销决定：{note}",
        )
        record_false_commitment(
            person=case.applicant_person,
            company=case.applicant_company,
            case_number=case.number,
            note=note,
            actor=actor,
        )
        revoke_licences_of_case(
            case.number, reason=f"告知承诺核查不实，决定已撤销：{note}", actor=actor
        )
    return commitment


# The engine --------------------------------------------------------------------------------

Hook = Callable[[Case, ActionSpec, Actor, str, dict[str, Any]], None]
_HOOKS: dict[str, Hook] = {}


def hook(*names: str) -> Callable[[Hook], Hook]:
    def register(func: Hook) -> Hook:
        for name in names:
            _HOOKS[name] = func
        return func

    return register


@transaction.atomic
def take_action(
    case: Case, name: str, *, actor: Actor, note: str = "", data: dict[str, Any] | None = None
) -> Case:
    """Take workflow action `name` on `case` as `actor`; see the module docstring."""
    data = data or {}
    case = Case.objects.select_related(
        "item_version__item",
        "handling_org__division",
        "receiving_org",
        "workflow",
        "applicant_person",
        "applicant_company",
    ).get(pk=case.pk)
    definition = parsed(case.workflow)
    spec = definition.action(name, case.state)
    if spec is None:
        if any(a.name == name for a in definition.actions):
            raise RuleViolation(
                "action_not_allowed_in_state",
                f"办件当前状态为“{definition.label(case.state)}”，不能{name}",
                status=409,
            )
        raise RuleViolation("action_unknown", f"未知的操作：{name}", status=404)
    org = acting_organisation(case, spec, actor)
    if org is False:
        raise RuleViolation("action_forbidden", f"无权执行“{spec.label}”", status=403)
    if spec.note_required and not note.strip():
        raise RuleViolation("note_required", f"“{spec.label}”须填写说明")
    from_state, today = case.state, _today()
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
    _event(
        case,
        actor=actor,
        action=spec.name,
        from_state=from_state,
        to_state=spec.to,
        note=note,
        organisation=org if isinstance(org, Organisation) else None,
        data=_event_data(data),
    )
    if finished:
        _archive(case)
    _announce(case, definition.label(spec.to), note or spec.label)
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
    today = _today()
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
        due = deadlines.days_after(case, _today(), settings.COMMITMENT_VERIFICATION_WORKING_DAYS)
        commitment.due_date = due.date
        commitment.save(update_fields=["due_date"])
        _event(
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
    _event(
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


# Periodic work -------------------------------------------------------------------------------


def expire_deficiency_commitments(today: dt.date | None = None) -> int:
    """Terminate the cases whose 容缺 materials were not supplied by the committed date."""
    today = today or _today()
    expired = 0
    for commitment in Commitment.objects.filter(
        kind=Commitment.Kind.DEFICIENCY, status=Commitment.Status.OPEN, due_date__lt=today
    ).select_related("case"):
        with transaction.atomic():
            names = "、".join(m.name for m in commitment.materials.all())
            Commitment.objects.filter(pk=commitment.pk).update(
                status=Commitment.Status.EXPIRED,
                resolved_at=timezone.now(),
                resolution_note=f"逾期未补齐：{names}",
            )
            take_action(
                commitment.case,
                "terminate",
                actor=f"{SYSTEM}:容缺到期",
                note=f"容缺材料逾期（{commitment.due_date}）未补齐：{names}，终止办理",
            )
            expired += 1
    return expired


def refresh_warnings(today: dt.date | None = None) -> dict[str, int]:
    """Recompute the yellow/red warning of every running case; return how many of each."""
    today = today or _today()
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


def applicant_label(case: Case) -> str:
    """The applicant's name as shown to parties other than the applicant."""
    return mask_name(case.applicant_name) if case.applicant_person_id else case.applicant_name


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

    user = _user(actor)
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
    from accounts.models import Role, StaffRole
    from core.models import PersonalDataAccess

    user = _user(viewer)
    if (
        user is None
        or not StaffRole.objects.filter(
            user=user,
            organisation__in=[case.handling_org_id, case.receiving_org_id],
            role__in=[Role.WINDOW_CLERK, Role.REVIEWER, Role.APPROVER],
        ).exists()
    ):
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
