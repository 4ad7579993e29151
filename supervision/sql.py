"""The set-based statements that write the figures: every case's `CaseFact` and the
rollups of the facts, each an `INSERT … SELECT … GROUP BY` run inside the database, on
PostgreSQL and on SQLite alike (decision 290).

- `write_facts(first, last)` writes the facts of the submitted cases whose id lies in
  `(first, last]` in one statement: the decision is the first event whose action stops the
  clock of the case's pinned workflow (a small table of those actions, `supervision_stop`),
  the handling time in working days is the difference of two running counts of working
  days (`supervision_workday`, one row per day and province, from `core.calendar`), the
  commitments and the materials replaced by a licence are grouped in the same statement.
  `facts.facts_of` computes the same row in Python for the incremental path; a test holds
  the two equal over generated cases.
- `write_rollups(where)` rebuilds `OrgMonth`, `ItemMonth` and `HandlingDays` from the facts
  matching `where`, and `write_totals(orgs)` the all-time `OrgTotal` and `ItemTotal` of
  organisations: both paths (the incremental refresh and the rebuild) call them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone

from cases.models import Case, CaseEvent, CaseMaterial, Commitment
from catalog.models import ItemVersion
from core.calendar import working_days_in
from core.models import ClockState, Division, LimitUnit, Organisation
from licences.models import Licence
from supervision.models import (
    COUNTER_FIELDS,
    CaseFact,
    DivisionMonth,
    HandlingDays,
    ItemMonth,
    ItemTotal,
    OrgMonth,
    OrgTotal,
)

STOP_TABLE = "supervision_stop"
WORKDAY_TABLE = "supervision_workday"
# Working days are counted this far past today (a decision is never later than today; a
# test's clock may be moved forward a little).
WORKDAY_MARGIN = dt.timedelta(days=730)

FLAGS = [
    f
    for f in COUNTER_FIELDS
    if f
    not in ("received", "handled", "handling_days", "limit_days", "legal_days", "licence_materials")
]


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _local_date(expr: str) -> str:
    """The date, in the node's time zone, of a stored instant."""
    if _postgres():
        return f"CAST(({expr} AT TIME ZONE '{settings.TIME_ZONE}') AS date)"
    offset = ZoneInfo(settings.TIME_ZONE).utcoffset(dt.datetime.now())
    minutes = int(offset.total_seconds() // 60) if offset else 0
    return f"date({expr}, '{minutes:+d} minutes')"


def _month_of(expr: str) -> str:
    if _postgres():
        return f"CAST(date_trunc('month', {expr} AT TIME ZONE '{settings.TIME_ZONE}') AS date)"
    offset = ZoneInfo(settings.TIME_ZONE).utcoffset(dt.datetime.now())
    minutes = int(offset.total_seconds() // 60) if offset else 0
    return f"date({expr}, '{minutes:+d} minutes', 'start of month')"


def _days_between(start: str, end: str) -> str:
    if _postgres():
        return f"({end} - {start})"
    return f"CAST(julianday({end}) - julianday({start}) AS integer)"


def _limit_days(amount: str, unit: str) -> str:
    """`facts._days` in SQL: 0 without a limit, hours as whole days."""
    return (
        f"CASE WHEN {amount} IS NULL OR {amount} = 0 THEN 0"
        f" WHEN {unit} = '{LimitUnit.HOURS}' THEN {amount} / 24 ELSE {amount} END"
    )


# --- the two helper tables ------------------------------------------------------------------


def _temp_table(name: str, columns: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(f"CREATE TEMPORARY TABLE {name} ({columns})")


def prepare_helpers(stop_actions: dict[int, set[str]]) -> None:
    """Fill the stop actions of each workflow and the running count of working days of
    every province the organisations lie in, from the first start to past today."""
    _temp_table(STOP_TABLE, "workflow_id bigint NOT NULL, action varchar(64) NOT NULL")
    _temp_table(
        WORKDAY_TABLE, "province varchar(2) NOT NULL, day date NOT NULL, ordinal integer NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {STOP_TABLE} (workflow_id, action) VALUES (%s, %s)",
            [(w, a) for w, actions in stop_actions.items() for a in sorted(actions)],
        )
    earliest = (
        Case.objects.filter(started_on__isnull=False)
        .order_by("started_on")
        .values_list("started_on", flat=True)
        .first()
    )
    if earliest is None:
        return
    last = timezone.localdate() + WORKDAY_MARGIN
    provinces = sorted(
        {
            code[:2]
            for code in Division.objects.filter(
                pk__in=Organisation.objects.values("division_id")
            ).values_list("code", flat=True)
        }
    )
    rows: list[tuple[str, dt.date, int]] = []
    for province in provinces:
        working = set(working_days_in(earliest, last, province + "0000"))
        count, day = 0, earliest
        while day <= last:
            count += day in working
            rows.append((province, day, count))
            day += dt.timedelta(days=1)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {WORKDAY_TABLE} (province, day, ordinal) VALUES (%s, %s, %s)", rows
        )
        cursor.execute(f"CREATE INDEX {WORKDAY_TABLE}_day ON {WORKDAY_TABLE} (province, day)")


def drop_helpers() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STOP_TABLE}")
        cursor.execute(f"DROP TABLE IF EXISTS {WORKDAY_TABLE}")


# --- facts ----------------------------------------------------------------------------------

FACT_COLUMNS = [
    "case_id",
    "month",
    "received_on",
    "organisation_id",
    "division_code",
    "receiving_org_id",
    "item_id",
    "scope",
    "mode",
    "accepted",
    "not_accepted",
    "decided",
    "decided_on",
    "approved",
    "on_time",
    "late",
    "finished",
    "paused",
    "handling_days",
    "limit_days",
    "legal_days",
    "deficiency_used",
    "deficiency_failed",
    "notification_used",
    "notification_failed",
    "licence_materials",
    "licence_cases",
    "in_library",
]


def _facts_sql() -> str:
    case, event = Case._meta.db_table, CaseEvent._meta.db_table
    commitment, material = Commitment._meta.db_table, CaseMaterial._meta.db_table
    version = ItemVersion._meta.db_table
    org, division = Organisation._meta.db_table, Division._meta.db_table
    decided_on = _local_date("dec.at")
    both = "(dec.at IS NOT NULL AND c.started_on IS NOT NULL)"
    late = (
        "(CASE WHEN c.due_at IS NOT NULL THEN dec.at > c.due_at"
        f" WHEN c.due_date IS NOT NULL THEN {decided_on} > c.due_date ELSE 1 = 0 END)"
    )
    span = (
        f"(CASE v.promised_limit_unit WHEN '{LimitUnit.WORKING_DAYS}' THEN we.ordinal - ws.ordinal"
        f" WHEN '{LimitUnit.HOURS}' THEN 24 * {_days_between('c.started_on', decided_on)}"
        f" ELSE {_days_between('c.started_on', decided_on)} END - c.paused_days)"
    )
    handling = f"CASE WHEN NOT {both} THEN NULL WHEN {span} < 0 THEN 0 ELSE {span} END"
    legal_unit = (
        "CASE WHEN v.legal_limit_unit IS NULL OR v.legal_limit_unit = ''"
        " THEN v.promised_limit_unit ELSE v.legal_limit_unit END"
    )
    deficiency, notification = Commitment.Kind.DEFICIENCY, Commitment.Kind.NOTIFICATION
    licence = Licence._meta.db_table
    licence_case = f"(c.outcome = '{Case.Outcome.APPROVED}' AND v.result_type = '{ItemVersion.ResultType.LICENCE}')"
    values = [
        "c.id",
        _month_of("c.submitted_at"),
        _local_date("c.submitted_at"),
        "c.handling_org_id",
        "d.code",
        "c.receiving_org_id",
        "v.item_id",
        "c.scope",
        "c.mode",
        "c.started_on IS NOT NULL",
        f"c.outcome = '{Case.Outcome.NOT_ACCEPTED}'",
        both,
        f"CASE WHEN dec.at IS NULL THEN NULL ELSE {decided_on} END",
        f"c.outcome = '{Case.Outcome.APPROVED}'",
        f"({both} AND NOT {late})",
        f"({both} AND {late})",
        "c.closed_at IS NOT NULL",
        f"c.clock_state = '{ClockState.PAUSED}'",
        handling,
        _limit_days("v.promised_limit", "v.promised_limit_unit"),
        _limit_days("v.legal_limit", legal_unit),
        "COALESCE(cm.deficiency_used, 0) > 0",
        "COALESCE(cm.deficiency_failed, 0) > 0",
        "COALESCE(cm.notification_used, 0) > 0",
        "COALESCE(cm.notification_failed, 0) > 0",
        "COALESCE(mat.n, 0)",
        licence_case,
        f"({licence_case} AND EXISTS (SELECT 1 FROM {licence} l WHERE l.case_number = c.number))",
    ]
    return f"""
INSERT INTO {_q(CaseFact._meta.db_table)} ({", ".join(FACT_COLUMNS)})
SELECT {", ".join(values)}
FROM {case} c
JOIN {version} v ON v.id = c.item_version_id
JOIN {org} o ON o.id = c.handling_org_id
JOIN {division} d ON d.id = o.division_id
LEFT JOIN (
    SELECT e.case_id, MIN(e.at) AS at
    FROM {event} e
    JOIN {case} c2 ON c2.id = e.case_id
    JOIN {STOP_TABLE} s ON s.workflow_id = c2.workflow_id AND s.action = e.action
    WHERE e.case_id > %(first)s AND e.case_id <= %(last)s
    GROUP BY e.case_id
) dec ON dec.case_id = c.id
LEFT JOIN (
    SELECT case_id,
        SUM(CASE WHEN kind = '{deficiency}' THEN 1 ELSE 0 END) AS deficiency_used,
        SUM(CASE WHEN kind = '{deficiency}' AND status = '{Commitment.Status.EXPIRED}'
            THEN 1 ELSE 0 END) AS deficiency_failed,
        SUM(CASE WHEN kind = '{notification}' THEN 1 ELSE 0 END) AS notification_used,
        SUM(CASE WHEN kind = '{notification}' AND status = '{Commitment.Status.FALSE}'
            THEN 1 ELSE 0 END) AS notification_failed
    FROM {commitment}
    WHERE case_id > %(first)s AND case_id <= %(last)s
    GROUP BY case_id
) cm ON cm.case_id = c.id
LEFT JOIN (
    SELECT case_id, COUNT(*) AS n
    FROM {material}
    WHERE case_id > %(first)s AND case_id <= %(last)s
        AND status = '{CaseMaterial.Status.PROVIDED}'
        AND (licence_id IS NOT NULL OR foreign_licence <> '')
    GROUP BY case_id
) mat ON mat.case_id = c.id
LEFT JOIN {WORKDAY_TABLE} ws ON ws.province = substr(d.code, 1, 2) AND ws.day = c.started_on
LEFT JOIN {WORKDAY_TABLE} we ON we.province = substr(d.code, 1, 2) AND we.day = {decided_on}
WHERE c.submitted_at IS NOT NULL AND c.id > %(first)s AND c.id <= %(last)s
"""


def write_facts(first: int, last: int) -> int:
    """The facts of the submitted cases with `first < id <= last` (none may exist yet);
    how many were written. `prepare_helpers` must have run on this connection."""
    with connection.cursor() as cursor:
        if _postgres():
            # The statement's sorts and hashes of a chunk fit in memory instead of on disk.
            cursor.execute("SET LOCAL work_mem = '128MB'")
        cursor.execute(_facts_sql(), {"first": first, "last": last})
        return int(cursor.rowcount)


# --- rollups --------------------------------------------------------------------------------


def _counter_sums(f: str = "f") -> list[str]:
    sums = []
    for name in COUNTER_FIELDS:
        if name == "received":
            sums.append("COUNT(*)")
        elif name in FLAGS:
            sums.append(f"SUM(CASE WHEN {f}.{name} THEN 1 ELSE 0 END)")
        elif name == "handled":
            sums.append(f"COUNT({f}.handling_days)")
        elif name in ("limit_days", "legal_days"):
            sums.append(f"COALESCE(SUM(CASE WHEN {f}.decided THEN {f}.{name} ELSE 0 END), 0)")
        else:
            sums.append(f"COALESCE(SUM({f}.{name}), 0)")
    return sums


def _from_facts(where: str) -> str:
    org, division = Organisation._meta.db_table, Division._meta.db_table
    return (
        f"FROM {_q(CaseFact._meta.db_table)} f JOIN {org} o ON o.id = f.organisation_id"
        f" JOIN {division} d ON d.id = o.division_id WHERE {where}"
    )


def write_rollups(where: str = "1 = 1", params: Iterable[Any] = ()) -> None:
    """Rebuild the monthly rollup rows of the facts matching `where` (on `f`, the facts:
    whole (month, organisation) pairs), each rollup in one statement."""
    params = list(params)
    counters = ", ".join(COUNTER_FIELDS)
    sums = ", ".join(_counter_sums())
    statements = [
        f"DELETE FROM {_q(model._meta.db_table)} WHERE id IN (SELECT r.id FROM"
        f" {_q(model._meta.db_table)} r JOIN (SELECT DISTINCT f.month, f.organisation_id"
        f" {_from_facts(where)}) p ON p.month = r.month AND p.organisation_id = r.organisation_id)"
        for model in (OrgMonth, ItemMonth, HandlingDays)
    ]
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement, params)
        cursor.execute(
            f"INSERT INTO {_q(OrgMonth._meta.db_table)}"
            f" (month, organisation_id, scope, mode, division_code, {counters})"
            f" SELECT f.month, f.organisation_id, f.scope, f.mode, d.code, {sums}"
            f" {_from_facts(where)} GROUP BY f.month, f.organisation_id, f.scope, f.mode, d.code",
            params,
        )
        cursor.execute(
            f"INSERT INTO {_q(ItemMonth._meta.db_table)}"
            f" (month, organisation_id, item_id, division_code, {counters})"
            f" SELECT f.month, f.organisation_id, f.item_id, d.code, {sums}"
            f" {_from_facts(where)} GROUP BY f.month, f.organisation_id, f.item_id, d.code",
            params,
        )
        cursor.execute(
            f"INSERT INTO {_q(HandlingDays._meta.db_table)}"
            " (month, organisation_id, days, count, division_code)"
            " SELECT f.month, f.organisation_id, f.handling_days, COUNT(*), d.code"
            f" {_from_facts(where + ' AND f.handling_days IS NOT NULL')}"
            " GROUP BY f.month, f.organisation_id, f.handling_days, d.code",
            params,
        )


def write_totals(organisations: list[int] | None = None) -> None:
    """Rebuild the all-time `OrgTotal` and `ItemTotal` rows of the given organisations
    (every one when None) from their monthly rows: a view without a period reads these
    (decision 291)."""
    org, division = Organisation._meta.db_table, Division._meta.db_table
    counters = ", ".join(COUNTER_FIELDS)
    sums = ", ".join(f"SUM(m.{name})" for name in COUNTER_FIELDS)
    chunks: list[list[int] | None] = (
        [None]
        if organisations is None
        else [organisations[i : i + 500] for i in range(0, len(organisations), 500)]
    )
    targets = [
        (OrgTotal, OrgMonth, ["scope", "mode"]),
        (ItemTotal, ItemMonth, ["item_id"]),
    ]
    with connection.cursor() as cursor:
        for chunk in chunks:
            for total_model, month_model, keys in targets:
                total, month = _q(total_model._meta.db_table), _q(month_model._meta.db_table)
                if chunk is None:
                    where, params = "1 = 1", []
                    cursor.execute(f"DELETE FROM {total}")
                else:
                    marks = ", ".join(["%s"] * len(chunk))
                    where, params = f"m.organisation_id IN ({marks})", chunk
                    cursor.execute(f"DELETE FROM {total} WHERE organisation_id IN ({marks})", chunk)
                columns = ", ".join(keys)
                grouped = ", ".join(f"m.{k}" for k in keys)
                cursor.execute(
                    f"INSERT INTO {total} (organisation_id, {columns}, division_code, {counters})"
                    f" SELECT m.organisation_id, {grouped}, d.code, {sums} FROM {month} m"
                    f" JOIN {org} o ON o.id = m.organisation_id JOIN {division} d"
                    f" ON d.id = o.division_id WHERE {where}"
                    f" GROUP BY m.organisation_id, {grouped}, d.code",
                    params,
                )


def write_division_months(pairs: list[tuple[dt.date, str]] | None = None) -> None:
    """Rebuild the `DivisionMonth` rows of the given (month, division code) pairs (every
    one when None) from `OrgMonth`."""
    target, source = _q(DivisionMonth._meta.db_table), _q(OrgMonth._meta.db_table)
    counters = ", ".join(COUNTER_FIELDS)
    sums = ", ".join(f"SUM(m.{name})" for name in COUNTER_FIELDS)
    insert = (
        f"INSERT INTO {target} (month, division_code, {counters})"
        f" SELECT m.month, m.division_code, {sums} FROM {source} m WHERE %s"
        " GROUP BY m.month, m.division_code"
    )
    with connection.cursor() as cursor:
        if pairs is None:
            cursor.execute(f"DELETE FROM {target}")
            cursor.execute(insert.replace("%s", "1 = 1"))
            return
        for month, code in pairs:
            cursor.execute(
                f"DELETE FROM {target} WHERE month = %s AND division_code = %s", [month, code]
            )
            cursor.execute(
                insert.replace("%s", "m.month = %s AND m.division_code = %s"), [month, code]
            )
