"""一件事 pages: the bundles in force (一件事专区), one bundle's guide (its items in order
and in parallel, when each applies, the materials asked once), applying with the merged
form, and the applicant's bundle case — one status, deadline, timeline and result, its
materials given once, submitting and withdrawing. Every rule is cases/bundles.py's."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from cases import bundles
from catalog.bundles import (
    bundle_materials,
    current_bundle_version,
    current_bundle_versions,
    form_of,
)
from core.exceptions import RuleViolation
from portal.case_forms import UPLOAD_ACCEPT, ApplicationForm, NoteForm, upload_hint
from portal.forms import add_problems, violation_context


@require_safe
def bundle_list(request: HttpRequest) -> HttpResponse:
    """一件事专区: every bundle in force with its items."""
    return render(request, "portal/bundles.html", {"versions": current_bundle_versions()})


def _guide_context(version: Any) -> dict[str, Any]:
    steps = list(version.steps.all())
    orders: dict[int, list[Any]] = {}
    for step in steps:
        orders.setdefault(step.order, []).append(step)
    labels = {f.name: f for f in form_of(version)}
    conditions = {
        step.pk: (
            f"“{labels[step.condition['field']].label}”为"
            + "或".join(f"“{v}”" for v in step.condition["values"])
        )
        if step.condition and step.condition.get("field") in labels
        else "总是办理"
        for step in steps
    }
    return {
        "version": version,
        "bundle": version.bundle,
        "stages": sorted(orders.items()),
        "conditions": conditions,
        "materials": bundle_materials(steps),
    }


@require_safe
def bundle_guide(request: HttpRequest, code: str) -> HttpResponse:
    """One bundle: its items by stage (the same stage in parallel), when each applies, who
    handles it, and each material once (or supplied by an earlier item's licence)."""
    return render(request, "portal/bundle_guide.html", _guide_context(current_bundle_version(code)))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def bundle_apply(request: HttpRequest, code: str) -> HttpResponse:
    """The merged form: each field once; saving opens the draft bundle case."""
    version = current_bundle_version(code)
    data = request.POST if request.method == "POST" else None
    form = ApplicationForm(data, fields=form_of(version))
    key = (request.POST.get("idempotency_key") or uuid.uuid4().hex)[:64]
    error, status = None, 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                bundle_case = bundles.start_bundle_case(
                    bundle_version=version,
                    form_data=form.answers(),
                    actor=request.user,
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
                    request,
                    f"申请表已保存，一件事编号 {bundle_case.number}。请上传申请材料后提交。",
                )
                return HttpResponseRedirect(reverse("portal:my_bundle", args=[bundle_case.number]))
    context = {**_guide_context(version), "form": form, "idempotency_key": key, "error": error}
    return render(request, "portal/bundle_apply.html", context, status=status)


@login_required
@require_safe
def my_bundles(request: HttpRequest) -> HttpResponse:
    """我的一件事: my bundle cases, newest first."""
    return render(
        request,
        "portal/my_bundles.html",
        {"bundle_cases": list(bundles.list_bundle_cases(request.user)[:100])},
    )


def _page(
    request: HttpRequest, number: str, *, error: Any = None, status: int = 200
) -> HttpResponse:
    bundle_case = bundles.get_bundle_case_for(request.user, number)
    overview = bundles.bundle_overview(bundle_case)
    context = {
        "overview": overview,
        "bundle_case": bundle_case,
        "error": error,
        "upload_hint": upload_hint(),
        "accept": UPLOAD_ACCEPT,
        "withdraw_form": NoteForm(prefix="withdraw"),
    }
    return render(request, "portal/my_bundle.html", context, status=status)


@login_required
@require_safe
def my_bundle(request: HttpRequest, number: str) -> HttpResponse:
    """One bundle case: the combined status, deadline, sub-cases, timeline and result."""
    return _page(request, number)


def _after(request: HttpRequest, number: str, run: Any, done: str) -> HttpResponse:
    try:
        run(bundles.get_bundle_case_for(request.user, number))
    except RuleViolation as exc:
        return _page(request, number, error=violation_context(exc), status=exc.status)
    messages.success(request, done)
    return HttpResponseRedirect(reverse("portal:my_bundle", args=[number]))


@login_required
@require_POST
def bundle_material(request: HttpRequest, number: str) -> HttpResponse:
    """Give one material of the bundle (for every item that asks for it)."""
    upload = request.FILES.get("file")
    key = request.POST.get("key", "")
    if upload is None:
        error = {"message": "请选择要上传的文件", "problems": []}
        return _page(request, number, error=error, status=422)
    content = upload.read(settings.CASE_UPLOAD_MAX_BYTES + 1)
    return _after(
        request,
        number,
        lambda bc: bundles.add_bundle_material(
            bc, key, content=content, name=upload.name or "", actor=request.user
        ),
        "材料已上传。",
    )


@login_required
@require_POST
def bundle_submit(request: HttpRequest, number: str) -> HttpResponse:
    return _after(
        request,
        number,
        lambda bc: bundles.submit_bundle_case(bc, actor=request.user),
        "一件事已提交，首批事项已送交承办部门。",
    )


@login_required
@require_POST
def bundle_withdraw(request: HttpRequest, number: str) -> HttpResponse:
    form = NoteForm(request.POST, prefix="withdraw")
    note = form.cleaned_data.get("note", "") if form.is_valid() else ""
    return _after(
        request,
        number,
        lambda bc: bundles.withdraw_bundle_case(bc, actor=request.user, note=note),
        "一件事已撤回，尚未办结的事项一并撤回。",
    )
