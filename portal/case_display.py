"""What a case page shows, as template context: `cases.selectors.case_view` (already masked
for whoever looks) plus the Chinese wording the templates need — state and action labels,
who did what, the form's labels, what is still open. Shared by the portal's 我的办件 and
the console's case page; no rule is decided here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accounts.services import has_false_commitment
from cases.commitments import commitment_notice, deficiency_due_window
from cases.models import Case, CaseEvent, Commitment, SupplementRequest
from cases.payment import collects_here, fee_unit, lines_due, listed_fees, needs_assessment
from cases.selectors import MaterialStatus, case_view, material_checklist
from cases.workflow import category_of, definition_of
from catalog.form_schema import FieldType
from catalog.models import ItemVersion, Material
from catalog.selectors import form_fields_of
from core.models import Division
from core.workflow import Definition
from delivery.selectors import shipments_for_case
from federation.directory import node_names
from payments.selectors import payments_for_case
from portal.templatetags.portal_format import time_limit

# Timeline entries that are not workflow actions.
EVENT_LABELS = {
    "start": "创建申请",
    "update_form": "修改申请表",
    "add_material": "提交材料",
    "sign_deficiency_commitment": "签署容缺受理承诺书",
    "sign_notification_commitment": "签署告知承诺书",
    "fulfil_deficiency": "容缺材料已补齐",
    "create_verification": "创建告知承诺核查任务",
    "verify_commitment": "告知承诺核查",
    "received_from_node": "收到转来的办件",
    "issue_licence": "签发电子证照",
    "issue_result_document": "出具电子结果文书",
    "result_document_owed": "电子结果文书待出具",
    "update_delivery": "修改送达方式",
    "post_materials": "寄出申请材料",
    "post_supplement": "寄出补正材料",
    "post_result": "寄出办理结果",
    "shipment_status": "寄递跟踪",
    "start_steps": "联办环节开始",
    "steps_received": "收到联办环节",
    "complete_step": "联办环节完成",
    "refuse_step": "联办环节未通过",
    "refused_by_node": "协同节点未接受",
    "consent_sharing": "同意共享获取材料",
    "use_shared_data": "共享获取材料",
    "sharing_unavailable": "共享数据源暂不可用",
    "sharing_not_confirmed": "共享核验未通过",
}
NECESSITY_LABELS = dict(Material.Necessity.choices)
COVERED_LABELS = {"deficiency": "容缺后补（已签署承诺）", "notification": "以告知承诺替代"}
PROVISIONAL_EXPLANATION = (
    "期限所在年份的法定节假日安排尚未公布，暂按周一至周五为工作日推算；"
    "国务院公布安排后，期限将自动重新计算。"
)
WARNING_TEXT = {"yellow": "临近期限", "red": "已超期"}


@dataclass(frozen=True)
class TimelineRow:
    event: CaseEvent
    label: str
    from_label: str
    to_label: str
    who: str


@dataclass(frozen=True)
class FormRow:
    label: str
    value: str


def action_label(definition: Definition, name: str, state: str, category: str = "") -> str:
    spec = definition.action(name, state) if state else None
    if spec is None:
        spec = definition.any_action(name)
    return definition.action_label(spec, category) if spec else EVENT_LABELS.get(name, name)


def _who(case: Case, event: CaseEvent, *, staff: bool, nodes: dict[str, str]) -> str:
    if event.node:
        where = nodes.get(event.node, event.node)
        name = event.organisation.name if event.organisation else event.data.get("organisation")
        if not name:
            return f"{where}（{event.actor_label}）" if staff else where
        return f"{where} · {name}（{event.actor_label}）" if staff else f"{where} · {name}"
    if event.organisation is not None:
        name = event.organisation.name
        return f"{name}（{event.actor_label}）" if staff else name
    if event.actor_id is None:
        return "系统"
    if case.channel == Case.Channel.WINDOW and event.action == "start":
        name = case.receiving_org.name
        return f"{name}（{event.actor_label}）" if staff else name
    return "申请人"


def timeline(case: Case, definition: Definition, *, staff: bool) -> list[TimelineRow]:
    nodes = node_names() if case.counterpart_node else {}
    category = category_of(case)
    rows = []
    for event in case.events.all():
        if event.action in EVENT_LABELS:
            label = EVENT_LABELS[event.action]
        else:
            label = action_label(definition, event.action, event.from_state, category)
        rows.append(
            TimelineRow(
                event=event,
                label=label,
                from_label=definition.label(event.from_state, category) if event.from_state else "",
                to_label=definition.label(event.to_state, category) if event.to_state else "",
                who=_who(case, event, staff=staff, nodes=nodes),
            )
        )
    return rows


def form_rows(case: Case, form: dict[str, Any]) -> list[FormRow]:
    """The application form's answers under their labels, in the form's order; a division
    code is shown with its name."""
    fields = form_fields_of(case.item_version)
    codes = [str(form[f.name]) for f in fields if f.type == FieldType.DIVISION and form.get(f.name)]
    names = (
        dict(Division.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}
    )
    rows = []
    for spec in fields:
        value = form.get(spec.name)
        if value in (None, ""):
            text = "（未填写）"
        elif spec.type == FieldType.DIVISION:
            text = f"{names.get(str(value), '')}（{value}）"
        else:
            text = str(value)
        rows.append(FormRow(spec.label, text))
    return rows


def open_supplement(case: Case) -> SupplementRequest | None:
    """The supplement request the applicant still has to answer, if any."""
    if not definition_of(case).has_tag(case.state, "awaiting_supplement"):
        return None
    requests = [r for r in case.supplement_requests.all() if r.fulfilled_at is None]
    return max(requests, key=lambda r: r.requested_at) if requests else None


def open_commitments(case: Case, kind: str) -> list[Commitment]:
    return [c for c in case.commitments.all() if c.kind == kind and c.status == "open"]


def open_verifications(case: Case) -> list[Commitment]:
    """告知承诺 awaiting 核查: signed, decided on (it has a due date), not yet verified."""
    return [
        c for c in open_commitments(case, Commitment.Kind.NOTIFICATION) if c.due_date is not None
    ]


def missing_deficiency_materials(case: Case, checklist: list[MaterialStatus]) -> list[Material]:
    """The materials of open 容缺 commitments that are still not provided."""
    provided = {s.requirement.pk for s in checklist if s.provided is not None}
    return [
        m
        for c in open_commitments(case, Commitment.Kind.DEFICIENCY)
        for m in c.materials.all()
        if m.pk not in provided
    ]


def case_page_context(case: Case, viewer: Any, *, staff: bool) -> dict[str, Any]:
    """Everything a case page shows; `case` comes from `cases.selectors.get_case_for`."""
    definition = definition_of(case)
    view = case_view(case, viewer)
    checklist = material_checklist(case)
    supplement = open_supplement(case)
    return {
        "case": case,
        "view": view,
        "definition": definition,
        "timeline": timeline(case, definition, staff=staff),
        "form_rows": form_rows(case, view["form"]),
        "checklist": checklist,
        "supplement": supplement,
        "supplement_materials": list(supplement.materials.all()) if supplement else [],
        "deficiency_missing": missing_deficiency_materials(case, checklist),
        "open_deficiency": open_commitments(case, Commitment.Kind.DEFICIENCY),
        "open_verifications": open_verifications(case),
        "necessity_labels": NECESSITY_LABELS,
        "covered_labels": COVERED_LABELS,
        "provisional_explanation": PROVISIONAL_EXPLANATION,
        "warning_text": WARNING_TEXT.get(case.warning, ""),
        "allowed": {a["name"]: a for a in view["allowed_actions"]},
        "shipments": list(shipments_for_case(case.number)),
        # 缴费: the case's payments, newest first; the one to pay while the case waits for it.
        **payment_context(case, definition),
    }


def payment_context(case: Case, definition: Definition) -> dict[str, Any]:
    payments = payments_for_case(case.number)
    due = next((p for p in payments if p.is_due), None)
    # Before submitting: what the applicant will be asked to pay (cases/payment.py).
    before = definition.has_tag(case.state, "before_submission") and collects_here(case)
    fees = lines_due(case) if before else []
    return {
        # 核定收费: the department says which of the listed fees apply, after submission.
        "fees_assessed": [
            f"{fee.get('name', '')}（{fee.get('amount', '')}{' 元' if fee_unit(fee) else ''}）"
            for fee in listed_fees(case.item_version)
        ]
        if before and needs_assessment(case.item_version)
        else [],
        "payments": payments,
        "payment_due": due if due and definition.has_tag(case.state, "awaiting_payment") else None,
        "fees_due": [line.as_dict() for line in fees],
        "fees_total": f"{sum(line.amount for line in fees):.2f}",
    }


# Commitments offered on an application (容缺受理, 告知承诺) -------------------------------------


def deficiency_materials(version: ItemVersion) -> list[Material]:
    """The materials the item allows to be supplied later under 容缺受理."""
    return [
        m for m in version.materials.all() if m.necessity == Material.Necessity.DEFICIENCY_ALLOWED
    ]


def offers_notification(version: ItemVersion) -> bool:
    return version.allows_commitment and any(m.commitment_allowed for m in version.materials.all())


def offers_commitments(version: ItemVersion) -> bool:
    return bool(deficiency_materials(version)) or offers_notification(version)


def deficiency_hint(case: Case) -> str:
    """Under the date of a 容缺 commitment, before any error: the dates it may take."""
    limit = time_limit(case.item_version.promised_limit, case.item_version.promised_limit_unit)
    window = deficiency_due_window(case)
    return f"{window.hint}：今天之后、承诺办结时限（{limit}）届满之前。"


def commitment_options(case: Case) -> dict[str, Any]:
    """Which commitments the case's item offers, which are signed, and whether the
    applicant's credit record excludes them (the service refuses then anyway)."""
    version = case.item_version
    signed = {c.kind: c for c in case.commitments.all()}
    notification = offers_notification(version)
    return {
        "deficiency_materials": deficiency_materials(version),
        "offers_notification": notification,
        "notice": commitment_notice(version) if notification else "",
        "signed_deficiency": signed.get(Commitment.Kind.DEFICIENCY),
        "signed_notification": signed.get(Commitment.Kind.NOTIFICATION),
        "credit_excluded": has_false_commitment(
            person=case.applicant_person, company=case.applicant_company
        ),
    }
