"""Pages of the work ledger (工作台账) and the warning cards, under /supervision/."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core import blobs
from core.exceptions import NotFound, RuleViolation
from supervision import region, selectors, services
from supervision.models import LedgerTask, Milestone, ReportAttachment, WarningCard


def _viewer(request: HttpRequest) -> None:
    if not request.user.is_authenticated:
        raise RuleViolation("login_required", "请先登录", status=401)
    request.staff_roles = selectors.viewer_roles(request.user)  # type: ignore[attr-defined]


@require_safe
def cards(request: HttpRequest) -> HttpResponse:
    """预警督办: the open yellow and red cards of the viewer's organisations."""
    _viewer(request)
    rows = [
        {"card": c, "link": services.card_link(c)} for c in selectors.cards_for(request.user)[:500]
    ]
    return render(
        request,
        "supervision/cards.html",
        {
            "rows": rows,
            "may_supervise": selectors.may_supervise(request.user),
            "Colour": WarningCard.Colour,
        },
    )


@require_safe
def ledger(request: HttpRequest) -> HttpResponse:
    """工作台账: the plan's tasks and safeguards, their units, deadlines, status."""
    _viewer(request)
    selectors.require_supervisor(request.user)
    return render(
        request,
        "supervision/ledger.html",
        {"tasks": selectors.ledger_tasks(), "may_supervise": True},
    )


def _int(value: str, default: int = -1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@require_http_methods(["GET", "HEAD", "POST"])
def task(request: HttpRequest, pk: int) -> HttpResponse:
    """One ledger task: its milestones and reports; a supervisor reports progress here."""
    _viewer(request)
    selectors.require_supervisor(request.user)
    item = selectors.ledger_task(pk)
    error = None
    if request.method == "POST":
        files = request.FILES.getlist("attachments")
        data = services.ReportIn(
            text=request.POST.get("text", ""),
            progress=_int(request.POST.get("progress", "")),
            status=request.POST.get("status", ""),
            attachments=[(f.name or "file", f.read()) for f in files],
        )
        try:
            services.report_progress(item, data, actor=request.user)  # type: ignore[arg-type]
        except RuleViolation as exc:
            error = exc
        else:
            messages.success(request, "进展已报送")
            return HttpResponseRedirect(reverse("supervision:task", args=[pk]))
    return render(
        request,
        "supervision/task.html",
        {
            "task": item,
            "statuses": LedgerTask.Status.choices,
            "error": error,
            "may_supervise": True,
        },
        status=error.status if error else 200,
    )


@require_POST
def milestone(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a milestone to a task, or mark one done."""
    _viewer(request)
    selectors.require_supervisor(request.user)
    item = selectors.ledger_task(pk)
    done = request.POST.get("done")
    if done:
        m = Milestone.objects.filter(task=item, pk=_int(done)).first()
        if m is None:
            raise NotFound("milestone_not_found", "节点不存在")
        services.complete_milestone(m, actor=request.user)  # type: ignore[arg-type]
    else:
        try:
            due = dt.date.fromisoformat(request.POST.get("due_date", ""))
        except ValueError:
            raise RuleViolation("milestone_date_invalid", "请填写正确的计划完成日期") from None
        title = request.POST.get("title", "")
        services.add_milestone(item, title=title, due_date=due, actor=request.user)  # type: ignore[arg-type]
    messages.success(request, "节点已更新")
    return HttpResponseRedirect(reverse("supervision:task", args=[pk]))


@require_safe
def attachment(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    _viewer(request)
    selectors.require_supervisor(request.user)
    a = ReportAttachment.objects.filter(pk=attachment_id, report__task_id=pk).first()
    if a is None:
        raise NotFound("attachment_not_found", "附件不存在")
    return blobs.file_response(
        blobs.read(a.path, a.sha256), content_type=a.content_type, name=a.name, digest=a.sha256
    )


@require_http_methods(["GET", "HEAD", "POST"])
def region_view(request: HttpRequest) -> HttpResponse:
    """区域（东北三省一区）: each member node's aggregates and the region's total; a
    supervisor may ask every member again at once."""
    _viewer(request)
    selectors.require_supervisor(request.user)
    if request.method == "POST":
        failed = [r.name for r in region.sync_region() if r.last_error]
        if failed:
            messages.warning(request, f"{'、'.join(failed)}暂时无法连接，显示其最近一次数据")
        else:
            messages.success(request, "已获取各节点最新汇总")
        return HttpResponseRedirect(reverse("supervision:region"))
    since, until = selectors.parse_period(
        request.GET.get("since") or None, request.GET.get("until") or None
    )
    rows = region.regional_rows(since, until)
    chart = {
        "region": {
            "kind": "bar",
            "caption": "各节点收件与办结",
            "labels": [r["name"] for r in rows if r["node"]],
            "series": {
                "收件": [r["received"] or 0 for r in rows if r["node"]],
                "办结": [r["decided"] or 0 for r in rows if r["node"]],
                "超期办结": [r["late"] or 0 for r in rows if r["node"]],
            },
        }
    }
    return render(
        request,
        "supervision/region.html",
        {
            "rows": rows,
            "charts": chart,
            "may_supervise": True,
            "since": request.GET.get("since", ""),
            "until": request.GET.get("until", ""),
        },
    )
