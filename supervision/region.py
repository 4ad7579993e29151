"""The regional view (东北三省一区): every member node answers `supervision.figures` with
its aggregates — counts per scope, mode, month and city, and the rates of its ratings,
hotline and licences — and nothing else: no case number, no applicant, no organisation
of a person. As DIGIT's national dashboard, the region sees totals; the cases stay on
their node.

`sync_region()` asks every member (this node answers itself without the exchange) and
keeps each answer in `RegionalFigures`; the worker runs it every `REGION_EVERY_SECONDS`
when the node is federated, and the regional page can ask again at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, cast

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field

from catalog.selectors import node_display_name
from core.exceptions import RuleViolation
from federation import directory, registry, services
from federation.directory import DirectoryUnavailable
from supervision import figures
from supervision.figures import Scope
from supervision.models import COUNTER_FIELDS, RegionalFigures, RegionalMonth

log = logging.getLogger(__name__)

FIGURES_QUERY = "supervision.figures"
REGION_EVERY_SECONDS = 600
MONTH = r"^\d{4}-\d{2}$"
# What a member's monthly row keeps: the rollup counters and its open cases red or yellow.
MONTH_FIELDS = [*COUNTER_FIELDS, "red", "yellow"]


class FiguresQuestion(BaseModel):
    """The payload of `supervision.figures`: the period asked about (months, optional)."""

    model_config = ConfigDict(extra="forbid")
    since: str | None = Field(default=None, pattern=MONTH)
    until: str | None = Field(default=None, pattern=MONTH)


def _month(text: str | None) -> dt.date | None:
    return dt.datetime.strptime(text, "%Y-%m").date() if text else None


def _counts(row: dict[str, Any]) -> dict[str, Any]:
    keep = [*COUNTER_FIELDS, "on_time_rate", "mean_days", "mean_limit", "open"]
    return {k: row.get(k) for k in keep}


def node_figures(since: str | None = None, until: str | None = None) -> dict[str, Any]:
    """This node's aggregates: its own organisations' cases (never the cached copies of
    other members'), in counts only."""
    scope = Scope(local=True, since=_month(since), until=_month(until))
    summary = figures.summary(scope)
    warnings = figures.live_warnings_by_month(scope)
    return {
        "node": settings.NODE_ID,
        "generated_at": timezone.now().isoformat(),
        "period": {"since": since, "until": until},
        "summary": {
            **_counts(summary),
            "red": summary["red"],
            "yellow": summary["yellow"],
            "percentiles": {str(k): v for k, v in summary["percentiles"].items()},
        },
        "by_scope": [
            {"key": r["key"], "label": r["label"], **_counts(r)}
            for r in figures.breakdown(scope, "scope")
        ],
        "by_mode": [
            {"key": r["key"], "label": r["label"], **_counts(r)}
            for r in figures.breakdown(scope, "mode")
        ],
        "by_month": [
            {"key": r["key"], **_counts(r), **warnings.get(r["key"], {"red": 0, "yellow": 0})}
            for r in figures.breakdown(scope, "month")
        ],
        "by_division": [
            {"key": r["key"], "label": r["label"], **_counts(r)}
            for r in figures.breakdown(scope, "division")
        ],
        "ratings": figures.rating_figures(scope),
        "hotline": figures.hotline_figures(scope),
        "licences": figures.licence_figures(scope),
    }


def answer_figures(message: registry.Message, payload: FiguresQuestion) -> dict[str, Any]:
    return node_figures(payload.since, payload.until)


@transaction.atomic
def _store(
    node: str, name: str, division: str, answer: dict[str, Any] | None, error: str = ""
) -> RegionalFigures:
    now = timezone.now()
    row, _ = RegionalFigures.objects.get_or_create(
        node=node, defaults={"name": name, "division": division}
    )
    row.name, row.division, row.attempted_at, row.last_error = name, division, now, error[:500]
    if answer is not None:
        row.figures, row.fetched_at = answer, now
        _keep_months(node, answer)
    row.save()
    return row


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _keep_months(node: str, answer: dict[str, Any]) -> None:
    """Replace the node's monthly rows with its answer's `by_month`: the known counters of
    each well-formed month, nothing else (decision 293)."""
    rows = []
    for entry in answer.get("by_month") or []:
        if not isinstance(entry, dict):
            continue
        try:
            month = dt.datetime.strptime(str(entry.get("key")), "%Y-%m").date()
        except ValueError:
            continue
        rows.append(
            RegionalMonth(node=node, month=month, **{f: _count(entry.get(f)) for f in MONTH_FIELDS})
        )
    RegionalMonth.objects.filter(node=node).delete()
    RegionalMonth.objects.bulk_create(rows, ignore_conflicts=True)


def sync_region() -> list[RegionalFigures]:
    """Ask every member of the directory for its figures; keep each answer."""
    try:
        members = list(directory.current().nodes.values())
    except DirectoryUnavailable as exc:
        raise RuleViolation("directory_unavailable", f"无法获取区域汇总：{exc}") from exc
    rows = []
    for node in sorted(members, key=lambda n: n.division):
        name = node_display_name(node.division, node.name)
        if node.id == settings.NODE_ID:
            rows.append(_store(node.id, name, node.division, node_figures()))
            continue
        try:
            answer = services.ask(node.id, FIGURES_QUERY, {})
        except (services.FederationUnavailable, RuleViolation) as exc:
            log.warning("regional figures: %s failed: %s", node.id, exc)
            rows.append(_store(node.id, name, node.division, None, f"无法获取：{exc}"))
            continue
        rows.append(_store(node.id, name, node.division, _screened(answer)))
    return rows


ALLOWED_KEYS = {
    "node",
    "generated_at",
    "period",
    "summary",
    "by_scope",
    "by_mode",
    "by_month",
    "by_division",
    "ratings",
    "hotline",
    "licences",
}


def _screened(answer: dict[str, Any]) -> dict[str, Any]:
    """Keep only the aggregate sections a member may send (anything else is dropped, so a
    member that sent more than aggregates would not have it stored here)."""
    return {k: v for k, v in answer.items() if k in ALLOWED_KEYS}


def sync_job() -> str | None:
    if not directory.is_federated():
        return None
    try:
        rows = sync_region()
    except RuleViolation as exc:
        log.warning("regional figures: %s", exc.message)
        return None
    failed = [r.name for r in rows if r.last_error]
    return f"区域汇总：{len(rows) - len(failed)} 个节点" + (
        f"，{'、'.join(failed)}失败" if failed else ""
    )


TOTALS = ("received", "accepted", "decided", "on_time", "late", "red", "open")


def _row(sums: dict[str, Any]) -> dict[str, Any]:
    values = {f: sums.get(f) or 0 for f in MONTH_FIELDS}
    decided, handled = values["decided"], values["handled"]
    return {
        **{k: values[k] for k in TOTALS if k in values},
        "open": values["received"] - values["finished"],
        "on_time_rate": round(100.0 * values["on_time"] / decided, 1) if decided else None,
        "mean_days": round(values["handling_days"] / handled, 1) if handled else None,
        "sums": values,
    }


def regional_rows(
    since: dt.date | None = None, until: dt.date | None = None
) -> list[dict[str, Any]]:
    """Each member's aggregates over the months of receipt from `since` to `until`
    (inclusive; all months when not given), summed from its monthly rows in one query, and
    the region's total."""
    months = RegionalMonth.objects.all()
    if since:
        months = months.filter(month__gte=since)
    if until:
        months = months.filter(month__lte=until)
    sums: dict[str, dict[str, Any]] = {
        cast(dict[str, Any], r)["node"]: cast(dict[str, Any], r)
        for r in months.values("node").order_by().annotate(**{f: Sum(f) for f in MONTH_FIELDS})
    }
    rows = []
    total = {f: 0 for f in MONTH_FIELDS}
    for r in RegionalFigures.objects.all():
        node_sums = sums.get(r.node, {})
        for f in MONTH_FIELDS:
            total[f] += node_sums.get(f) or 0
        rows.append(
            {"node": r.node, "name": r.name, "fetched_at": r.fetched_at, "error": r.last_error}
            | _row(node_sums)
        )
    if not rows:
        return []
    return [*rows, {"node": "", "name": "区域合计"} | _row(total)]


def register() -> None:
    registry.register_query(FIGURES_QUERY, FiguresQuestion, answer_figures)
