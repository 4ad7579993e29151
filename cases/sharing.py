"""Cases and data sharing (sharing/, floor 3, never imports cases): the check a sharing
call relies on — does this case concern that person or company? — registered with the
sharing app in `CasesConfig.ready()`."""

from __future__ import annotations

from accounts.models import Company
from cases.models import Case


def case_concerns(case_number: str, subject_hash: str) -> bool | None:
    """Whether the case `case_number` of this node has the subject (by keyed hash of its
    ID number or 统一社会信用代码) as its applicant; None when the case is not here."""
    case = (
        Case.objects.filter(number=case_number)
        .select_related("applicant_person", "applicant_company")
        .first()
    )
    if case is None:
        return None
    if case.applicant_person is not None:
        return bool(case.applicant_person.id_number_hash == subject_hash)
    company: Company | None = case.applicant_company
    if company is None:
        return False
    from core.personal_data import lookup_hash

    return lookup_hash(company.uscc) == subject_hash
