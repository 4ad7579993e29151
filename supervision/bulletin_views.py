"""Pages of the bulletins (通报): for supervisors, generate, review and publish; for
everyone, the published ones on the public portal (HTML and PDF)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.exceptions import NotFound, RuleViolation
from supervision import bulletins, selectors
from supervision.models import Bulletin


def _supervisor(request: HttpRequest) -> None:
    if not request.user.is_authenticated:
        raise RuleViolation("login_required", "请先登录", status=401)
    request.staff_roles = selectors.viewer_roles(request.user)  # type: ignore[attr-defined]
    selectors.require_supervisor(request.user)


def _bulletin(pk: int, *, published: bool = False) -> Bulletin:
    qs = Bulletin.objects.select_related("published_by")
    if published:
        qs = qs.filter(status=Bulletin.Status.PUBLISHED)
    bulletin = qs.filter(pk=pk).first()
    if bulletin is None:
        raise NotFound("bulletin_not_found", "通报不存在或尚未发布")
    return bulletin


@require_http_methods(["GET", "HEAD", "POST"])
def manage(request: HttpRequest) -> HttpResponse:
    """通报管理: the bulletins of my division; generate one for a month or a quarter."""
    _supervisor(request)
    home = selectors.home_scope(request.user)
    if request.method == "POST":
        try:
            start = dt.datetime.strptime(request.POST.get("month", ""), "%Y-%m").date()
        except ValueError:
            raise RuleViolation("bad_month", "请选择通报月份") from None
        bulletin = bulletins.generate_bulletin(
            period=request.POST.get("period", ""),
            start=start,
            actor=request.user,  # type: ignore[arg-type]
        )
        messages.success(request, "通报已生成，请审核后发布")
        return HttpResponseRedirect(reverse("supervision:bulletin", args=[bulletin.pk]))
    rows = Bulletin.objects.filter(prefix__startswith=home.prefix).order_by("-starts_on", "-id")
    return render(
        request,
        "supervision/bulletins.html",
        {"bulletins": rows, "periods": Bulletin.Period.choices, "may_supervise": True},
    )


@require_safe
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    _supervisor(request)
    return render(
        request, "supervision/bulletin.html", {"bulletin": _bulletin(pk), "may_supervise": True}
    )


@require_POST
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    _supervisor(request)
    bulletins.publish_bulletin(_bulletin(pk), note=request.POST.get("note", ""), actor=request.user)  # type: ignore[arg-type]
    messages.success(request, "通报已发布，门户网站可见")
    return HttpResponseRedirect(reverse("supervision:bulletin", args=[pk]))


def _pdf(bulletin: Bulletin) -> HttpResponse:
    response = HttpResponse(bulletins.render_pdf(bulletin), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="bulletin-{bulletin.pk}.pdf"'
    return response


@require_safe
def pdf(request: HttpRequest, pk: int) -> HttpResponse:
    _supervisor(request)
    return _pdf(_bulletin(pk))


@require_safe
def public_list(request: HttpRequest) -> HttpResponse:
    """工作通报 on the public portal: the published bulletins."""
    rows = Bulletin.objects.filter(status=Bulletin.Status.PUBLISHED).order_by("-starts_on", "-id")
    return render(request, "supervision/public_bulletins.html", {"bulletins": rows})


@require_safe
def public_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(
        request, "supervision/public_bulletin.html", {"bulletin": _bulletin(pk, published=True)}
    )


@require_safe
def public_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return _pdf(_bulletin(pk, published=True))
