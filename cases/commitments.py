"""容缺受理 and 告知承诺: the commitments an applicant signs, their verification (核查) and
their expiry. Each change is one transaction with its timeline row."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from accounts.selectors import staff_user
from accounts.services import has_false_commitment, record_false_commitment
from cases import timeline
from cases.engine import PROCESS, take_action
from cases.materials import applicant_side
from cases.models import (
    Case,
    Commitment,
)
from cases.workflow import definition_of, has_tag
from catalog.models import ItemVersion, Material
from core.actors import Actor, SystemActor
from core.calendar import DateWindow
from core.exceptions import ProblemList, RuleViolation
from core.models import Organisation
from core.process import Transition
from licences.services import revoke_licences_of_case

# Commitments (容缺受理, 告知承诺) ----------------------------------------------------------


def _applicant_has_record(case: Case) -> bool:
    return has_false_commitment(person=case.applicant_person, company=case.applicant_company)


def _check_before_submission(case: Case, actor: Actor, what: str) -> Organisation | None:
    if not has_tag(case, "before_submission"):
        raise RuleViolation("commitment_too_late", f"{what}须在提交申请前签署", status=409)
    org = applicant_side(case, actor)
    if _applicant_has_record(case):
        raise RuleViolation("credit_excluded", f"申请人有虚假承诺记录，不能适用{what}")
    return org


def deficiency_due_window(case: Case) -> DateWindow:
    """The dates a 容缺 commitment may promise: after today, no later than the end of the
    promised limit on the case's calendar. Shown under the field before any error."""
    today = timeline.today()
    latest = PROCESS.days_after(case, today, max(case.item_version.promised_limit, 1)).date
    return DateWindow(today + dt.timedelta(days=1), latest)


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
    window = deficiency_due_window(case)
    if due_date not in window:
        raise RuleViolation(
            "deficiency_due_beyond_limit", f"承诺补齐日期{window.hint}", field="due_date"
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
    timeline.record_event(
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
        timeline.record_event(
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
    if staff_user(actor, [Role.REVIEWER, Role.APPROVER], [case.handling_org]) is None:
        raise RuleViolation("action_forbidden", "只有业务属地的审查或审批人员可以核查", status=403)
    if not note.strip():
        raise RuleViolation("note_required", "请填写核查说明")
    commitment.status = Commitment.Status.VERIFIED if truthful else Commitment.Status.FALSE
    commitment.resolved_at = timezone.now()
    commitment.resolution_note = note[:500]
    commitment.save(update_fields=["status", "resolved_at", "resolution_note"])
    timeline.record_event(
        case,
        actor=actor,
        action="verify_commitment",
        organisation=case.handling_org,
        note=note,
        data={"truthful": truthful},
    )
    if not truthful:
        revoke = definition_of(case).action_with_effect(case.state, "revoke_result")
        if revoke is None:
            raise RuleViolation(
                "decision_not_revocable", "办件当前状态下没有可撤销的决定", status=409
            )
        take_action(
            case,
            revoke.name,
            actor=SystemActor("核查不实"),
            note=f"告知承诺核查不实，撤销决定：{note}",
        )
        record_false_commitment(
            person=case.applicant_person,
            company=case.applicant_company,
            case_number=case.number,
            note=note,
            actor=actor,
        )
    return commitment


def expire_deficiency_commitments(on: dt.date | None = None) -> int:
    """Terminate the cases whose 容缺 materials were not supplied by the committed date."""
    today = on or timeline.today()
    expired = 0
    for commitment in Commitment.objects.filter(
        kind=Commitment.Kind.DEFICIENCY, status=Commitment.Status.OPEN, due_date__lt=today
    ).select_related("case"):
        with transaction.atomic():
            case = commitment.case
            terminate = definition_of(case).action_into(case.state, "outcome:terminated")
            if terminate is None:
                continue  # not running (a draft, or already decided): nothing to terminate
            names = "、".join(m.name for m in commitment.materials.all())
            Commitment.objects.filter(pk=commitment.pk).update(
                status=Commitment.Status.EXPIRED,
                resolved_at=timezone.now(),
                resolution_note=f"逾期未补齐：{names}",
            )
            take_action(
                case,
                terminate.name,
                actor=SystemActor("容缺到期"),
                note=f"容缺材料逾期（{commitment.due_date}）未补齐：{names}，终止办理",
            )
            expired += 1
    return expired


# Effects of the case's actions (registered in CasesConfig.ready) ---------------------------


def schedule_commitment_verification(t: Transition[Case]) -> None:
    """A decision made on a 告知承诺 is verified (核查) within the configured working days."""
    case = t.process
    for commitment in case.commitments.filter(
        kind=Commitment.Kind.NOTIFICATION, status=Commitment.Status.OPEN
    ):
        due = PROCESS.days_after(case, t.today, settings.COMMITMENT_VERIFICATION_WORKING_DAYS)
        commitment.due_date = due.date
        commitment.save(update_fields=["due_date"])
        timeline.record_event(
            case,
            actor=t.actor,
            action="create_verification",
            note=f"告知承诺核查任务，期限 {due.date}",
        )


def withhold_result_if_deficient(t: Transition[Case]) -> None:
    """容缺受理: the result is not handed out while a promised material is missing."""
    if t.process.commitments.filter(
        kind=Commitment.Kind.DEFICIENCY, status=Commitment.Status.OPEN
    ).exists():
        raise RuleViolation(
            "deficiency_outstanding", "容缺材料尚未补齐，暂不发放办理结果", status=409
        )


def revoke_result(t: Transition[Case]) -> None:
    """A revoked decision takes its licences with it."""
    revoke_licences_of_case(t.process.number, reason=t.note, actor=t.actor)
