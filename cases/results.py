"""The result of a decided case: the electronic licence an approval issues, in the same
transaction as the decision."""

from __future__ import annotations

from cases import timeline
from cases.models import Case
from catalog.models import ItemVersion
from core.process import Transition
from licences.services import Holder, issue_licence


def issue_result_licence(t: Transition[Case]) -> None:
    """Effect of approving: an item whose result is a licence gets it now — face data from
    the application form, the applicant as holder, the handling organisation's seal. If it
    cannot be issued, the decision does not happen either. Only the handling node issues
    it; its action reports the licence to the receiving node."""
    case = t.process
    version = case.item_version
    if version.result_type != ItemVersion.ResultType.LICENCE or version.result_licence_type is None:
        return
    if not case.handling_org.is_local:
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
        actor=t.actor,
    )
    timeline.record_event(
        case,
        actor=t.actor,
        action="issue_licence",
        organisation=case.handling_org,
        note=f"签发{licence_type.name}，电子证照标识 {licence.identifier}",
        data={"identifier": licence.identifier},
    )
