"""The staff console (工作台): the scoped case inbox, one case with the actions allowed to
the viewer, revealing personal data with a purpose, 告知承诺 verification, and window
intake (a clerk applies on behalf of a person or a company, 代办帮办 flagged).

Only accounts with a staff role enter (others get a Chinese 403 page); every read starts
from `cases.selectors.cases_for`, so a case outside the viewer's organisations is a 404.
Every change is one `cases.services` call; a `RuleViolation` is shown in Chinese with the
status it carries (403 not allowed, 409 not in this state, 422 bad input).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import Role, StaffRole
from cases import bundles, joint, services, shipping
from cases import commitments as case_commitments
from cases.engine import take_action
from cases.materials import read_material
from cases.models import Case
from cases.selectors import (
    ScopedCases,
    get_case_for,
    listing_rows,
    material_reader,
    may_reveal_personal_data,
    row_applicant,
)
from cases.sharing import consent_to_sharing, sharing_rows
from cases.workflow import action_label, definition_of, has_tag, state_label
from catalog.selectors import ItemFilter, current_version_of, filter_item_versions, form_fields_of
from console.forms import (
    FINISHED,
    OPEN,
    ActionForm,
    CounterPaymentForm,
    InboxFilterForm,
    IntakeApplicantForm,
    IntakeSearchForm,
    RevealForm,
    ShipmentForm,
    StepResultForm,
    VerificationForm,
)
from core import blobs
from core.exceptions import NotFound, RuleViolation
from delivery.carriers import Party
from delivery.models import Shipment
from halls.selectors import received_items, window_receives, windows_of_clerk
from portal.case_display import (
    WARNING_TEXT,
    case_page_context,
    commitment_options,
    deficiency_hint,
    form_rows,
)
from portal.case_forms import (
    ApplicationForm,
    DeficiencyForm,
    DeliveryForm,
    MaterialUploadForm,
    NotificationCommitmentForm,
    foreign_licence_form,
    upload_hint,
    use_foreign_licence,
)
from portal.forms import add_problems, violation_context

CASES_PER_PAGE = 20
ITEMS_PER_PAGE = 20

P = ParamSpec("P")


def staff_only(
    view: Callable[Concatenate[HttpRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Sign-in required; then a staff role (the test of `cases.selectors.is_staff_member`,
    with the roles kept on the request for the header: console/context_processors.py).
    Refusals, a NotFound included, become the console's pages (portal/middleware.py)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        roles = list(
            StaffRole.objects.filter(user=request.user).select_related("organisation", "division")
        )
        if not roles:
            return render(
                request,
                "console/forbidden.html",
                {
                    "message": "工作台仅供政务服务工作人员使用。您的账号没有工作人员角色。",
                    "base_template": "portal/base.html",
                },
                status=403,
            )
        request.staff_roles = roles  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def _roles(request: HttpRequest) -> list[StaffRole]:
    return list(getattr(request, "staff_roles", []))


def _clerk_role(request: HttpRequest) -> StaffRole | None:
    """The window-clerk role the clerk applies under (`services.apply` takes the first)."""
    return next((r for r in _roles(request) if r.role == Role.WINDOW_CLERK), None)


# Inbox --------------------------------------------------------------------------------------


def _inbox_cases(request: HttpRequest, values: dict[str, Any]) -> ScopedCases:
    status = values.get("status", OPEN)
    # Only what a row shows (decision 163): with all of `case_queryset`'s twelve tables the
    # planner's time alone exceeded the query's over millions of cases.
    return ScopedCases(
        request.user,
        listing_rows(),
        roles=_roles(request),
        finished={OPEN: False, FINISHED: True}.get(status),
        state=values.get("state") or "",
        warning=values.get("warning") or "",
    )


@staff_only
@require_safe
def inbox(request: HttpRequest) -> HttpResponse:
    """办件收件箱: the cases in the viewer's scope, most urgent first, with warnings."""
    form = InboxFilterForm(request.GET)
    form.is_valid()
    values = form.valid_values()
    # Paged on the scope's union alone (decision 310), then the page's 20 cases by id.
    cases = _inbox_cases(request, values)
    page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {
            "case": case,
            "state_label": state_label(case),
            "applicant": row_applicant(case, request.user),
            "warning_text": WARNING_TEXT.get(case.warning, ""),
        }
        for case in page.object_list
    ]
    totals = cases.open_totals()
    context = {"form": form, "page": page, "rows": rows, "totals": totals}
    return render(request, "console/inbox.html", context)


# One case -----------------------------------------------------------------------------------


def _action_forms(case: Case, view: dict[str, Any], bound: ActionForm | None) -> list[ActionForm]:
    definition = definition_of(case)
    forms_ = []
    for allowed in view["allowed_actions"]:
        if bound is not None and bound.action.name == allowed["name"]:
            forms_.append(bound)
            continue
        spec = definition.action(allowed["name"], case.state)
        if spec is not None:
            forms_.append(ActionForm(action=spec, label=allowed["label"], case=case))
    return forms_


def _intake_steps(case: Case) -> list[dict[str, Any]]:
    """The window's steps before a case leaves it: the states before submission, with
    what is done in each (their hints), the current one marked."""
    definition = definition_of(case)
    return [
        {"hint": definition.states[name].hint, "current": name == case.state}
        for name in definition.tagged("before_submission")
        if definition.states[name].hint
    ]


def _render_case(
    request: HttpRequest,
    number: str,
    *,
    status: int = 200,
    error: dict[str, Any] | None = None,
    bound: ActionForm | None = None,
    **extra: Any,
) -> HttpResponse:
    case = get_case_for(request.user, number)
    context = {**case_page_context(case, request.user, staff=True)}
    view = context["view"]
    clerk = any(
        r.role == Role.WINDOW_CLERK and r.organisation_id == case.receiving_org_id
        for r in _roles(request)
    )
    before_submission = has_tag(case, "before_submission")
    upload_materials: list[Any] = []
    if clerk:
        if has_tag(case, "materials_open"):
            upload_materials = [s.requirement for s in context["checklist"]]
        else:
            upload_materials = list(context["deficiency_missing"])
    context.update(
        {
            "error": error,
            "action_forms": _action_forms(case, view, bound),
            "may_reveal": may_reveal_personal_data(case, request.user),
            "material_view": "console" if material_reader(case, request.user) else "",
            "reveal_form": RevealForm(),
            "verification_forms": [
                (c, VerificationForm(commitment_id=c.pk)) for c in context["open_verifications"]
            ],
            "upload_form": MaterialUploadForm(materials=upload_materials, paper_custody=True)
            if upload_materials
            else None,
            "upload_hint": upload_hint(),
            "show_custody": True,
            "sign_commitments": clerk and before_submission,
            "intake_steps": _intake_steps(case)
            if clerk and before_submission and case.channel == Case.Channel.WINDOW
            else [],
            "form_note": "",
            "bundle_link": bundles.bundle_link_of(case),
        }
    )
    context["foreign_form"] = foreign_licence_form(case) if upload_materials else None
    # 窗口收费: the clerk records a payment taken in cash or by POS (console/payment_views.py).
    if clerk and context["payment_due"] and "payment_form" not in extra:
        context["payment_form"] = CounterPaymentForm()
    context["sharing"] = sharing_rows(case) if upload_materials else {}
    context["sharing_consent_needed"] = any(
        row.offer.personal and not row.consented and row.obtained is None
        for row in context["sharing"].values()
    )
    context["step_forms"] = [
        (step, StepResultForm(step_id=step.pk))
        for step in joint.actionable_steps(case, request.user)
    ]
    purposes = shipping.postable(case, request.user)
    if purposes and "shipment_form" not in extra:
        context["shipment_form"] = _shipment_form(case, purposes)
    if context["sign_commitments"]:
        context.update(commitment_options(case))
        context["deficiency_form"] = DeficiencyForm(
            materials=context["deficiency_materials"], limit_hint=deficiency_hint(case)
        )
        context["notification_form"] = NotificationCommitmentForm()
        context["on_behalf"] = True
    context.update(extra)
    return render(request, "console/case.html", context, status=status)


render_case = _render_case


def _shipment_form(case: Any, purposes: list[str], data: Any = None) -> ShipmentForm:
    labels = dict(Shipment.Purpose.choices)
    to_result = purposes == [Shipment.Purpose.RESULT]
    target = case.receiving_org if to_result else case.handling_org
    return ShipmentForm(
        data,
        purposes=[(p, labels[p]) for p in purposes],
        initial={
            "recipient_name": target.name,
            "contents": "申请材料原件" if not to_result else "办理结果（证照原件）",
        },
    )


@staff_only
@require_POST
def post_shipment(request: HttpRequest, number: str) -> HttpResponse:
    """Post the case's paper (`cases.shipping.post`)."""
    case = get_case_for(request.user, number)
    purposes = shipping.postable(case, request.user)
    if not purposes:
        raise RuleViolation("action_forbidden", "当前不能为该办件寄递", status=403)
    form = _shipment_form(case, purposes, request.POST)
    if not form.is_valid():
        return _render_case(request, number, status=422, shipment_form=form)
    data = form.cleaned_data
    purpose = data["purpose"]
    own = case.handling_org if purpose == Shipment.Purpose.RESULT else case.receiving_org
    try:
        shipment = shipping.post(
            case,
            purpose=purpose,
            sender=Party(own.name, data["sender_mobile"], data["sender_address"]),
            recipient=Party(
                data["recipient_name"], data["recipient_mobile"], data["recipient_address"]
            ),
            to_window=data["to_window"],
            contents=data["contents"],
            actor=request.user,
        )
    except RuleViolation as exc:
        add_problems(form, exc, fields={})
        return _render_case(
            request, number, status=exc.status, error=violation_context(exc), shipment_form=form
        )
    messages.success(request, f"已下单寄递，运单号 {shipment.tracking_number}。")
    return HttpResponseRedirect(reverse("console:case", args=[number]) + "#shipments")


@staff_only
@require_POST
def sharing_consent(request: HttpRequest, number: str) -> HttpResponse:
    """The applicant at the window has seen what will be read and consents; the clerk
    records it (`cases.sharing.consent_to_sharing`)."""
    case = get_case_for(request.user, number)
    materials = consent_to_sharing(case, actor=request.user)
    messages.success(request, "已记录申请人同意共享获取：" + "、".join(m.name for m in materials))
    return HttpResponseRedirect(reverse("console:case", args=[number]) + "#sharing")


@staff_only
@require_POST
def foreign_licence(request: HttpRequest, number: str) -> HttpResponse:
    """The window uses a licence another province issued in place of a material."""
    case = get_case_for(request.user, number)
    use_foreign_licence(request, case)
    return HttpResponseRedirect(reverse("console:case", args=[number]) + "#materials")


@staff_only
@require_POST
def step_result(request: HttpRequest, number: str, step_id: int) -> HttpResponse:
    """A 多地联办 step's organisation records its result (`cases.joint.complete_step`)."""
    case = get_case_for(request.user, number)
    return _row_verdict(
        request,
        number,
        row=next((s for s in case.steps.all() if s.pk == step_id), None),
        missing=("step_not_found", "联办环节不存在"),
        form=StepResultForm(request.POST, step_id=step_id),
        context_key="step_forms",
        apply=lambda step, data: joint.complete_step(
            step, passed=data["passed"], note=data["note"], actor=request.user
        ),
        done=lambda step: f"已记录环节“{step.name}”的办理结果。",
        anchor="#steps",
    )


def _row_verdict(
    request: HttpRequest,
    number: str,
    *,
    row: Any,
    missing: tuple[str, str],
    form: Any,
    context_key: str,
    apply: Callable[[Any, dict[str, Any]], object],
    done: Callable[[Any], str],
    anchor: str = "",
) -> HttpResponse:
    """A verdict with a note on one row of a case (a commitment, a joint step): the form
    again with its reasons when refused, the case page when recorded."""
    if row is None:
        raise NotFound(*missing)
    forms_: dict[str, Any] = {context_key: [(row, form)]}
    if not form.is_valid():
        return _render_case(request, number, status=422, **forms_)
    try:
        apply(row, form.cleaned_data)
    except RuleViolation as exc:
        add_problems(form, exc, fields={"code:note_required": "note"})
        return _render_case(
            request,
            number,
            status=exc.status,
            error=violation_context(exc),
            **forms_,
        )
    messages.success(request, done(row))
    return HttpResponseRedirect(reverse("console:case", args=[number]) + anchor)


@staff_only
@require_safe
def case_detail(request: HttpRequest, number: str) -> HttpResponse:
    """One case: every section of `case_view`, and a form per action allowed to me."""
    return _render_case(request, number)


@staff_only
@require_safe
def material(request: HttpRequest, number: str, material_id: int) -> HttpResponse:
    """One uploaded material, shown in the page (PDF viewer or image) with its facts; the
    file itself comes from `material_file`, whose every read is logged."""
    case = get_case_for(request.user, number)
    found = next((m for m in case.materials.all() if m.pk == material_id and m.file), None)
    if found is None:
        raise NotFound("material_not_found", "该办件没有这份材料文件")
    if material_reader(case, request.user) is None:
        raise RuleViolation("action_forbidden", "无权查阅该办件的申请材料", status=403)
    return render(
        request,
        "console/material.html",
        {"case": case, "material": found, "inline": found.content_type in blobs.INLINE_TYPES},
    )


@staff_only
@require_safe
def material_file(request: HttpRequest, number: str, material_id: int) -> HttpResponse:
    read = read_material(number, material_id, viewer=request.user)
    m = read.material
    return blobs.file_response(
        read.content, content_type=m.content_type, name=m.original_name, digest=m.sha256
    )


@staff_only
@require_POST
def case_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    """Take one workflow action (`services.take_action`)."""
    case = get_case_for(request.user, number)
    definition = definition_of(case)
    spec = definition.action(action, case.state) or definition.any_action(action)
    if spec is None:
        raise NotFound("action_unknown", f"没有“{action}”这个操作")
    label = action_label(case, spec)
    form = ActionForm(request.POST, action=spec, label=label, case=case)
    if not form.is_valid():
        return _render_case(request, number, status=422, bound=form)
    try:
        take_action(
            case,
            action,
            actor=request.user,
            note=form.cleaned_data.get("note", ""),
            data=form.service_data(),
        )
    except RuleViolation as exc:
        add_problems(form, exc)
        return _render_case(
            request, number, status=exc.status, error=violation_context(exc), bound=form
        )
    messages.success(request, f"已执行“{label}”。")
    return HttpResponseRedirect(reverse("console:case", args=[number]))


@staff_only
@require_POST
def reveal(request: HttpRequest, number: str) -> HttpResponse:
    """查看完整信息: the form in clear, for this response only; the read is logged."""
    case = get_case_for(request.user, number)
    form = RevealForm(request.POST)
    if not form.is_valid():
        return _render_case(request, number, status=422, reveal_form=form)
    try:
        revealed = services.reveal_form(
            case, viewer=request.user, purpose=form.cleaned_data["purpose"]
        )
    except RuleViolation as exc:
        add_problems(form, exc, fields={"code:purpose_required": "purpose"})
        return _render_case(
            request, number, status=exc.status, error=violation_context(exc), reveal_form=form
        )
    return _render_case(
        request,
        number,
        form_rows=form_rows(case, revealed),
        revealed_purpose=form.cleaned_data["purpose"],
        form_note=f"以下为完整信息，仅本次显示；本次查看已记入个人信息访问日志（用途：{form.cleaned_data['purpose']}）。",
    )


@staff_only
@require_POST
def verify(request: HttpRequest, number: str, commitment_id: int) -> HttpResponse:
    """核查 of a 告知承诺 (`case_commitments.record_verification`)."""
    case = get_case_for(request.user, number)
    return _row_verdict(
        request,
        number,
        row=next((c for c in case.commitments.all() if c.pk == commitment_id), None),
        missing=("commitment_not_found", "承诺不存在"),
        form=VerificationForm(request.POST, commitment_id=commitment_id),
        context_key="verification_forms",
        apply=lambda commitment, data: case_commitments.record_verification(
            commitment, truthful=data["truthful"], note=data["note"], actor=request.user
        ),
        done=lambda commitment: "核查结论已记录。",
    )


@staff_only
@require_POST
def upload(request: HttpRequest, number: str) -> HttpResponse:
    """The window records materials: a scan per material and where its paper is kept."""
    case = get_case_for(request.user, number)
    materials = list(case.item_version.materials.all())
    wanted = {int(v) for v in request.POST.getlist("materials") if v.isdigit()}
    if wanted:
        materials = [m for m in materials if m.pk in wanted]
    form = MaterialUploadForm(request.POST, request.FILES, materials=materials, paper_custody=True)
    try:
        uploaded = form.upload(case, request.user) if form.is_valid() else 0
    except RuleViolation as exc:
        return _render_case(request, number, status=exc.status, error=violation_context(exc))
    if uploaded:
        messages.success(request, f"已登记 {uploaded} 份材料。")
    if form.errors:
        return _render_case(request, number, status=422, upload_form=form)
    if not uploaded:
        messages.warning(request, "没有选择文件。")
    return HttpResponseRedirect(reverse("console:case", args=[number]) + "#materials")


@staff_only
@require_POST
def sign_commitment(request: HttpRequest, number: str) -> HttpResponse:
    """A clerk records the applicant's 容缺受理 or 告知承诺 signed at the window."""
    case = get_case_for(request.user, number)
    kind = request.POST.get("kind")
    if kind == "deficiency":
        options = commitment_options(case)
        form: DeficiencyForm | NotificationCommitmentForm = DeficiencyForm(
            request.POST,
            materials=options["deficiency_materials"],
            limit_hint=deficiency_hint(case),
        )
    else:
        form = NotificationCommitmentForm(request.POST)
    bound: dict[str, Any] = {_form_key(kind): form}
    if not form.is_valid():
        return _render_case(request, number, status=422, **bound)
    try:
        if isinstance(form, DeficiencyForm):
            case_commitments.sign_deficiency_commitment(
                case,
                materials=form.chosen(),
                due_date=form.cleaned_data["due_date"],
                actor=request.user,
            )
        else:
            case_commitments.sign_notification_commitment(case, actor=request.user)
    except RuleViolation as exc:
        add_problems(form, exc, fields={"code:deficiency_due_beyond_limit": "due_date"})
        return _render_case(
            request,
            number,
            status=exc.status,
            error=violation_context(exc),
            **bound,
        )
    messages.success(request, "已记录申请人签署的承诺书。")
    return HttpResponseRedirect(reverse("console:case", args=[number]) + "#commitments")


def _form_key(kind: str | None) -> str:
    return "deficiency_form" if kind == "deficiency" else "notification_form"


# Window intake ------------------------------------------------------------------------------


def _clerk_only(request: HttpRequest) -> HttpResponse | None:
    if _clerk_role(request) is None:
        return render(
            request,
            "console/forbidden.html",
            {"message": "窗口收件仅限窗口人员使用。"},
            status=403,
        )
    return None


@staff_only
@require_safe
def intake(request: HttpRequest) -> HttpResponse:
    """窗口收件, step 1: find the item the applicant came for."""
    refused = _clerk_only(request)
    if refused:
        return refused
    form = IntakeSearchForm(request.GET)
    form.is_valid()
    query = form.valid_values().get("q")
    versions = filter_item_versions(ItemFilter(q=query)).select_related("item__organisation")
    windows = list(windows_of_clerk(request.user))
    if form.valid_values().get("received", IntakeSearchForm.MINE) == IntakeSearchForm.MINE:
        versions = versions.filter(received_items(windows))
    page = Paginator(versions, ITEMS_PER_PAGE).get_page(request.GET.get("page"))
    clerk = _clerk_role(request)
    context = {
        "form": form,
        "page": page,
        "clerk_org": clerk.organisation if clerk else None,
        "windows": windows,
    }
    return render(request, "console/intake.html", context)


@staff_only
@require_http_methods(["GET", "HEAD", "POST"])
def intake_apply(request: HttpRequest, code: str) -> HttpResponse:
    """窗口收件, step 2: the applicant (代办帮办 if so) and the application form; then the
    case page, where the clerk records materials, the checks, and submits or forwards."""
    refused = _clerk_only(request)
    if refused:
        return refused
    version = current_version_of(code)
    data = request.POST if request.method == "POST" else None
    windows = [(w, window_receives(w, version.item)) for w in windows_of_clerk(request.user)]
    applicant_form = IntakeApplicantForm(data, audience=version.audience, windows=windows)
    form = ApplicationForm(data, fields=form_fields_of(version), own_data=False)
    delivery_form = DeliveryForm(data, version=version)
    key = (request.POST.get("idempotency_key") or uuid.uuid4().hex)[:64]
    status, error = 200, None
    if request.method == "POST":
        status = 422
        # Every form checked, so every error shows at once.
        if all([applicant_form.is_valid(), form.is_valid(), delivery_form.is_valid()]):
            try:
                case = services.apply(
                    actor=request.user,
                    item_version=version,
                    form_data=form.answers(),
                    on_behalf_of=applicant_form.on_behalf_of(),
                    assisted=applicant_form.cleaned_data["assisted"],
                    idempotency_key=key,
                    window=applicant_form.chosen_window(),
                    delivery=delivery_form.delivery(),
                )
            except RuleViolation as exc:
                status = exc.status
                target = applicant_form.field_for(exc.code)
                if exc.code == "form_invalid":
                    add_problems(form, exc)
                elif target:
                    applicant_form.add_error(target, exc.message)
                else:
                    error = violation_context(exc)
            else:
                messages.success(
                    request,
                    f"已创建办件 {case.number}。请登记申请材料，核验身份并进行形式审查后提交。",
                )
                return HttpResponseRedirect(reverse("console:case", args=[case.number]))
    receiving = next((w for w, receives in windows if receives), None)
    clerk_org = receiving.organisation if receiving else None
    context = {
        "version": version,
        "item": version.item,
        "applicant_form": applicant_form,
        "form": form,
        "delivery_form": delivery_form,
        "idempotency_key": key,
        "error": error,
        "clerk_org": clerk_org,
        "receiving_window": receiving,
        "has_windows": bool(windows),
        "is_proxy": clerk_org is not None and clerk_org.pk != version.item.organisation_id,
    }
    return render(request, "console/intake_form.html", context, status=status)
