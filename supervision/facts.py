"""Keeping the figures: a case's facts from the case, and the monthly rollups from the facts.

A listener on every case transition marks the case dirty (`mark_dirty`, in the
transaction of the change: a refused change marks nothing). The scheduled job
`supervision.refresh_figures` (`refresh`) rebuilds the facts of the dirty cases and then
the rollup rows of each (month, organisation) pair they touched, old and new — so the
work per refresh is proportional to what changed, never to the number of cases.
`rebuild` does the same for every case (first install, data loaded outside the services,
`manage.py rebuild_figures`), set-based in SQL (supervision/sql.py); the rollups are
written by the same statements on both paths.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from cases.models import Case, CaseEvent, CaseMaterial, Commitment
from cases.workflow import definition_of
from catalog.models import ItemVersion
from core import clock
from core.models import ClockState, LimitUnit, Organisation
from core.process import Transition
from licences.models import Licence
from supervision import sql
from supervision.models import (
    CaseFact,
    DirtyCase,
    DivisionMonth,
    HandlingDays,
    ItemMonth,
    ItemTotal,
    OrgMonth,
    OrgTotal,
)

BATCH = 2000
# Case ids per set-based statement of a rebuild (each its own transaction).
REBUILD_CHUNK = 500_000


def mark_dirty(transition: Transition[Case]) -> None:
    """The transition listener: the case's figures must be recomputed."""
    DirtyCase.objects.bulk_create([DirtyCase(case_id=transition.process.pk)], ignore_conflicts=True)


def _days(limit: int | None, unit: str) -> int:
    """A limit in working days (a calendar-day or hour limit counts as what it is: the
    figures compare like with like per item)."""
    if not limit:
        return 0
    return limit // 24 if unit == LimitUnit.HOURS else limit


class _WorkingDays:
    """Working days between two dates, memoised for a batch (many cases share the same
    start and decision days)."""

    def __init__(self) -> None:
        self.memo: dict[tuple[dt.date, dt.date, str, str], int] = {}

    def between(self, start: dt.date, end: dt.date, unit: str, division: str) -> int:
        key = (start, end, unit, division[:2])
        if key not in self.memo:
            self.memo[key] = clock.between(start, end, unit, division)
        return self.memo[key]


_STOP_ACTIONS: dict[int, set[str]] = {}


def _stop_actions(case: Case) -> set[str]:
    """The actions that stop a case's clock (its decision), read from its definition."""
    if case.workflow_id not in _STOP_ACTIONS:
        definition = definition_of(case)
        _STOP_ACTIONS[case.workflow_id] = {
            a.name for a in definition.actions if a.clock == "stop" and a.name != "revoke_decision"
        }
    return _STOP_ACTIONS[case.workflow_id]


def facts_of(ids: Iterable[int]) -> tuple[list[CaseFact], set[int]]:
    """The facts of the given cases (those submitted), and the ids that have none."""
    ids = list(ids)
    cases = list(
        Case.objects.filter(pk__in=ids, submitted_at__isnull=False).select_related(
            "item_version", "workflow", "handling_org__division"
        )
    )
    found = {c.pk for c in cases}
    decisions: dict[int, dt.datetime] = {}
    stop_names = set().union(*(_stop_actions(c) for c in cases)) if cases else set()
    for case_id, at in (
        CaseEvent.objects.filter(case_id__in=found, action__in=stop_names)
        .order_by("at", "id")
        .values_list("case_id", "at")
    ):
        decisions.setdefault(case_id, at)
    commitments: dict[int, dict[str, str]] = defaultdict(dict)
    for case_id, kind, status in Commitment.objects.filter(case_id__in=found).values_list(
        "case_id", "kind", "status"
    ):
        commitments[case_id][kind] = status
    by_licence = dict(
        CaseMaterial.objects.filter(case_id__in=found, status=CaseMaterial.Status.PROVIDED)
        .filter(Q(licence__isnull=False) | ~Q(foreign_licence=""))
        .values("case_id")
        .annotate(n=Count("id"))
        .values_list("case_id", "n")
    )
    in_library = set(
        Licence.objects.filter(case_number__in=[c.number for c in cases]).values_list(
            "case_number", flat=True
        )
    )
    working = _WorkingDays()
    facts = []
    for case in cases:
        version = case.item_version
        unit = version.promised_limit_unit
        division = case.handling_org.division.code
        received = timezone.localdate(case.submitted_at)  # type: ignore[arg-type]
        decided_at = decisions.get(case.pk)
        decided_on = timezone.localdate(decided_at) if decided_at else None
        handling = None
        if decided_on and case.started_on:
            span = working.between(case.started_on, decided_on, unit, division)
            handling = max(0, span - case.paused_days)
        late = on_time = False
        if decided_on and case.started_on:
            if case.due_at is not None and decided_at is not None:
                late = decided_at > case.due_at
            elif case.due_date is not None:
                late = decided_on > case.due_date
            on_time = not late
        kinds = commitments.get(case.pk, {})
        licence_case = (
            case.outcome == Case.Outcome.APPROVED
            and version.result_type == ItemVersion.ResultType.LICENCE
        )
        facts.append(
            CaseFact(
                case_id=case.pk,
                month=received.replace(day=1),
                received_on=received,
                organisation_id=case.handling_org_id,
                division_code=division,
                receiving_org_id=case.receiving_org_id,
                item_id=version.item_id,
                scope=case.scope,
                mode=case.mode,
                accepted=case.started_on is not None,
                not_accepted=case.outcome == Case.Outcome.NOT_ACCEPTED,
                decided=decided_on is not None and case.started_on is not None,
                decided_on=decided_on,
                approved=case.outcome == Case.Outcome.APPROVED,
                on_time=on_time,
                late=late,
                finished=case.closed_at is not None,
                paused=case.clock_state == ClockState.PAUSED,
                handling_days=handling,
                limit_days=_days(version.promised_limit, unit),
                legal_days=_days(version.legal_limit, version.legal_limit_unit or unit),
                deficiency_used=Commitment.Kind.DEFICIENCY in kinds,
                deficiency_failed=kinds.get(Commitment.Kind.DEFICIENCY)
                == Commitment.Status.EXPIRED,
                notification_used=Commitment.Kind.NOTIFICATION in kinds,
                notification_failed=kinds.get(Commitment.Kind.NOTIFICATION)
                == Commitment.Status.FALSE,
                licence_materials=by_licence.get(case.pk, 0),
                licence_cases=licence_case,
                in_library=licence_case and case.number in in_library,
            )
        )
    return facts, set(ids) - found


def rollup(pairs: set[tuple[dt.date, int]]) -> None:
    """Rebuild the rollup rows of each (month, organisation) pair from its facts (the
    same set-based statements as `rebuild`, narrowed to the pairs), then the all-time
    item totals of the organisations touched."""
    by_month: dict[dt.date, set[int]] = defaultdict(set)
    for month, org in pairs:
        by_month[month].add(org)
    for month, orgs in by_month.items():
        for chunk in _chunks(sorted(orgs), 500):
            marks = ", ".join(["%s"] * len(chunk))
            sql.write_rollups(f"f.month = %s AND f.organisation_id IN ({marks})", [month, *chunk])
    sql.write_totals(sorted({org for _, org in pairs}))
    codes = dict(
        Organisation.objects.filter(pk__in={org for _, org in pairs}).values_list(
            "pk", "division__code"
        )
    )
    sql.write_division_months(sorted({(month, codes[org]) for month, org in pairs}))


def _chunks(values: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def update_facts(ids: list[int]) -> set[tuple[dt.date, int]]:
    """Rewrite the facts of the given cases; the (month, organisation) pairs touched."""
    pairs = set(CaseFact.objects.filter(case_id__in=ids).values_list("month", "organisation_id"))
    facts, _ = facts_of(ids)
    CaseFact.objects.filter(case_id__in=ids).delete()
    CaseFact.objects.bulk_create(facts)
    pairs |= {(f.month, f.organisation_id) for f in facts}
    return pairs


def refresh(limit: int = 20 * BATCH) -> int:
    """The job: consume the dirty cases (at most `limit` a run), then rebuild the rollups
    they touched. Returns how many cases were refreshed."""
    done = 0
    pairs: set[tuple[dt.date, int]] = set()
    while done < limit:
        with transaction.atomic():
            marks = list(DirtyCase.objects.order_by("id").values_list("id", "case_id")[:BATCH])
            if not marks:
                break
            pairs |= update_facts([c for _, c in marks])
            DirtyCase.objects.filter(id__in=[m for m, _ in marks]).delete()
            done += len(marks)
    if pairs:
        with transaction.atomic():
            rollup(pairs)
    return done


def refresh_job() -> str | None:
    done = refresh()
    return f"统计刷新：{done} 件" if done else None


def stop_actions() -> dict[int, set[str]]:
    """The actions that stop the clock, per workflow definition in use."""
    from cases.models import WorkflowDefinition

    out = {}
    for definition in WorkflowDefinition.objects.filter(
        pk__in=Case.objects.order_by().values("workflow_id").distinct()
    ):
        case = Case(workflow=definition)
        out[definition.pk] = _stop_actions(case)
    return out


def rebuild(chunk: int = REBUILD_CHUNK) -> int:
    """Every fact and rollup from scratch (first install, data loaded outside the
    services), set-based: one `INSERT … SELECT` per range of `chunk` case ids, then one per
    rollup (supervision/sql.py). Returns the number of cases with facts."""
    with transaction.atomic():
        DirtyCase.objects.all().delete()
        ItemTotal.objects.all().delete()
        DivisionMonth.objects.all().delete()
        OrgTotal.objects.all().delete()
        HandlingDays.objects.all().delete()
        ItemMonth.objects.all().delete()
        OrgMonth.objects.all().delete()
        CaseFact.objects.all().delete()
    bounds = Case.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return 0
    total = 0
    sql.prepare_helpers(stop_actions())
    try:
        for first in range(bounds["low"] - 1, bounds["high"], chunk):
            with transaction.atomic():
                total += sql.write_facts(first, first + chunk)
        with transaction.atomic():
            sql.write_rollups()
            sql.write_totals()
            sql.write_division_months()
    finally:
        sql.drop_helpers()
    return total
