"""The console's licence library (证照库) pages: the licences my organisations issued, one
licence with its history and revocation, my organisations' electronic seals (制作新印章,
吊销), and the library's coverage (证照库入库率).

Reads start from `licences.selectors.issued_licences_for` and `seals_of` (scoped to the
viewer's organisations; a supervisor's licence list covers their division); every change is
one service that checks the role itself — `revoke_licence_as_staff` (approvers and
organisation admins of the issuer), `create_seal_as_staff` and `revoke_seal_as_staff`
(organisation admins). A refusal is shown in Chinese with its status (403, 409, 422).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST, require_safe

from accounts.models import Role
from cases.selectors import COVERAGE_ROLES, CoverageRow, licence_coverage_for
from console.forms import LicenceFilterForm, RevokeLicenceForm, RevokeSealForm, SealForm
from console.views import _roles, staff_only
from core.exceptions import NotFound, RuleViolation
from core.models import Organisation
from core.personal_data import mask_name
from core.signing import Algorithm
from licences.models import Licence, Seal
from licences.rendering import verify_url
from licences.selectors import (
    effective_status,
    events_of,
    get_issued_licence_for,
    issued_licences_for,
    seals_of,
)
from licences.services import create_seal_as_staff, revoke_licence_as_staff, revoke_seal_as_staff
from portal.forms import add_problems, violation_context
from portal.licence_display import PDF_UNAVAILABLE, event_rows, pdf_response, seal_image, validity

LICENCES_PER_PAGE = 20
EVENTS_PER_PAGE = 50
REVOKER_ROLES = {Role.APPROVER, Role.ORG_ADMIN}


def holder_display(licence: Licence) -> str:
    """A person's name masked (staff are not the holder); a company's name as is."""
    if licence.holder_code_type == Licence.HolderCodeType.ID_NUMBER:
        return mask_name(licence.holder_name)
    return licence.holder_name


def _revoker_orgs(request: HttpRequest) -> set[int]:
    return {r.organisation_id for r in _roles(request) if r.role in REVOKER_ROLES}


# Licences -----------------------------------------------------------------------------------


@staff_only
@require_safe
def licences(request: HttpRequest) -> HttpResponse:
    """电子证照: what my organisations issued (a supervisor: their division), newest first."""
    form = LicenceFilterForm(request.GET)
    form.is_valid()
    qs = issued_licences_for(request.user)
    if status := form.valid_values().get("status"):
        qs = qs.filter(status=status)
    page = Paginator(qs, LICENCES_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {"licence": licence, "holder": holder_display(licence), "status": effective_status(licence)}
        for licence in page.object_list
    ]
    context = {"form": form, "page": page, "rows": rows}
    return render(request, "console/licences.html", context)


def _render_licence(
    request: HttpRequest,
    identifier: str,
    *,
    status: int = 200,
    error: dict[str, Any] | None = None,
    form: RevokeLicenceForm | None = None,
) -> HttpResponse:
    licence = get_issued_licence_for(request.user, identifier)
    events = Paginator(events_of(licence), EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "licence": licence,
        "holder": holder_display(licence),
        "status": effective_status(licence),
        "validity": validity(licence.valid_from, licence.valid_until),
        "verify_link": verify_url(licence.token),
        "seal_image": seal_image(licence.seal, size=120),
        "events": events,
        "event_rows": event_rows(events.object_list, me=request.user),
        "may_revoke": licence.issuer_id in _revoker_orgs(request),
        "revoke_form": form or RevokeLicenceForm(),
        "error": error,
    }
    return render(request, "console/licence.html", context, status=status)


@staff_only
@require_safe
def licence_detail(request: HttpRequest, identifier: str) -> HttpResponse:
    """One licence: its facts (holder masked), seal, every event, and revocation."""
    return _render_licence(request, identifier)


@staff_only
@require_POST
def revoke_licence(request: HttpRequest, identifier: str) -> HttpResponse:
    """撤销 (`licences.services.revoke_licence_as_staff`: approvers and org admins of the
    issuing organisation; anyone else gets its 403 message)."""
    licence = get_issued_licence_for(request.user, identifier)
    form = RevokeLicenceForm(request.POST)
    if not form.is_valid():
        return _render_licence(request, identifier, status=422, form=form)
    try:
        revoke_licence_as_staff(licence, reason=form.cleaned_data["reason"], actor=request.user)
    except RuleViolation as exc:
        add_problems(form, exc, fields={"code:reason_required": "reason"})
        return _render_licence(
            request, identifier, status=exc.status, error=violation_context(exc), form=form
        )
    messages.success(request, f"已撤销电子证照 {licence.identifier}，核验时将显示“已撤销”。")
    return HttpResponseRedirect(reverse("console:licence", args=[licence.identifier]))


@staff_only
@require_safe
def licence_pdf(request: HttpRequest, identifier: str) -> HttpResponse:
    """The licence's PDF for the issuing staff (logged as a download)."""
    licence = get_issued_licence_for(request.user, identifier)
    return pdf_response(request, licence) or _render_licence(
        request, identifier, status=503, error=PDF_UNAVAILABLE
    )


# Seals --------------------------------------------------------------------------------------


@dataclass
class SealRow:
    seal: Seal
    image: SafeString
    status: str
    status_label: str
    in_use: bool
    revoke_form: RevokeSealForm | None


@dataclass
class SealGroup:
    """One of my organisations with its seals; the forms only for its organisation admins."""

    organisation: Organisation
    is_admin: bool
    create_form: SealForm | None
    seals: list[SealRow] = field(default_factory=list)


def _seal_status(seal: Seal, now: Any) -> tuple[str, str]:
    if seal.status == Seal.Status.REVOKED:
        return "revoked", "已吊销"
    if seal.valid_until <= now:
        return "expired", "已过期"
    if seal.valid_from > now:
        return "pending", "未启用"
    return "active", "有效"


def _my_organisations(request: HttpRequest) -> dict[int, Organisation]:
    return {r.organisation_id: r.organisation for r in _roles(request)}


def _render_seals(
    request: HttpRequest,
    *,
    status: int = 200,
    error: dict[str, Any] | None = None,
    create_form: SealForm | None = None,
    revoke_form: RevokeSealForm | None = None,
) -> HttpResponse:
    organisations = _my_organisations(request)
    admin_of = {r.organisation_id for r in _roles(request) if r.role == Role.ORG_ADMIN}
    groups = {
        pk: SealGroup(
            organisation=org,
            is_admin=pk in admin_of,
            create_form=(
                create_form
                if create_form is not None and create_form.organisation_id == pk
                else SealForm(organisation_id=pk)
            )
            if pk in admin_of
            else None,
        )
        for pk, org in sorted(organisations.items(), key=lambda item: item[1].name)
    }
    now = timezone.now()
    for seal in seals_of(organisations):
        group = groups[seal.organisation_id]
        code, label = _seal_status(seal, now)
        in_use = code == "active" and not any(row.in_use for row in group.seals)
        form = None
        if group.is_admin and seal.status == Seal.Status.ACTIVE:
            bound = revoke_form is not None and revoke_form.seal_id == seal.pk
            form = revoke_form if bound else RevokeSealForm(seal_id=seal.pk)
        group.seals.append(SealRow(seal, seal_image(seal, size=120), code, label, in_use, form))
    context = {"groups": list(groups.values()), "error": error}
    return render(request, "console/seals.html", context, status=status)


@staff_only
@require_safe
def seals(request: HttpRequest) -> HttpResponse:
    """电子印章 of my organisations, with 制作新印章 and 吊销 for their organisation admins."""
    return _render_seals(request)


@staff_only
@require_POST
def create_seal(request: HttpRequest) -> HttpResponse:
    """制作新印章 (`licences.services.create_seal_as_staff`: organisation admins only)."""
    organisation = _my_organisations(request).get(
        int(request.POST["organisation"]) if request.POST.get("organisation", "").isdigit() else 0
    )
    if organisation is None:
        raise NotFound("organisation_not_found", "机构不存在或您不是该机构的工作人员")
    form = SealForm(request.POST, organisation_id=organisation.pk)
    if not form.is_valid():
        return _render_seals(request, status=422, create_form=form)
    try:
        seal = create_seal_as_staff(
            organisation,
            actor=request.user,
            name=form.cleaned_data["name"],
            algorithm=Algorithm(form.cleaned_data["algorithm"]),
            years=form.cleaned_data["years"],
        )
    except RuleViolation as exc:
        add_problems(form, exc)
        return _render_seals(
            request, status=exc.status, error=violation_context(exc), create_form=form
        )
    messages.success(
        request, f"已制作电子印章“{seal.name}”（{seal.algorithm}），公钥指纹 {seal.fingerprint}。"
    )
    return HttpResponseRedirect(reverse("console:seals") + f"#seal-{seal.pk}")


@staff_only
@require_POST
def revoke_seal(request: HttpRequest, seal_id: int) -> HttpResponse:
    """吊销 a seal (`licences.services.revoke_seal_as_staff`: organisation admins only)."""
    seal = seals_of(_my_organisations(request)).filter(pk=seal_id).first()
    if seal is None:
        raise NotFound("seal_not_found", f"印章 {seal_id} 不存在或不属于您的机构")
    form = RevokeSealForm(request.POST, seal_id=seal.pk)
    if not form.is_valid():
        return _render_seals(request, status=422, revoke_form=form)
    try:
        revoke_seal_as_staff(seal, reason=form.cleaned_data["reason"], actor=request.user)
    except RuleViolation as exc:
        add_problems(form, exc, fields={"code:reason_required": "reason"})
        return _render_seals(
            request, status=exc.status, error=violation_context(exc), revoke_form=form
        )
    messages.success(request, f"已吊销电子印章“{seal.name}”。它签发的证照核验时将显示“已撤销”。")
    return HttpResponseRedirect(reverse("console:seals") + f"#seal-{seal.pk}")


# Coverage -----------------------------------------------------------------------------------


def percent(share: float | None) -> str:
    """50%, 66.6%, 100%; "—" when there is nothing to divide. Rounded down, so that a
    library short of one licence in thousands never reads 100%."""
    if share is None:
        return "—"
    return f"{math.floor(share * 1000) / 10:.1f}".removesuffix(".0") + "%"


@dataclass(frozen=True)
class CoverageLine:
    row: CoverageRow
    share: str
    missing: int


@staff_only
@require_safe
def coverage(request: HttpRequest) -> HttpResponse:
    """证照库入库率 (`cases.selectors.licence_coverage_for`): supervisors and org admins."""
    if not any(r.role in COVERAGE_ROLES for r in _roles(request)):
        return render(
            request,
            "console/forbidden.html",
            {"message": "证照库入库率仅供监督人员和机构管理员查看。"},
            status=403,
        )
    rows = licence_coverage_for(request.user)
    approved = sum(r.approved for r in rows)
    with_licence = sum(r.with_licence for r in rows)
    context = {
        "lines": [CoverageLine(r, percent(r.share), r.approved - r.with_licence) for r in rows],
        "total": {
            "approved": approved,
            "with_licence": with_licence,
            "missing": approved - with_licence,
            "share": percent(with_licence / approved if approved else None),
        },
    }
    return render(request, "console/coverage.html", context)
