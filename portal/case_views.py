"""The applicant's pages: applying online (在线申请) in steps, 我的办件, and one case with
what is expected of the applicant (补正, 容缺材料).

Applying is four steps, each a page that works without JavaScript:
1. 填写申请表 — `services.apply` opens a draft case (an idempotency key in the form makes a
   double click harmless);
2. 上传材料 — `material_services.add_material` per file chosen, or `material_services.use_licence` for a
   material a licence in the applicant's wallet can replace (使用电子证照，免提交);
3. 容缺与承诺 — `commitment_services.sign_deficiency_commitment` / `sign_notification_commitment`,
   offered only when the item allows them;
4. 确认提交 — `services.take_action(case, "submit")`.

Every rule is the services'; a `RuleViolation` comes back as a Chinese message on the
page, with the HTTP status it carries (403, 409, 422) and nothing changed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import Company, Person
from accounts.services import has_false_commitment
from cases import commitments as commitment_services
from cases import materials as material_services
from cases import services
from cases.models import Case, CaseMaterial
from cases.selectors import (
    applied_cases,
    get_case_for,
    is_applicant,
    licences_offered,
    material_checklist,
)
from cases.workflow import parsed
from catalog.models import ItemVersion, Material
from catalog.selectors import current_version_of, form_fields_of
from core.exceptions import NotFound, RuleViolation
from federation.directory import is_federated
from licences.selectors import get_wallet_licence
from portal.case_display import case_page_context
from portal.case_forms import (
    ApplicantForm,
    ApplicationForm,
    DeficiencyForm,
    ForeignLicenceForm,
    MaterialUploadForm,
    NoteForm,
    NotificationCommitmentForm,
    licence_replaceable,
    upload_hint,
)
from portal.forms import add_problems
from portal.templatetags.portal_format import time_limit
from portal.views import _catalog_404

CASES_PER_PAGE = 20
# Actions an applicant takes from the case page (submitting has its own step page).
APPLICANT_ACTIONS = {"supplement", "withdraw"}


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    url: str


def _not_found_for_others(request: HttpRequest, number: str) -> Case:
    """The case, if `request.user` applied for it; 404 otherwise (also for staff of the
    handling organisation: their page is the console's)."""
    case = get_case_for(request.user, number)
    if not is_applicant(case, request.user):
        raise NotFound("case_not_found", f"办件 {number} 不存在或无权查看")
    return case


def violation_context(exc: RuleViolation) -> dict[str, Any]:
    """A service's refusal as the page shows it."""
    return {"message": exc.message, "problems": [p.reason for p in exc.problems]}


# Applying -----------------------------------------------------------------------------------


def _applicant_choices(user: Any, version: ItemVersion) -> tuple[list[tuple[str, str]], str]:
    """Whom the user may apply for on this item, and why nobody if the list is empty."""
    choices: list[tuple[str, str]] = []
    person = Person.objects.filter(user=user).first()
    if version.audience != "company" and person is not None:
        choices.append(("person", f"本人（{person.name}，自然人）"))
    if version.audience != "person":
        for company in Company.objects.filter(agents=user).order_by("name"):
            choices.append(
                (
                    f"company:{company.uscc}",
                    f"{company.name}（法人，统一社会信用代码 {company.uscc}）",
                )
            )
    if choices:
        return choices, ""
    if version.audience == "company":
        return (
            [],
            "本事项的服务对象为法人。您的账号尚未登记为任何法人的经办人，请联系单位管理员或到政务服务窗口办理。",
        )
    return (
        [],
        "请先完成实名注册（个人用户）后再在线申请。工作人员请在工作台的“窗口收件”中代为申请。",
    )


def _steps(case: Case | None, version: ItemVersion) -> list[Step]:
    number = case.number if case else ""
    first = (
        reverse("portal:case_form", args=[number])
        if number
        else reverse("portal:apply", args=[version.item.code])
    )
    steps = [Step("form", "填写申请表", first)]

    def url(name: str) -> str:
        return reverse(name, args=[number]) if number else ""

    steps.append(Step("materials", "上传材料", url("portal:case_materials")))
    if _offers_commitments(version):
        steps.append(Step("commitments", "容缺受理与告知承诺", url("portal:case_commitments")))
    steps.append(Step("confirm", "确认提交", url("portal:case_submit")))
    return steps


def _deficiency_materials(version: ItemVersion) -> list[Material]:
    return [
        m for m in version.materials.all() if m.necessity == Material.Necessity.DEFICIENCY_ALLOWED
    ]


def _offers_notification(version: ItemVersion) -> bool:
    return version.allows_commitment and any(m.commitment_allowed for m in version.materials.all())


def _offers_commitments(version: ItemVersion) -> bool:
    return bool(_deficiency_materials(version)) or _offers_notification(version)


def _step_context(case: Case | None, version: ItemVersion, current: str) -> dict[str, Any]:
    steps = _steps(case, version)
    index = next(i for i, s in enumerate(steps) if s.key == current)
    return {
        "steps": steps,
        "current_step": current,
        "step_number": index + 1,
        "step_count": len(steps),
        "previous_step": steps[index - 1] if index else None,
        "next_step": steps[index + 1] if index + 1 < len(steps) else None,
        "version": version,
    }


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@_catalog_404
def apply(request: HttpRequest, code: str) -> HttpResponse:
    """Step 1, 填写申请表: who applies and the item version's form; opens the draft."""
    version = current_version_of(code)
    choices, reason = _applicant_choices(request.user, version)
    if not choices:
        return render(
            request,
            "portal/apply_unavailable.html",
            {"version": version, "item": version.item, "reason": reason},
            status=403,
        )
    data = request.POST if request.method == "POST" else None
    applicant_form = ApplicantForm(data, choices=choices)
    form = ApplicationForm(data, fields=form_fields_of(version))
    key = (request.POST.get("idempotency_key") or uuid.uuid4().hex)[:64]
    error = None
    status = 200
    if request.method == "POST":
        status = 422
        if applicant_form.is_valid() and form.is_valid():
            chosen = applicant_form.cleaned_data["applicant"]
            try:
                case = services.apply(
                    actor=request.user,
                    item_version=version,
                    form_data=form.answers(),
                    company_uscc=chosen.split(":", 1)[1] if chosen.startswith("company:") else None,
                    idempotency_key=key,
                )
            except RuleViolation as exc:
                status = exc.status
                if exc.code == "form_invalid":
                    add_problems(form, exc)
                else:
                    error = violation_context(exc)
            else:
                messages.success(
                    request, f"申请表已保存，办件编号 {case.number}。请继续上传申请材料。"
                )
                return HttpResponseRedirect(reverse("portal:case_materials", args=[case.number]))
    context = {
        **_step_context(None, version, "form"),
        "item": version.item,
        "applicant_form": applicant_form,
        "form": form,
        "idempotency_key": key,
        "error": error,
    }
    return render(request, "portal/apply_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@_catalog_404
def case_form(request: HttpRequest, number: str) -> HttpResponse:
    """Step 1 again, for a saved draft: change the answers (`services.update_draft_form`)."""
    found = _draft(request, number)
    if isinstance(found, HttpResponse):
        return found
    case = found
    version = case.item_version
    data = request.POST if request.method == "POST" else None
    form = ApplicationForm(data, fields=form_fields_of(version), initial=case.form_data)
    status, error = 200, None
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                services.update_draft_form(case, form_data=form.answers(), actor=request.user)
            except RuleViolation as exc:
                status = exc.status
                if exc.code == "form_invalid":
                    add_problems(form, exc)
                else:
                    error = violation_context(exc)
            else:
                messages.success(request, "申请表已保存。")
                return HttpResponseRedirect(reverse("portal:case_materials", args=[number]))
    context = {
        **_step_context(case, version, "form"),
        "case": case,
        "item": version.item,
        "applicant_label": case.applicant_name,
        "form": form,
        "error": error,
    }
    return render(request, "portal/apply_form.html", context, status=status)


def _draft(request: HttpRequest, number: str) -> Case | HttpResponse:
    """The applicant's online draft, or a redirect to the case page once it is submitted."""
    case = _not_found_for_others(request, number)
    if case.state != parsed(case.workflow).initial or case.channel != Case.Channel.ONLINE:
        return HttpResponseRedirect(reverse("portal:my_case", args=[number]))
    return case


def upload_files(request: HttpRequest, case: Case, form: MaterialUploadForm) -> int:
    """Hand each chosen file to `material_services.add_material`; a refused file gets its reason on
    its field. Files are independent: one refused file does not undo the others. A refusal
    of the whole request (not allowed here: 403, not in this state: 409) is raised."""
    uploaded = 0
    for material, upload, custody in form.files_chosen():
        content = upload.read(settings.CASE_UPLOAD_MAX_BYTES + 1)
        try:
            material_services.add_material(
                case,
                material,
                content=content,
                name=upload.name or "",
                actor=request.user,
                paper_custody=custody,
            )
        except RuleViolation as exc:
            if exc.status in {401, 403, 409}:
                raise
            form.add_error(f"material_{material.pk}", exc.message)
        else:
            uploaded += 1
    return uploaded


# Refusals of a licence that concern the whole request, not the licence or the material.
WHOLE_REQUEST_CODES = {"action_forbidden", "actor_required", "materials_closed"}


def use_wallet_licence(
    request: HttpRequest, case: Case, form: MaterialUploadForm
) -> tuple[CaseMaterial | None, int | None]:
    """使用电子证照（免提交）: the button's value names the material and a licence of the
    user's wallet; `material_services.use_licence` verifies it and records it in place of the file.
    Returns what was recorded, or the status of the refusal, which is put on that
    material's field; a refusal of the whole request is raised."""
    choice = request.POST.get("use_licence", "")
    if not choice:
        return None, None
    material_pk, _, identifier = choice.partition(":")
    material = next((m for m in form.materials if str(m.pk) == material_pk), None)
    if material is None:
        form.add_error(None, "请选择列出的申请材料")
        return None, 422
    field = f"material_{material.pk}"
    try:
        licence = get_wallet_licence(request.user, identifier)
        used = material_services.use_licence(case, material, licence, actor=request.user)
    except RuleViolation as exc:  # NotFound too: a licence not in the user's wallet
        if exc.code in WHOLE_REQUEST_CODES:
            raise
        form.add_error(field, exc.message)
        return None, exc.status
    form.cleaned_data.pop(field, None)  # a file chosen for it as well is not wanted now
    messages.success(
        request,
        f"“{material.name}”已使用电子证照 {licence.identifier} 代替（核验有效），无需上传。",
    )
    return used, None


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@_catalog_404
def case_materials(request: HttpRequest, number: str) -> HttpResponse:
    """Step 2, 上传材料 (and, from the case page, uploading a supplement or a 容缺 material:
    the form then names its materials and `next` is the case page)."""
    case = _not_found_for_others(request, number)
    draft = case.state == parsed(case.workflow).initial and case.channel == Case.Channel.ONLINE
    version = case.item_version
    materials = list(version.materials.all())
    wanted = {int(v) for v in request.POST.getlist("materials") if v.isdigit()}
    if wanted:
        materials = [m for m in materials if m.pk in wanted]
    posted = request.method == "POST"
    form = MaterialUploadForm(
        request.POST if posted else None, request.FILES if posted else None, materials=materials
    )
    if request.method != "POST":
        if not draft:
            return HttpResponseRedirect(reverse("portal:my_case", args=[number]))
        return _render_materials(request, case, form)
    if not form.is_valid():
        return _render_materials(request, case, form, status=422, from_case_page=not draft)
    try:
        used, refused_status = use_wallet_licence(request, case, form)
        uploaded = upload_files(request, case, form)
    except RuleViolation as exc:
        context = case_page_context(get_case_for(request.user, number), request.user, staff=False)
        context["error"] = violation_context(exc)
        return render(
            request,
            "portal/my_case.html",
            _detail_extras(request, case, context),
            status=exc.status,
        )
    if uploaded:
        messages.success(request, f"已上传 {uploaded} 份材料。")
    if form.errors:
        status = refused_status or 422
        return _render_materials(request, case, form, status=status, from_case_page=not draft)
    if not draft:
        return HttpResponseRedirect(reverse("portal:my_case", args=[number]))
    if used is not None:
        # Stay on this step: the applicant sees the material marked and goes on from here.
        return HttpResponseRedirect(
            reverse("portal:case_materials", args=[number]) + f"#material-{used.requirement_id}"
        )
    steps = _steps(case, version)
    following = steps[[s.key for s in steps].index("materials") + 1]
    return HttpResponseRedirect(following.url)


def foreign_licence_form(case: Case) -> ForeignLicenceForm | None:
    """The 外省电子证照 form, on a federated node, for an item some licence can stand in for."""
    materials = licence_replaceable(list(case.item_version.materials.all()))
    return ForeignLicenceForm(materials=materials) if materials and is_federated() else None


@login_required
@require_POST
@_catalog_404
def foreign_licence(request: HttpRequest, number: str) -> HttpResponse:
    """使用外省电子证照: `cases.materials.use_foreign_licence`, then back to where it was asked."""
    case = _not_found_for_others(request, number)
    draft = case.state == parsed(case.workflow).initial and case.channel == Case.Channel.ONLINE
    target = reverse("portal:case_materials" if draft else "portal:my_case", args=[number])
    return use_foreign_licence_view(request, case, target)


def use_foreign_licence_view(request: HttpRequest, case: Case, target: str) -> HttpResponse:
    """The form's handling, shared with the console: a clear message either way."""
    form = ForeignLicenceForm(
        request.POST, materials=licence_replaceable(list(case.item_version.materials.all()))
    )
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"外省电子证照：{error}")
        return HttpResponseRedirect(target)
    material = form.chosen()
    try:
        used = material_services.use_foreign_licence(
            case, material, form.cleaned_data["token"], actor=request.user
        )
    except RuleViolation as exc:
        if exc.code in WHOLE_REQUEST_CODES:
            raise
        messages.error(request, f"“{material.name}”未能以外省电子证照代替：{exc.message}")
        return HttpResponseRedirect(target)
    messages.success(
        request,
        f"“{material.name}”已以外省电子证照 {used.foreign_licence} 代替（已向签发节点核验有效），无需上传。",
    )
    return HttpResponseRedirect(target)


def _render_materials(
    request: HttpRequest,
    case: Case,
    form: MaterialUploadForm,
    *,
    status: int = 200,
    from_case_page: bool = False,
) -> HttpResponse:
    if from_case_page:
        # A refused supplement or 容缺 upload: back on the case page with the reasons.
        case = get_case_for(request.user, case.number)
        context = {**case_page_context(case, request.user, staff=False), "upload_form": form}
        return render(
            request, "portal/my_case.html", _detail_extras(request, case, context), status=status
        )
    case = get_case_for(request.user, case.number)
    checklist = {s.requirement.pk: s for s in material_checklist(case)}
    rows = [(checklist[m.pk], field) for m, field, _ in form.rows()]
    context = {
        "offers": licences_offered(case, request.user),
        "foreign_form": foreign_licence_form(case),
        **_step_context(case, case.item_version, "materials"),
        "case": case,
        "item": case.item_version.item,
        "form": form,
        "rows": rows,
        "upload_hint": upload_hint(),
        "necessity_labels": dict(Material.Necessity.choices),
    }
    return render(request, "portal/apply_materials.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@_catalog_404
def case_commitments(request: HttpRequest, number: str) -> HttpResponse:
    """Step 3, 容缺受理与告知承诺: sign either, if the item allows it."""
    found = _draft(request, number)
    if isinstance(found, HttpResponse):
        return found
    case = found
    version = case.item_version
    if not _offers_commitments(version):
        return HttpResponseRedirect(reverse("portal:case_submit", args=[number]))
    kind = request.POST.get("kind") if request.method == "POST" else None
    deficiency_form = DeficiencyForm(
        request.POST if kind == "deficiency" else None,
        materials=_deficiency_materials(version),
        limit_hint=deficiency_hint(version),
    )
    notification_form = NotificationCommitmentForm(request.POST if kind == "notification" else None)
    status = 200
    error = None
    if kind == "deficiency" and deficiency_form.is_valid():
        try:
            commitment_services.sign_deficiency_commitment(
                case,
                materials=deficiency_form.chosen(),
                due_date=deficiency_form.cleaned_data["due_date"],
                actor=request.user,
            )
        except RuleViolation as exc:
            status = exc.status
            add_problems(
                deficiency_form, exc, fields={"code:deficiency_due_beyond_limit": "due_date"}
            )
        else:
            messages.success(request, "已签署容缺受理承诺书。")
            return HttpResponseRedirect(reverse("portal:case_commitments", args=[number]))
    elif kind == "notification" and notification_form.is_valid():
        try:
            commitment_services.sign_notification_commitment(case, actor=request.user)
        except RuleViolation as exc:
            status = exc.status
            error = violation_context(exc)
        else:
            messages.success(request, "已签署告知承诺书，相关证明材料无需再提交。")
            return HttpResponseRedirect(reverse("portal:case_commitments", args=[number]))
    elif kind in {"deficiency", "notification"}:
        status = 422
    return _render_commitments(
        request, case, deficiency_form, notification_form, status=status, error=error
    )


def deficiency_hint(version: ItemVersion) -> str:
    limit = time_limit(version.promised_limit, version.promised_limit_unit)
    return f"补齐日期须在今天之后，且不晚于承诺办结时限（{limit}）届满之日。"


def commitment_options(case: Case) -> dict[str, Any]:
    """Which commitments the case's item offers, which are signed, and whether the
    applicant's credit record excludes them (the service refuses then anyway)."""
    version = case.item_version
    signed = {c.kind: c for c in case.commitments.all()}
    return {
        "deficiency_materials": _deficiency_materials(version),
        "offers_notification": _offers_notification(version),
        "notice": commitment_services.commitment_notice(version)
        if _offers_notification(version)
        else "",
        "signed_deficiency": signed.get("deficiency"),
        "signed_notification": signed.get("notification"),
        "credit_excluded": has_false_commitment(
            person=case.applicant_person, company=case.applicant_company
        ),
    }


def _render_commitments(
    request: HttpRequest,
    case: Case,
    deficiency_form: DeficiencyForm,
    notification_form: NotificationCommitmentForm,
    *,
    status: int = 200,
    error: dict[str, Any] | None = None,
) -> HttpResponse:
    case = get_case_for(request.user, case.number)
    context = {
        **_step_context(case, case.item_version, "commitments"),
        **commitment_options(case),
        "case": case,
        "item": case.item_version.item,
        "deficiency_form": deficiency_form,
        "notification_form": notification_form,
        "error": error,
    }
    return render(request, "portal/apply_commitments.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@_catalog_404
def case_submit(request: HttpRequest, number: str) -> HttpResponse:
    """Step 4, 确认提交: everything given so far, what is still missing, and submit."""
    found = _draft(request, number)
    if isinstance(found, HttpResponse):
        return found
    case = found
    status, error = 200, None
    if request.method == "POST":
        try:
            services.take_action(case, "submit", actor=request.user)
        except RuleViolation as exc:
            status, error = exc.status, violation_context(exc)
        else:
            messages.success(
                request,
                f"申请已提交，办件编号 {case.number}。受理结果将通过“我的消息”和短信通知您。",
            )
            return HttpResponseRedirect(reverse("portal:my_case", args=[number]))
    case = get_case_for(request.user, number)
    context = {
        **_step_context(case, case.item_version, "confirm"),
        **case_page_context(case, request.user, staff=False),
        "item": case.item_version.item,
        "missing": material_services.missing_materials(case),
        "error": error,
    }
    return render(request, "portal/apply_confirm.html", context, status=status)


# My cases -----------------------------------------------------------------------------------


@login_required
@require_safe
def my_cases(request: HttpRequest) -> HttpResponse:
    """我的办件: the cases the user applied for, newest first."""
    page = Paginator(applied_cases(request.user), CASES_PER_PAGE).get_page(request.GET.get("page"))
    rows = [(case, parsed(case.workflow).label(case.state)) for case in page.object_list]
    return render(request, "portal/my_cases.html", {"page": page, "rows": rows})


def _detail_extras(request: HttpRequest, case: Case, context: dict[str, Any]) -> dict[str, Any]:
    """The forms of the case page: supplement and 容缺 uploads, withdrawal."""
    uploads = [*context["supplement_materials"], *context["deficiency_missing"]]
    context.setdefault(
        "upload_form",
        MaterialUploadForm(materials=list(dict.fromkeys(uploads))) if uploads else None,
    )
    context.setdefault("note_form", NoteForm(prefix="withdraw"))
    context["upload_hint"] = upload_hint()
    context["is_draft"] = (
        case.state == context["definition"].initial and case.channel == Case.Channel.ONLINE
    )
    return context


@login_required
@require_safe
@_catalog_404
def my_case(request: HttpRequest, number: str) -> HttpResponse:
    """One of my cases: status, deadline, timeline, materials, and what I must do."""
    case = _not_found_for_others(request, number)
    context = case_page_context(case, request.user, staff=False)
    return render(request, "portal/my_case.html", _detail_extras(request, case, context))


@login_required
@require_POST
@_catalog_404
def case_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    """提交补正 or 撤回申请 from the case page."""
    case = _not_found_for_others(request, number)
    if action not in APPLICANT_ACTIONS:
        raise NotFound("action_unknown", "没有这个操作")
    form = NoteForm(request.POST, prefix=action)
    form.is_valid()
    try:
        services.take_action(
            case, action, actor=request.user, note=form.cleaned_data.get("note", "")
        )
    except RuleViolation as exc:
        case = get_case_for(request.user, number)
        context = case_page_context(case, request.user, staff=False)
        context["error"] = violation_context(exc)
        return render(
            request,
            "portal/my_case.html",
            _detail_extras(request, case, context),
            status=exc.status,
        )
    done = {"supplement": "补正材料已提交，等待审查。", "withdraw": "申请已撤回。"}[action]
    messages.success(request, done)
    return HttpResponseRedirect(reverse("portal:my_case", args=[number]))
