"""The applicant's pages: applying online (在线申请) in steps, 我的办件, and one case with
what is expected of the applicant (补正, 容缺材料).

Applying is four steps, each a page that works without JavaScript:
1. 填写申请表 — `services.apply` opens a draft case (an idempotency key in the form makes a
   double click harmless);
2. 上传材料 — `material_services.add_material` per file chosen, or `material_services.use_licence` for a
   material a licence in the applicant's wallet can replace (使用电子证照，免提交);
3. 容缺与承诺 — `commitment_services.sign_deficiency_commitment` / `sign_notification_commitment`,
   offered only when the item allows them;
4. 确认提交 — the action of the draft that submits it (`cases.engine.take_action`).

Every rule is the services'; a `RuleViolation` comes back as a Chinese message on the
page, with the HTTP status it carries (403, 409, 422) and nothing changed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.agents import acting_companies
from accounts.models import Person
from cases import commitments as commitment_services
from cases import materials as material_services
from cases import services
from cases.engine import take_action
from cases.models import Case, CaseMaterial
from cases.selectors import (
    applied_cases,
    get_case_for,
    is_applicant,
    licences_offered,
    material_checklist,
)
from cases.services import applicant_values
from cases.sharing import consent_to_sharing, sharing_rows
from cases.workflow import APPLICANT, definition_of, state_label
from catalog.models import Audience, ItemVersion, Material
from catalog.selectors import current_version_of, form_fields_of
from core import blobs
from core.exceptions import NotFound, RuleViolation
from core.selectors import nearest_division
from licences.selectors import get_wallet_licence
from portal.case_display import (
    case_page_context,
    commitment_options,
    deficiency_hint,
    deficiency_materials,
    offers_commitments,
)
from portal.case_forms import (
    WHOLE_REQUEST_CODES,
    ApplicantForm,
    ApplicationForm,
    DeficiencyForm,
    DeliveryForm,
    MaterialUploadForm,
    NoteForm,
    NotificationCommitmentForm,
    foreign_licence_form,
    upload_hint,
    use_foreign_licence,
)
from portal.forms import add_problems, violation_context
from ratings.selectors import invitations_for_case
from signon.relying import needs_identity

CASES_PER_PAGE = 20
# The effect that marks the action submitting a draft: it has its own step page.
SUBMITS = "mark_submitted"


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    url: str
    done: bool = False  # ticked in the step bar only when really done, wherever one stands


def _not_found_for_others(request: HttpRequest, number: str) -> Case:
    """The case, if `request.user` applied for it; 404 otherwise (also for staff of the
    handling organisation: their page is the console's)."""
    case = get_case_for(request.user, number)
    if not is_applicant(case, request.user):
        raise NotFound("case_not_found", f"办件 {number} 不存在或无权查看")
    return case


# Applying -----------------------------------------------------------------------------------


def _applicant_fields(user: Any, choices: list[tuple[str, str]]) -> dict[str, str]:
    """The form fields that name the applicant, shown filled and locked when there is only
    one applicant to choose (the service fills and checks them in any case)."""
    if [value for value, _ in choices] != ["person"]:
        return {}
    person = Person.objects.get(user=user)
    return applicant_values(person=person, company=None)


def _usual_place(user: Any) -> str:
    """The place the form suggests: the division the person's ID number was issued in."""
    person = Person.objects.filter(user=user).first()
    division = nearest_division(person.id_number[:6]) if person is not None else None
    return division.code if division is not None else ""


def _applicant_choices(user: Any, version: ItemVersion) -> tuple[list[tuple[str, str]], str]:
    """Whom the user may apply for on this item, and why nobody if the list is empty."""
    choices: list[tuple[str, str]] = []
    person = Person.objects.filter(user=user).first()
    if Audience.serves(version.audience, Audience.PERSON) and person is not None:
        choices.append(("person", f"本人（{person.name}，自然人）"))
    if Audience.serves(version.audience, Audience.COMPANY):
        for company in acting_companies(user).order_by("name"):
            choices.append(
                (
                    f"company:{company.uscc}",
                    f"{company.name}（法人，统一社会信用代码 {company.uscc}）",
                )
            )
    if choices:
        return choices, ""
    if not Audience.serves(version.audience, Audience.PERSON):
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
    steps = [Step("form", "填写申请表", first, done=case is not None)]

    def url(name: str) -> str:
        return reverse(name, args=[number]) if number else ""

    materials_done = case is not None and not material_services.missing_materials(case)
    steps.append(Step("materials", "上传材料", url("portal:case_materials"), materials_done))
    if offers_commitments(version):
        signed = case is not None and case.commitments.exists()
        steps.append(
            Step("commitments", "容缺受理与告知承诺", url("portal:case_commitments"), signed)
        )
    steps.append(Step("confirm", "确认提交", url("portal:case_submit")))
    return steps


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
def apply(request: HttpRequest, code: str) -> HttpResponse:
    """Step 1, 填写申请表: who applies and the item version's form; opens the draft."""
    version = current_version_of(code)
    choices, reason = _applicant_choices(request.user, version)
    if not choices:
        # Signed in from another node without having shared the ID number: offer to.
        context = {
            "version": version,
            "item": version.item,
            "reason": reason,
            "identity_node": needs_identity(request.user),
        }
        return render(request, "portal/apply_unavailable.html", context, status=403)
    data = request.POST if request.method == "POST" else None
    applicant_form = ApplicantForm(data, choices=choices, place=_usual_place(request.user))
    form = ApplicationForm(
        data, fields=form_fields_of(version), fixed=_applicant_fields(request.user, choices)
    )
    delivery_form = DeliveryForm(data, version=version)
    key = (request.POST.get("idempotency_key") or uuid.uuid4().hex)[:64]
    error = None
    status = 200
    if request.method == "POST":
        status = 422
        # Every form checked, so every error shows at once.
        if all([applicant_form.is_valid(), form.is_valid(), delivery_form.is_valid()]):
            chosen = applicant_form.cleaned_data["applicant"]
            try:
                case = services.apply(
                    actor=request.user,
                    item_version=version,
                    form_data=form.answers(),
                    company_uscc=chosen.split(":", 1)[1] if chosen.startswith("company:") else None,
                    idempotency_key=key,
                    place=applicant_form.chosen_place(),
                    delivery=delivery_form.delivery(),
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
        "delivery_form": delivery_form,
        "idempotency_key": key,
        "error": error,
    }
    return render(request, "portal/apply_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def case_form(request: HttpRequest, number: str) -> HttpResponse:
    """Step 1 again, for a saved draft: change the answers (`services.update_draft_form`)."""
    found = _draft(request, number)
    if isinstance(found, HttpResponse):
        return found
    case = found
    version = case.item_version
    data = request.POST if request.method == "POST" else None
    form = ApplicationForm(data, fields=form_fields_of(version), initial=case.form_data)
    delivery_form = DeliveryForm(
        data,
        version=version,
        initial={
            "delivery_method": case.delivery_method,
            "delivery_address": case.delivery_address,
            "delivery_mobile": case.delivery_mobile,
        },
    )
    status, error = 200, None
    if request.method == "POST":
        status = 422
        if all([form.is_valid(), delivery_form.is_valid()]):
            try:
                services.update_draft_form(
                    case,
                    form_data=form.answers(),
                    actor=request.user,
                    delivery=delivery_form.delivery(),
                )
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
        "delivery_form": delivery_form,
        "error": error,
    }
    return render(request, "portal/apply_form.html", context, status=status)


def _is_online_draft(case: Case) -> bool:
    return case.state == definition_of(case).initial and case.channel == Case.Channel.ONLINE


def _draft(request: HttpRequest, number: str) -> Case | HttpResponse:
    """The applicant's online draft, or a redirect to the case page once it is submitted."""
    case = _not_found_for_others(request, number)
    if not _is_online_draft(case):
        return HttpResponseRedirect(reverse("portal:my_case", args=[number]))
    return case


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
def case_materials(request: HttpRequest, number: str) -> HttpResponse:
    """Step 2, 上传材料 (and, from the case page, uploading a supplement or a 容缺 material:
    the form then names its materials and `next` is the case page)."""
    case = _not_found_for_others(request, number)
    draft = _is_online_draft(case)
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
        uploaded = form.upload(case, request.user)
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


@login_required
@require_POST
def sharing_consent(request: HttpRequest, number: str) -> HttpResponse:
    """同意共享获取: the applicant has seen what will be read and consents
    (`cases.sharing.consent_to_sharing`); the material is then verified at submission."""
    case = _not_found_for_others(request, number)
    materials = consent_to_sharing(case, actor=request.user)
    messages.success(
        request, "已同意共享获取：" + "、".join(m.name for m in materials) + "。提交时将自动核验。"
    )
    return HttpResponseRedirect(reverse("portal:case_materials", args=[number]))


@login_required
@require_POST
def foreign_licence(request: HttpRequest, number: str) -> HttpResponse:
    """使用外省电子证照: `cases.materials.use_foreign_licence`, then back to where it was asked."""
    case = _not_found_for_others(request, number)
    target = reverse(
        "portal:case_materials" if _is_online_draft(case) else "portal:my_case", args=[number]
    )
    use_foreign_licence(request, case)
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
        "sharing": sharing_rows(case),
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
def case_commitments(request: HttpRequest, number: str) -> HttpResponse:
    """Step 3, 容缺受理与告知承诺: sign either, if the item allows it."""
    found = _draft(request, number)
    if isinstance(found, HttpResponse):
        return found
    case = found
    version = case.item_version
    if not offers_commitments(version):
        return HttpResponseRedirect(reverse("portal:case_submit", args=[number]))
    kind = request.POST.get("kind") if request.method == "POST" else None
    deficiency_form = DeficiencyForm(
        request.POST if kind == "deficiency" else None,
        materials=deficiency_materials(version),
        limit_hint=deficiency_hint(case),
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
def case_submit(request: HttpRequest, number: str) -> HttpResponse:
    """Step 4, 确认提交: everything given so far, what is still missing, and submit."""
    found = _draft(request, number)
    if isinstance(found, HttpResponse):
        return found
    case = found
    status, error = 200, None
    if request.method == "POST":
        submit = definition_of(case).action_with_effect(case.state, SUBMITS)
        try:
            if submit is None:
                raise RuleViolation("submit_not_possible", "该申请当前不能提交", status=409)
            take_action(case, submit.name, actor=request.user)
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
    rows = [(case, state_label(case)) for case in page.object_list]
    return render(request, "portal/my_cases.html", {"page": page, "rows": rows})


def _detail_extras(request: HttpRequest, case: Case, context: dict[str, Any]) -> dict[str, Any]:
    """The forms of the case page: supplement and 容缺 uploads, withdrawal."""
    uploads = [*context["supplement_materials"], *context["deficiency_missing"]]
    context.setdefault(
        "upload_form",
        MaterialUploadForm(materials=list(dict.fromkeys(uploads))) if uploads else None,
    )
    context["upload_hint"] = upload_hint()
    context["material_view"] = "portal"
    context["is_draft"] = _is_online_draft(case)
    actions = [
        (action, NoteForm(prefix=action["name"]))
        for action in context["view"]["allowed_actions"]
        if SUBMITS not in context["definition"].action(action["name"], case.state).effects
    ]
    # What the applicant is asked to do (提交补正) stands with the to-dos; what ends the
    # application (撤回申请) has its own section below.
    context["applicant_actions"] = [(a, f) for a, f in actions if not a["grave"]]
    context["ending_actions"] = [(a, f) for a, f in actions if a["grave"]]
    return context


@login_required
@require_safe
def my_case(request: HttpRequest, number: str) -> HttpResponse:
    """One of my cases: status, deadline, timeline, materials, and what I must do."""
    case = _not_found_for_others(request, number)
    context = case_page_context(case, request.user, staff=False)
    # 好差评: the rated events of the case the applicant is asked to rate (ratings app).
    context["rating_invitations"] = invitations_for_case(request.user, case.number)
    return render(request, "portal/my_case.html", _detail_extras(request, case, context))


@login_required
@require_safe
def case_material_file(request: HttpRequest, number: str, material_id: int) -> HttpResponse:
    """A file I uploaded (or a window took in for me), as stored and checked."""
    read = material_services.read_material(number, material_id, viewer=request.user)
    m = read.material
    return blobs.file_response(
        read.content, content_type=m.content_type, name=m.original_name, digest=m.sha256
    )


@login_required
@require_POST
def case_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    """An action of the applicant's from the case page (提交补正, 撤回申请 …): every one the
    definition allows them now, except submitting a draft (its own step page)."""
    case = _not_found_for_others(request, number)
    definition = definition_of(case)
    theirs = [
        a
        for a in definition.actions
        if a.name == action and SUBMITS not in a.effects and any(b.role == APPLICANT for b in a.by)
    ]
    if not theirs:
        raise NotFound("action_unknown", "没有这个操作")
    spec = definition.action(action, case.state)
    form = NoteForm(request.POST, prefix=action)
    form.is_valid()
    try:
        take_action(case, action, actor=request.user, note=form.cleaned_data.get("note", ""))
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
    label = spec.label if spec is not None else action
    messages.success(request, f"已{label}。")
    return HttpResponseRedirect(reverse("portal:my_case", args=[number]))
