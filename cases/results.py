"""The result of a decided case: the electronic licence an approval issues, in the same
transaction as the decision — a new one, or a re-issue superseding the one the holder
already holds when the item says its result replaces it (换发、补发、变更). An item whose
result cannot be held twice is refused when applying (`check_result_not_held`), never
after the work is done."""

from __future__ import annotations

from accounts.models import Company, Person
from cases import timeline
from cases.models import Case
from catalog.models import ItemVersion
from core.exceptions import RuleViolation
from core.personal_data import lookup_hash
from core.process import Transition
from licences.models import Licence
from licences.services import Holder, issue_licence


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
    if version.result_licence_type is None or not case.handling_org.is_local:
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
