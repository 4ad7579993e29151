"""Supervision pages (/supervision/): the dashboard of a scope (province, city,
organisation, item) with its tables and charts, the large-screen mode, the cases behind
a figure, exports; the regional view, warnings, ledger and bulletins are in their own
modules' views below.

Every page starts from `selectors.scope_for(request.user, …)`: the viewer's own scope,
narrowed to what they asked for and never wider. Refusals become the console's refusal
page (portal/middleware.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_safe

from cases.workflow import state_label
from core.exceptions import NotFound, RuleViolation
from supervision import exports, figures, selectors, tables
from supervision.figures import Scope

CASES_PER_PAGE = 30


def _scope(request: HttpRequest) -> Scope:
    if not request.user.is_authenticated:
        raise RuleViolation("login_required", "请先登录", status=401)
    # The console's frame names the viewer's roles (console.context_processors).
    request.staff_roles = selectors.viewer_roles(request.user)  # type: ignore[attr-defined]
    return selectors.scope_for(
        request.user,
        level=request.GET.get("level", ""),
        code=request.GET.get("code", ""),
        since=request.GET.get("since") or None,
        until=request.GET.get("until") or None,
    )


def _query(request: HttpRequest, **changes: str) -> str:
    params = {k: request.GET.get(k, "") for k in ("level", "code", "since", "until")}
    params.update(changes)
    return urlencode({k: v for k, v in params.items() if v})


def _chart_data(table: tables.Table) -> dict[str, Any]:
    return {
        "kind": table.chart,
        "caption": table.caption,
        "labels": [str(r.get("label", "")) for r in table.rows[:20]],
        "series": {
            "收件": [r.get("received", 0) for r in table.rows[:20]],
            "办结": [r.get("decided", 0) for r in table.rows[:20]],
            "超期办结": [r.get("late", 0) for r in table.rows[:20]],
        },
    }


def _fmt(value: Any, unit: str) -> str:
    if value is None or value == "":
        return "—"
    return f"{value}%" if unit == "%" else str(value)


def _rendered(request: HttpRequest, table: tables.Table) -> dict[str, Any]:
    """A table as the template shows it: the first column a row header (linking to the
    narrower dashboard where there is one), each count linking to the cases behind it."""
    cases_url = reverse("supervision:cases")
    rows = []
    for row in table.rows:
        narrow: dict[str, str] = {}
        head_link = ""
        if table.row_link in ("organisation", "city", "item"):
            narrow = {"level": table.row_link, "code": str(row["key"])}
            head_link = "?" + _query(request, **narrow)
        elif table.row_link in ("scope_key", "mode", "month"):
            narrow = {table.row_link: str(row["key"]) if row["key"] != "" else "-"}
        cells = []
        for column in table.columns[1:]:
            value = row.get(column.key)
            link = ""
            if column.figure and value:
                link = cases_url + "?" + _query(request, figure=column.figure, **narrow)
            cells.append({"text": _fmt(value, column.unit), "link": link})
        rows.append(
            {
                "head": _fmt(row.get(table.columns[0].key), ""),
                "head_link": head_link,
                "cells": cells,
            }
        )
    return {"table": table, "rows": rows}


def _context(request: HttpRequest, scope: Scope) -> dict[str, Any]:
    summary = figures.summary(scope)
    shown = tables.dashboard_tables(scope)
    cases_url = reverse("supervision:cases")
    headline = [
        (key, label, summary[key], cases_url + "?" + _query(request, figure=key))
        for key, label in [
            ("received", "收件"),
            ("accepted", "受理"),
            ("decided", "办结"),
            ("on_time", "按时办结"),
            ("late", "超期办结"),
            ("red", "超期未办结（红牌）"),
            ("yellow", "临近期限（黄牌）"),
            ("paused", "暂停计时"),
            ("open", "办理中"),
        ]
    ]
    return {
        "scope": scope,
        "summary": summary,
        "headline": headline,
        "tables": [_rendered(request, t) for t in shown],
        "charts": {t.name: _chart_data(t) for t in shown if t.chart and t.rows},
        "query": _query(request),
        "level_label": selectors.LEVELS.get(scope.level, ""),
        "may_supervise": selectors.may_supervise(request.user),
    }


@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    """统计分析: the figures of the viewer's scope, or of a city, organisation or item in it."""
    scope = _scope(request)
    return render(request, "supervision/dashboard.html", _context(request, scope))


@require_safe
def screen(request: HttpRequest) -> HttpResponse:
    """大屏: the same figures in large type for the service hall's screen."""
    scope = _scope(request)
    return render(request, "supervision/screen.html", _context(request, scope))


@require_safe
def cases(request: HttpRequest) -> HttpResponse:
    """The cases behind one figure, inside the viewer's own cases."""
    scope = _scope(request)
    figure = request.GET.get("figure", "received")
    label = selectors.figure_label(figure)
    qs = selectors.cases_behind(
        request.user,
        scope,
        figure,
        scope_key=request.GET.get("scope_key", ""),
        mode=request.GET.get("mode", ""),
        month=request.GET.get("month", ""),
    ).select_related("item_version__category", "handling_org", "workflow")
    page = Paginator(qs, CASES_PER_PAGE).get_page(request.GET.get("page"))
    rows = [{"case": c, "state": state_label(c)} for c in page.object_list]
    return render(
        request,
        "supervision/cases.html",
        {
            "scope": scope,
            "label": label,
            "page": page,
            "rows": rows,
            "query": _query(request),
            "figure": figure,
            "extra": urlencode(
                {k: request.GET[k] for k in ("scope_key", "mode", "month") if request.GET.get(k)}
            ),
        },
    )


@require_safe
def export(request: HttpRequest, name: str, fmt: str) -> HttpResponse:
    """One dashboard table as CSV or XLSX."""
    scope = _scope(request)
    try:
        table = tables.table(scope, name)
    except KeyError:
        raise NotFound("table_not_found", f"没有名为“{name}”的统计表") from None
    filename = f"{scope.title}-{table.caption}"
    if fmt == "csv":
        response = HttpResponse(exports.to_csv(table), content_type="text/csv; charset=utf-8")
    elif fmt == "xlsx":
        response = HttpResponse(
            exports.to_xlsx(table, title=f"{scope.title} {table.caption}"),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        raise NotFound("format_not_found", "导出格式只能是 csv 或 xlsx")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}.{fmt}"
    return response
