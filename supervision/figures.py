"""The figures a supervisor reads, computed from the rollups (cases) and from the other
apps' own tables (licences, ratings, hotline, lists): nothing is typed in.

Every function takes a `Scope` — what the viewer may see (a division prefix, or a set of
organisations) narrowed to what they asked for (a city, an organisation, an item, a
period) — and answers with a constant number of queries whatever the number of cases.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, cast

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from cases.models import Case
from catalog import selectors as catalog_selectors
from catalog.models import ItemVersion, ListEntry
from catalog.offers import MODE_CHOICES, SCOPE_CHOICES
from core.models import Division, Organisation
from core.registry import Registry
from hotline.models import Ticket
from licences.models import Licence
from ratings.models import Rating, Rectification
from sharing import selectors as sharing_selectors
from supervision.models import (
    COUNTER_FIELDS,
    CaseFact,
    DivisionMonth,
    HandlingDays,
    ItemMonth,
    ItemTotal,
    ListTarget,
    OrgMonth,
    OrgTotal,
)

SCOPE_LABELS = dict(SCOPE_CHOICES)
MODE_LABELS = dict(MODE_CHOICES)


@dataclass(frozen=True)
class Scope:
    """What a figure covers. `prefix` is a division code prefix ("21" a province, "2102" a
    city); `organisations`, when set, limits to those organisations; `item`, to one item;
    `since`/`until` are first days of months (inclusive)."""

    prefix: str = ""
    organisations: tuple[int, ...] | None = None
    item: int | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    title: str = ""
    level: str = "province"
    # Only organisations of this node (not the copies of other members' organisations the
    # regional zone keeps): what this node reports to the region.
    local: bool = False

    def narrowed(self, **changes: Any) -> Scope:
        return replace(self, **changes)

    def rollup_filter(self, org_field: str = "organisation") -> Q:
        """On facts and rollups, which carry their organisation's division code."""
        q = Q(**{f"{org_field}__node": ""}) if self.local else Q()
        if self.prefix:
            q &= Q(division_code__startswith=self.prefix)
        if self.organisations is not None:
            q &= Q(**{f"{org_field}_id__in": self.organisations})
        if self.since:
            q &= Q(month__gte=self.since)
        if self.until:
            q &= Q(month__lte=self.until)
        return q

    def division_filter(self) -> Q:
        """On rollups by division (no organisation): the prefix and the months."""
        q = Q(division_code__startswith=self.prefix) if self.prefix else Q()
        if self.since:
            q &= Q(month__gte=self.since)
        if self.until:
            q &= Q(month__lte=self.until)
        return q

    def org_filter(self, org_field: str) -> Q:
        q = Q(**{f"{org_field}__node": ""}) if self.local else Q()
        if self.prefix:
            q &= Q(**{f"{org_field}__division__code__startswith": self.prefix})
        if self.organisations is not None:
            q &= Q(**{f"{org_field}_id__in": self.organisations})
        return q

    def organisations_q(self) -> Q:
        """The same limits on the Organisation table itself."""
        q = Q(node="") if self.local else Q()
        if self.prefix:
            q &= Q(division__code__startswith=self.prefix)
        if self.organisations is not None:
            q &= Q(pk__in=self.organisations)
        return q

    def time_filter(self, at_field: str) -> Q:
        q = Q()
        if self.since:
            q &= Q(**{f"{at_field}__date__gte": self.since})
        if self.until:
            q &= Q(**{f"{at_field}__date__lt": next_month(self.until)})
        return q


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _sum_all() -> dict[str, Any]:
    return {name: Sum(name, default=0) for name in COUNTER_FIELDS}


def _derived(row: dict[str, Any]) -> dict[str, Any]:
    """The rates and means a counters row implies (None where the base is 0)."""
    out = dict(row)
    decided = row.get("decided") or 0
    handled = row.get("handled") or 0
    out["on_time_rate"] = _rate(row.get("on_time", 0), decided)
    out["mean_days"] = round(row["handling_days"] / handled, 1) if handled else None
    out["mean_limit"] = round(row["limit_days"] / decided, 1) if decided else None
    out["mean_legal"] = round(row["legal_days"] / decided, 1) if decided else None
    out["open"] = (row.get("received") or 0) - (row.get("finished") or 0)
    out["deficiency_failure_rate"] = _rate(
        row.get("deficiency_failed", 0), row.get("deficiency_used", 0)
    )
    out["notification_failure_rate"] = _rate(
        row.get("notification_failed", 0), row.get("notification_used", 0)
    )
    return out


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _rollups(scope: Scope) -> QuerySet[Any]:
    """The rollup a scope reads: an item's months; without a period the all-time
    organisation totals (one row per organisation, scope and mode instead of one per
    month too; decision 291); else the organisation months."""
    if scope.item is not None:
        return ItemMonth.objects.filter(scope.rollup_filter(), item_id=scope.item)
    if scope.since is None and scope.until is None:
        return OrgTotal.objects.filter(scope.rollup_filter())
    return OrgMonth.objects.filter(scope.rollup_filter())


def _warned(scope: Scope) -> tuple[QuerySet[Case], set[int]]:
    """The open yellow and red cases of the scope's items and period, and the scope's
    organisations: the counts are grouped by organisation through the `warning` index
    alone and summed over the scope's organisations here, never joined through divisions
    (a join the planner turned into a bitmap scan per organisation, 7.5 s at 1.5M cases;
    decision 292)."""
    qs = Case.objects.filter(warning__in=[Case.Warning.YELLOW, Case.Warning.RED])
    if scope.item is not None:
        qs = qs.filter(item_version__item_id=scope.item)
    if scope.since:
        qs = qs.filter(submitted_at__date__gte=scope.since)
    if scope.until:
        qs = qs.filter(submitted_at__date__lt=next_month(scope.until))
    orgs = set(Organisation.objects.filter(scope.organisations_q()).values_list("pk", flat=True))
    return qs, orgs


def _months(scope: Scope) -> QuerySet[Any]:
    """Months need the months: a division's view sums the division months, a view of
    organisations (or of this node's own, for the region) their organisation months."""
    if scope.organisations is None and not scope.local:
        return DivisionMonth.objects.filter(scope.division_filter())
    return OrgMonth.objects.filter(scope.rollup_filter())


def live_warnings(scope: Scope) -> dict[str, int]:
    """Open cases now yellow or red (the deadline scan keeps `Case.warning`; read through
    its index, never from a rollup, because it changes with the date alone)."""
    qs, orgs = _warned(scope)
    out = {"yellow": 0, "red": 0}
    for org, warning, n in (
        qs.values("handling_org_id", "warning")
        .order_by()
        .annotate(n=Count("*"))
        .values_list("handling_org_id", "warning", "n")
    ):
        if org in orgs:
            out[warning] += n
    return out


def live_warnings_by_month(scope: Scope) -> dict[str, dict[str, int]]:
    """`live_warnings` per month of receipt ("YYYY-MM"), in one query: what a node reports
    to the region beside its monthly counters (decision 293)."""
    qs, orgs = _warned(scope)
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"yellow": 0, "red": 0})
    for org, month, warning, n in (
        qs.annotate(m=TruncMonth("submitted_at"))
        .values("handling_org_id", "m", "warning")
        .order_by()
        .annotate(n=Count("pk"))
        .values_list("handling_org_id", "m", "warning", "n")
    ):
        if org in orgs and month is not None:
            out[f"{month:%Y-%m}"][warning] += n
    return dict(out)


def percentiles(scope: Scope, points: tuple[int, ...] = (50, 90, 95)) -> dict[int, int | None]:
    """Percentiles of the handling time in working days, from the distribution rollup (an
    item's from its facts)."""
    dist: Any
    if scope.item is not None:
        dist = (
            CaseFact.objects.filter(
                scope.rollup_filter(), item_id=scope.item, handling_days__isnull=False
            )
            .values("handling_days")
            .order_by("handling_days")
            .annotate(n=Count("case_id"))
            .values_list("handling_days", "n")
        )
    else:
        dist = (
            HandlingDays.objects.filter(scope.rollup_filter())
            .values("days")
            .order_by("days")
            .annotate(n=Sum("count"))
            .values_list("days", "n")
        )
    rows = list(dist)
    total = sum(n for _, n in rows)
    result: dict[int, int | None] = {}
    for p in points:
        if not total:
            result[p] = None
            continue
        wanted = p * total / 100.0
        seen = 0
        for days, n in rows:
            seen += n
            if seen >= wanted:
                result[p] = days
                break
    return result


def summary(scope: Scope) -> dict[str, Any]:
    """The headline figures of a scope: cases, time, warnings, 容缺 and 告知承诺."""
    row = _derived(_rollups(scope).aggregate(**_sum_all()))
    live = live_warnings(scope)
    row["yellow"] = live["yellow"]
    row["red"] = live["red"]
    row["overdue"] = row["late"] + live["red"]
    row["percentiles"] = percentiles(scope)
    return row


BREAKDOWNS = {
    "scope": "通办范围",
    "mode": "业务模式",
    "organisation": "办理机构",
    "division": "行政区划",
    "item": "事项",
    "month": "月份",
}


def breakdown(scope: Scope, by: str, *, limit: int = 200) -> list[dict[str, Any]]:
    """The counters of a scope split by one dimension, with a label and the key the
    drill-down link carries."""
    if by not in BREAKDOWNS:
        raise ValueError(by)
    base: QuerySet[Any]
    if by == "item":
        if scope.since is None and scope.until is None:
            # All months: the all-time item totals, a row per (organisation, item) instead
            # of one per month too (decision 291).
            base = ItemTotal.objects.filter(scope.rollup_filter())
        else:
            base = ItemMonth.objects.filter(scope.rollup_filter())
        if scope.item is not None:
            base = base.filter(item_id=scope.item)
    else:
        base = _rollups(scope)
    if by == "month" and scope.item is None:
        base = _months(scope)
    if by == "division":
        by_division: list[dict[str, Any]] = [
            cast(dict[str, Any], r)
            for r in base.values("organisation__division_id").order_by().annotate(**_sum_all())
        ]
        divisions = {
            d.pk: d
            for d in Division.objects.filter(
                pk__in=[r["organisation__division_id"] for r in by_division]
            ).select_related("parent__parent__parent")
        }
        below = "prefecture" if len(scope.prefix) <= 2 else "county"
        merged: dict[str, dict[str, Any]] = {}
        for r in by_division:
            d = divisions[r.pop("organisation__division_id")]
            city = _division_at(d, below)
            acc = merged.setdefault(
                city.code, {"key": city.code, "label": city.name, **{f: 0 for f in COUNTER_FIELDS}}
            )
            for f in COUNTER_FIELDS:
                acc[f] += r[f]
        return sorted((_derived(r) for r in merged.values()), key=lambda r: r["key"])
    key_field = {
        "scope": "scope",
        "mode": "mode",
        "organisation": "organisation_id",
        "item": "item_id",
        "month": "month",
    }[by]
    grouped = base.values(key_field).order_by().annotate(**_sum_all())
    if by in ("item", "organisation"):
        # A province has ~10⁵ items: the busiest `limit` are chosen in SQL with one sum,
        # then only those are summed in full (decision 254).
        busiest = (
            base.values(key_field)
            .order_by()
            .annotate(busy=Sum("received"))
            .order_by("-busy", key_field)
            .values_list(key_field, flat=True)[:limit]
        )
        grouped = grouped.filter(**{f"{key_field}__in": list(busiest)})
    rows = [cast(dict[str, Any], r) for r in grouped]
    labels: dict[Any, str]
    if by == "scope":
        labels = SCOPE_LABELS | {"": "未记录"}
    elif by == "mode":
        labels = MODE_LABELS
    elif by == "organisation":
        labels = dict(
            Organisation.objects.filter(pk__in=[r[key_field] for r in rows]).values_list(
                "pk", "name"
            )
        )
    elif by == "item":
        labels = item_names([r[key_field] for r in rows])
    else:
        labels = {r[key_field]: f"{r[key_field]:%Y年%m月}" for r in rows}
    out = []
    for r in rows:
        key = r.pop(key_field)
        out.append(
            _derived(
                {
                    "key": key if by != "month" else f"{key:%Y-%m}",
                    "label": labels.get(key, str(key)),
                    **r,
                }
            )
        )
    if by == "month":
        out.sort(key=lambda r: r["key"])
    else:
        out.sort(key=lambda r: (-r["received"], str(r["label"])))
    return out[:limit]


LEVEL_ORDER = ["province", "prefecture", "county", "functional_zone", "township", "village"]


def _division_at(division: Division, level: str) -> Division:
    """The division at `level` that `division` lies in (a city for a province's view, a
    county for a city's); a division above that level stands for itself."""
    d = division
    while d.parent is not None and LEVEL_ORDER.index(d.level) > LEVEL_ORDER.index(level):
        d = d.parent
    return d


def item_names(ids: list[int]) -> dict[int, str]:
    """The name of each item in force (its latest published version), in one query."""
    names: dict[int, str] = {}
    for item_id, name in (
        ItemVersion.objects.filter(item_id__in=ids, status="published")
        .order_by("item_id", "number")
        .values_list("item_id", "name")
    ):
        names[item_id] = name
    return names


# Other apps' figures ------------------------------------------------------------------------


def licence_figures(scope: Scope) -> dict[str, Any]:
    """Licences issued in the scope and period, and the 入库 rate of the approved cases whose
    result is a licence, from the rollups (the facts' `licence_cases` and `in_library`,
    the same rule as `cases.selectors.licence_coverage`; decision 292)."""
    issued = Licence.objects.filter(
        scope.org_filter("issuer"), scope.time_filter("issued_at")
    ).count()
    sums = _rollups(scope).aggregate(
        approved=Sum("licence_cases", default=0), with_licence=Sum("in_library", default=0)
    )
    approved, with_licence = sums["approved"], sums["with_licence"]
    return {
        "issued": issued,
        "approved_licence_cases": approved,
        "in_library": with_licence,
        "library_rate": _rate(with_licence, approved),
    }


def rating_figures(scope: Scope) -> dict[str, Any]:
    """好差评: ratings, bad ratings, and how the bad ones were rectified."""
    ratings = Rating.objects.filter(
        scope.org_filter("organisation"), scope.time_filter("created_at")
    )
    if scope.item is not None:
        ratings = ratings.filter(item_id=scope.item)
    r = ratings.aggregate(total=Count("pk"), bad=Count("pk", filter=Q(bad=True)))
    rect = Rectification.objects.filter(rating__in=ratings)
    took = ExpressionWrapper(F("closed_at") - F("started_at"), output_field=DurationField())
    x = rect.aggregate(
        total=Count("pk"),
        closed=Count("pk", filter=Q(closed_at__isnull=False)),
        red=Count("pk", filter=Q(warning="red", closed_at__isnull=True)),
        mean=Avg(took, filter=Q(closed_at__isnull=False, started_at__isnull=False)),
    )
    mean = x["mean"]
    return {
        "total": r["total"],
        "bad": r["bad"],
        "good_rate": _rate(r["total"] - r["bad"], r["total"]),
        "rectifications": x["total"],
        "rectified": x["closed"],
        "rectification_rate": _rate(x["closed"], x["total"]),
        "rectification_red": x["red"],
        "rectification_days": round(mean.total_seconds() / 86400, 1) if mean else None,
    }


def hotline_figures(scope: Scope) -> dict[str, Any]:
    """12345: tickets registered, closed, closed by their due date, and red now."""
    tickets = Ticket.objects.filter(scope.time_filter("created_at"))
    if scope.prefix:
        tickets = tickets.filter(division__code__startswith=scope.prefix)
    if scope.organisations is not None:
        tickets = tickets.filter(lead_id__in=scope.organisations)
    t = tickets.aggregate(
        total=Count("pk"),
        closed=Count("pk", filter=Q(closed_at__isnull=False)),
        on_time=Count(
            "pk",
            filter=Q(closed_at__isnull=False)
            & (Q(due_date__isnull=True) | Q(closed_at__date__lte=F("due_date"))),
        ),
        red=Count("pk", filter=Q(warning="red", closed_at__isnull=True)),
    )
    t["on_time_rate"] = _rate(t["on_time"], t["closed"])
    return t


# Figures other apps provide: a named registry, filled from the apps' ready() (sharing's,
# below this floor, by supervision itself); the dashboard asks by name, so a node without
# one shows "尚未接入".
FIGURE_SOURCES: Registry[Callable[[Scope], dict[str, Any] | None]] = Registry("figure source")


def sharing_figure(scope: Scope) -> dict[str, Any] | None:
    """数据共享申请按期答复 (应享尽享): of the sharing requests the providers inside the scope
    had to answer by today, how many were answered within their deadline
    (`sharing.selectors.provider_timeliness`). Two queries."""
    providers = set(
        Organisation.objects.filter(scope.organisations_q()).values_list("pk", flat=True)
    )
    rows = [r for r in sharing_selectors.provider_timeliness() if r.provider_id in providers]
    due = sum(r.due for r in rows)
    in_time = sum(r.answered_in_time for r in rows)
    return {
        "total": due,
        "answered": sum(r.answered for r in rows),
        "in_time": in_time,
        "rate": _rate(in_time, due),
    }


SHARING_FIGURE = "sharing.answered_within_deadline"  # the registered figure slot


def sharing_figures(scope: Scope) -> dict[str, Any] | None:
    """数据共享申请按期答复: None until the sharing app provides it."""
    source = FIGURE_SOURCES.get(SHARING_FIGURE)
    return source(scope) if source is not None else None


@dataclass
class Reduction:
    """减时间、减环节、减材料、减跑动次数 of one item: what its guide promises against the
    law, and what its cases show."""

    item_id: int
    name: str
    materials: int
    materials_by_licence: int
    licence_uses: int
    steps: int
    visits_required: int
    legal_limit: int | None
    promised_limit: int
    days_saved_promised: int | None
    mean_days: float | None
    days_saved_actual: float | None
    received: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def reductions(
    scope: Scope, *, limit: int = 50, rows: list[dict[str, Any]] | None = None
) -> list[Reduction]:
    """The four reductions per item in the scope, the busiest items first (`rows`: the
    item breakdown, when the caller has it already)."""
    rows = (rows if rows is not None else breakdown(scope, "item", limit=limit))[:limit]
    ids = [r["key"] for r in rows]
    versions = {
        v.item_id: v
        for v in ItemVersion.objects.filter(item_id__in=ids, status="published")
        .order_by("item_id", "number")
        .annotate(
            n_materials=Count("materials", distinct=True),
            n_by_licence=Count(
                "materials", filter=Q(materials__licence_type__isnull=False), distinct=True
            ),
        )
    }
    out = []
    for r in rows:
        v = versions.get(r["key"])
        if v is None:
            continue
        saved = v.legal_limit - v.promised_limit if v.legal_limit else None
        out.append(
            Reduction(
                item_id=v.item_id,
                name=v.name,
                materials=v.n_materials,  # type: ignore[attr-defined]
                materials_by_licence=v.n_by_licence,  # type: ignore[attr-defined]
                licence_uses=r["licence_materials"],
                steps=len(v.procedure_steps or []),
                visits_required=v.visits_required,
                legal_limit=v.legal_limit,
                promised_limit=v.promised_limit,
                days_saved_promised=saved,
                mean_days=r["mean_days"],
                days_saved_actual=round(v.legal_limit - r["mean_days"], 1)
                if v.legal_limit and r["mean_days"] is not None
                else None,
                received=r["received"],
            )
        )
    return out


def list_progress() -> list[dict[str, Any]]:
    """Each list target against the list version in force: items offered (in the target's
    mode, if it names one) against the cumulative target."""
    targets = list(ListTarget.objects.select_related("list"))
    lists = {t.list_id: t.list for t in targets}
    versions = {pk: catalog_selectors.current_list_version(lst) for pk, lst in lists.items()}
    entries: dict[int, list[list[str]]] = defaultdict(list)
    for version_id, modes in ListEntry.objects.filter(
        list_version__in=[v for v in versions.values() if v is not None]
    ).values_list("list_version_id", "modes"):
        entries[version_id].append(modes or [])
    today = timezone.localdate()
    out = []
    for t in targets:
        version = versions.get(t.list_id)
        offered = entries.get(version.pk, []) if version else []
        done = sum(1 for modes in offered if not t.mode or t.mode in modes)
        out.append(
            {
                "list": t.list.name,
                "list_code": t.list.code,
                "phase": t.phase,
                "mode": t.mode,
                "mode_label": MODE_LABELS.get(t.mode, "全部模式") if t.mode else "全部模式",
                "target": t.target,
                "done": done,
                "rate": _rate(min(done, t.target), t.target),
                "due_date": t.due_date,
                "overdue": bool(t.due_date and done < t.target and t.due_date < today),
            }
        )
    return out
