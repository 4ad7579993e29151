"""The result of a decided case, in the same transaction as the decision:

- the electronic licence an approval issues — a new one, or a re-issue superseding the one
  the holder already holds when the item says its result replaces it (换发、补发、变更);
- otherwise, for a 证明, 批文 or 报告, a sealed result document (licences/documents.py);
- for every refusal (不予受理, 不予许可 / 不予办理), a sealed refusal document with the reasons.

An item whose result cannot be held twice is refused when applying
(`check_result_not_held`), never after the work is done."""

from __future__ import annotations

from accounts.models import Company, Person
from cases import timeline
from cases.models import Case
from cases.workflow import action_label, category_of
from catalog.models import ItemVersion
from core.exceptions import RuleViolation
from core.personal_data import lookup_hash
from core.process import Transition
from licences import documents
from licences.models import Licence
from licences.services import Holder, issue_licence, signing_seal


def holder_of(*, person: Person | None, company: Company | None) -> Holder:
    return Holder.of_person(person) if person is not None else Holder.of_company(company)  # type: ignore[arg-type]


def held_licence(
    version: ItemVersion, *, person: Person | None, company: Company | None
) -> Licence | None:
    """The newest valid licence of the version's result type the applicant holds in this
    node's library, if any."""
    if version.result_licence_type_id is None:
        return None
    holder = holder_of(person=person, company=company)
    return (
        Licence.objects.filter(
            licence_type_id=version.result_licence_type_id,
            holder_code_hash=lookup_hash(holder.code),
            status=Licence.Status.VALID,
        )
        .order_by("-issued_at", "-id")
        .first()
    )


def check_result_not_held(
    version: ItemVersion, *, person: Person | None, company: Company | None
) -> None:
    """Refuse (`result_already_held`) an application whose result the applicant already
    holds and cannot hold twice: the item does not replace it, and its licence type allows
    one valid licence per holder. Checked wherever a case is opened and when it is
    submitted, so the refusal comes before anyone works on it."""
    licence_type = version.result_licence_type
    if (
        licence_type is None
        or licence_type.allow_multiple
        or version.held_result == ItemVersion.HeldResult.REPLACE
    ):
        return
    held = held_licence(version, person=person, company=company)
    if held is not None:
        raise RuleViolation(
            "result_already_held",
            f"申请人已持有有效的“{licence_type.name}”（{held.identifier}），"
            f"该事项不能重复申请；如需换发、补发，请申请相应的换发、补发事项",
            status=409,
        )


def issue_result_licence(t: Transition[Case]) -> None:
    """Effect of approving: an item whose result is a licence gets it now — face data from
    the application form, the applicant as holder, the handling organisation's seal. An
    item whose result replaces a held licence supersedes it (the old version then verifies
    as 已换发). If it cannot be issued, the decision does not happen either. Only the
    handling node issues it; its action reports the licence to the receiving node."""
    case = t.process
    version = case.item_version
    if not case.handling_org.is_local:
        return
    if version.result_licence_type is None:
        kind = documents.DOCUMENT_TYPES.get(version.result_type)
        if kind is not None and kind.key in DOCUMENT_RESULTS:
            issue_result_document(t, kind)
        return
    licence_type = version.result_licence_type
    form = case.form_data or {}
    face = {f["name"]: form[f["name"]] for f in licence_type.face_fields if f.get("name") in form}
    supersedes = None
    if version.held_result == ItemVersion.HeldResult.REPLACE:
        held = held_licence(version, person=case.applicant_person, company=case.applicant_company)
        if held is not None:
            supersedes = Licence.objects.select_for_update().get(pk=held.pk)
    licence = issue_licence(
        licence_type=licence_type,
        holder=holder_of(person=case.applicant_person, company=case.applicant_company),
        issuer=case.handling_org,
        face_data=face,
        case_number=case.number,
        actor=t.actor,
        supersedes=supersedes,
    )
    t.done.add(f"issued:{licence.identifier}")
    note = f"签发{licence_type.name}，电子证照标识 {licence.identifier}"
    if supersedes is not None:
        note += f"（换发，原证照 {supersedes.identifier} 已作废）"
    timeline.record_event(
        case,
        actor=t.actor,
        action="issue_licence",
        organisation=case.handling_org,
        note=note,
        data={"identifier": licence.identifier}
        | ({"supersedes": supersedes.identifier} if supersedes else {}),
    )


# 证明, 批文 and 报告 without a licence type of their own; 其他 (money paid, a record
# changed) has no document.
DOCUMENT_RESULTS = frozenset(
    {documents.CERTIFICATE.key, documents.APPROVAL.key, documents.REPORT.key}
)


def issue_result_document(t: Transition[Case], kind: documents.DocumentType) -> Licence | None:
    """Issue the sealed result document of the decision `t` takes, to the applicant, with
    the handling organisation's seal. An organisation without an active seal cannot seal
    it: the decision stands (a refusal must never wait for a seal) and the timeline says
    that the electronic document is owed."""
    case = t.process
    if not case.handling_org.is_local:
        return None
    try:
        signing_seal(case.handling_org)
    except RuleViolation:
        timeline.record_event(
            case,
            actor=t.actor,
            action="result_document_owed",
            organisation=case.handling_org,
            note=f"{case.handling_org.name}没有有效的电子印章，未能出具电子{kind.name}",
        )
        return None
    version = case.item_version
    face = {
        "item_name": version.name,
        "result_name": version.result_name if kind.key in DOCUMENT_RESULTS else "",
        "case_number": case.number,
        "decision": action_label(case, t.action),
        "reasons": t.note,
        "decided_on": t.today.isoformat(),
    }
    licence = issue_licence(
        licence_type=documents.document_licence_type(kind),
        holder=holder_of(person=case.applicant_person, company=case.applicant_company),
        issuer=case.handling_org,
        face_data=face,
        case_number=case.number,
        actor=t.actor,
    )
    timeline.record_event(
        case,
        actor=t.actor,
        action="issue_result_document",
        organisation=case.handling_org,
        note=f"出具{kind.name}，电子证照标识 {licence.identifier}",
        data={"identifier": licence.identifier},
    )
    t.done.add(f"issued:{licence.identifier}")
    return licence


def issue_refusal_document(t: Transition[Case]) -> None:
    """Every refusal gets its sealed document: entering a state whose outcome is
    `not_accepted` (不予受理) or `denied` (不予许可 on a 行政许可 item, 不予办理 otherwise),
    with the reasons given. Called by the engine for every local change of state."""
    outcomes = t.definition.tag_values(t.action.to, "outcome")
    if "not_accepted" in outcomes:
        kind = documents.NOT_ACCEPTED
    elif "denied" in outcomes:
        kind = documents.DENIED if category_of(t.process) == "01" else documents.NOT_GRANTED
    else:
        return
    issue_result_document(t, kind)
