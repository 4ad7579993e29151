"""The generated cases: a province's years of 办件 — across states, business modes, 通办
scopes, channels and years, each with its timeline — over the generated catalog
(`bench.catalog`) and the generated citizens (`bench.people`), at up to 10,000,000 cases.

Set-based: one `INSERT … SELECT … FROM generate_series(…)` per chunk writes the cases and,
in the same statement (`WITH new AS (INSERT … RETURNING …)`), their timelines; case `g` is
a pure function of `g` (and of the catalog and citizens it is given), so a chunk that
failed is written again the same way. PostgreSQL only: the bench's database, and the
tests that build a few thousand cases run on PostgreSQL.

Generated cases are recognised by their number, `BN-<yyyymmdd>-<9-digit index>` (no node
has the code `BN`). A bookkeeping table (`bench_dataset`, outside Django's migrations)
records how many were made by which `GENERATOR_VERSION`, so that a later run only adds
what is missing, and a new version of the generator starts again (decision 162).

- `generate_cases(total)` — make sure `total` generated cases exist;
- `ensure_clerk()` — the staff account whose inbox and case pages the bench reads;
- `sample_numbers()` — case numbers of that clerk's organisation, for the case page.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import CharField, Field, TextField
from django.utils import timezone

from accounts.models import Role, StaffRole
from bench.casebench import DATASET_VERSION
from bench.catalog import BASIC_CODE_PREFIX, generate_items
from bench.database import vacuum_analyze
from bench.people import ensure_citizens
from cases.models import Case, CaseEvent, WorkflowDefinition
from catalog.models import ItemVersion
from core.personal_data import encrypt

# The data set's version: a change to what a case looks like makes a new data set (the
# orchestrator, bench/casebench.py, names the database after it).
GENERATOR_VERSION = DATASET_VERSION
NUMBER_PREFIX = "BN-"
DATASET = "cases"
CHUNK = 200_000
CLERK_USERNAME = "bench-clerk"
# The current year's cases are spread up to this many days before today; older years over
# the whole year. Cases younger than OPEN_DAYS may still be open.
YEARS = (2022, 2023, 2024, 2025, 2026)
YEAR_WEIGHTS = (15, 18, 20, 22, 25)  # percent of the cases, by year
OPEN_DAYS = 60

# The path of a case through the online workflow, from the draft to 办结: a case whose
# state is the k-th `to_state` has the first k events as its timeline.
PATH: list[tuple[str, str, str, str]] = [
    ("submit", "draft", "submitted", "申请人"),
    ("accept", "submitted", "accepted", "窗口人员"),
    ("start_review", "accepted", "under_review", "审查人员"),
    ("approve", "under_review", "approved", "审批人员"),
    ("issue_result", "approved", "result_issued", "审批人员"),
    ("deliver", "result_issued", "delivered", "窗口人员"),
    ("close", "delivered", "closed", "窗口人员"),
]
# Ends other than the path's: (kind, action, to_state, outcome).
OTHER_ENDS = [
    ("not_accepted", "refuse_acceptance", "not_accepted", "not_accepted"),
    ("withdrawn", "withdraw", "withdrawn", "withdrawn"),
]
MODES = ["online", "online", "online", "proxy", "joint", "window"]
SCOPES = ["", "local", "in_province", "in_province", "regional", "cross_province"]


@dataclass
class Generated:
    created: int
    total: int
    seconds: float


def _require_postgresql() -> None:
    if connection.vendor != "postgresql":
        raise RuntimeError("生成办件需要 PostgreSQL（generate_series 与集合式写入）")


def ensure_bookkeeping() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_dataset ("
            " name text PRIMARY KEY, version integer NOT NULL, total bigint NOT NULL,"
            " seconds double precision NOT NULL DEFAULT 0, built_at timestamptz NOT NULL)"
        )


def recorded() -> tuple[int, int, float]:
    """(generator version, cases made, seconds spent) as recorded; (0, 0, 0) if none."""
    _require_postgresql()
    ensure_bookkeeping()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT version, total, seconds FROM bench_dataset WHERE name = %s", [DATASET]
        )
        row = cursor.fetchone()
    return (int(row[0]), int(row[1]), float(row[2])) if row else (0, 0, 0.0)


def _record(total: int, seconds: float) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_dataset (name, version, total, seconds, built_at)"
            " VALUES (%s, %s, %s, %s, now()) ON CONFLICT (name) DO UPDATE SET"
            " version = EXCLUDED.version, total = EXCLUDED.total,"
            " seconds = EXCLUDED.seconds, built_at = EXCLUDED.built_at",
            [DATASET, GENERATOR_VERSION, total, seconds],
        )


def _superuser(cursor: Any) -> bool:
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    row = cursor.fetchone()
    return bool(row and row[0])


# A large build drops the secondary indexes of the two tables and makes them again at the
# end (one sort per index instead of 10,000,000 random inserts into each). Their
# definitions are kept in a table first, so that a build that died half-way gets them
# back at the start of the next call.
BULK = 500_000
BULK_TABLES = ["cases_case", "cases_caseevent"]


def _drop_secondary_indexes() -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_dropped_index (name text PRIMARY KEY,"
            " definition text NOT NULL)"
        )
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid"
            " WHERE t.relname = ANY(%s) AND NOT i.indisprimary AND NOT EXISTS"
            " (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)",
            [BULK_TABLES],
        )
        indexes = cursor.fetchall()
        cursor.executemany("INSERT INTO bench_dropped_index VALUES (%s, %s)", indexes)
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")


def restore_indexes(progress: Callable[[str], None] | None = None) -> int:
    """Make again the indexes a large build dropped; how many."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_dropped_index') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return 0
        cursor.execute("SELECT name, definition FROM bench_dropped_index ORDER BY name")
        indexes = cursor.fetchall()
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for name, definition in indexes:
            started = time.perf_counter()
            with transaction.atomic():
                cursor.execute(definition.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
                cursor.execute("DELETE FROM bench_dropped_index WHERE name = %s", [name])
            if progress is not None:
                progress(f"重建索引 {name}（{time.perf_counter() - started:.0f} 秒）")
    return len(indexes)


def generated_cases() -> int:
    return Case.objects.filter(number__startswith=NUMBER_PREFIX).count()


def _drop_generated() -> None:
    """Another generator version made these: remove them (and their timelines)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM cases_caseevent WHERE case_id IN"
            " (SELECT id FROM cases_case WHERE number LIKE %s)",
            [NUMBER_PREFIX + "%"],
        )
        cursor.execute("DELETE FROM cases_case WHERE number LIKE %s", [NUMBER_PREFIX + "%"])


# --- the per-row expressions ----------------------------------------------------------------

# `g` is the case's index; `h` a well-mixed hash of it (Knuth's multiplicative hash), from
# which every choice takes its own bits, so that the choices do not move together.
PLACEHOLDER = "\x00param\x00"
HASH = "((s.g * 2654435761) % 4294967296)"


def _year_case() -> str:
    """The year, from the weights: a CASE over the hash's lowest 7 bits (mod 100)."""
    arms, bound = [], 0
    for year, weight in zip(YEARS[:-1], YEAR_WEIGHTS[:-1], strict=True):
        bound += weight
        arms.append(f"WHEN s.h % 100 < {bound} THEN {year}")
    return f"CASE {' '.join(arms)} ELSE {YEARS[-1]} END"


def _fields_sql(
    values: dict[str, str], model: type[Any], params: list[Any]
) -> tuple[list[str], list[str]]:
    """Columns and SQL expressions for every concrete field of `model` but the key: the
    given expression, else the field's default as a parameter, else NULL where allowed. A
    field added later without a default stops the generator here, not in the database."""
    columns, expressions = [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        field: Field[Any, Any] = f
        columns.append(connection.ops.quote_name(str(field.column)))
        if field.name in values:
            expressions.append(values[field.name])
        elif field.has_default():
            params.append(field.get_db_prep_save(field.get_default(), connection))
            expressions.append(PLACEHOLDER)
        elif field.null:
            expressions.append("NULL")
        elif field.blank and isinstance(field, CharField | TextField):
            expressions.append("''")
        else:
            raise RuntimeError(f"生成办件：{model.__name__}.{field.name} 没有取值")
    return columns, expressions


def _templates(cursor: Any, citizens: int, item_count: int) -> int:
    """Temporary tables of what cases are made of: the generated item versions (with
    their organisation), the citizens, the workflow of each mode, the path. Returns how
    many item versions there are."""
    people = ensure_citizens(citizens)
    _temp(
        cursor,
        "bench_item",
        "(idx int PRIMARY KEY, version_id bigint, org_id bigint,"
        " division_id bigint, name text) ON COMMIT DROP",
    )
    versions = list(
        ItemVersion.objects.filter(
            item__basic_code__startswith=BASIC_CODE_PREFIX, status="published"
        )
        .order_by("item_id", "id")
        .values_list("id", "item__organisation_id", "item__division_id", "name")[:item_count]
    )
    if not versions:
        raise RuntimeError("没有生成的事项：先生成事项（bench.catalog.generate_items）")
    _copy(cursor, "bench_item", [(i, *v) for i, v in enumerate(versions)])
    _temp(
        cursor,
        "bench_person",
        "(idx int PRIMARY KEY, person_id bigint, user_id bigint, name text) ON COMMIT DROP",
    )
    _copy(
        cursor,
        "bench_person",
        [(i, p.pk, p.user_id, p.name) for i, p in enumerate(people)],
    )
    workflows = {
        code: WorkflowDefinition.objects.filter(code=code).order_by("-version").first()
        for code in ("online", "proxy", "joint")
    }
    missing = [code for code, w in workflows.items() if w is None]
    if missing:
        raise RuntimeError(f"没有流程定义 {missing}：先载入演示数据（load_demo）")
    _temp(
        cursor,
        "bench_mode",
        "(idx int PRIMARY KEY, mode text, workflow_id bigint, channel text) ON COMMIT DROP",
    )
    _copy(
        cursor,
        "bench_mode",
        [
            (
                i,
                mode,
                workflows["online" if mode == "window" else mode].pk,  # type: ignore[union-attr]
                "window" if mode in ("window", "proxy") else "online",
            )
            for i, mode in enumerate(MODES)
        ],
    )
    _temp(
        cursor,
        "bench_path",
        "(step int PRIMARY KEY, action text, from_state text,"
        " to_state text, actor text) ON COMMIT DROP",
    )
    _copy(cursor, "bench_path", [(k + 1, *p) for k, p in enumerate(PATH)])
    _temp(cursor, "bench_form", "(idx int PRIMARY KEY, body text) ON COMMIT DROP")
    _copy(cursor, "bench_form", _forms())
    return len(versions)


def _temp(cursor: Any, name: str, columns: str) -> None:
    """A temporary table for this transaction (dropped first: inside a test's outer
    transaction, the previous call's is still there)."""
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(f"CREATE TEMP TABLE {name} {columns}")


def _copy(cursor: Any, table: str, rows: list[tuple[Any, ...]]) -> None:
    placeholders = ", ".join(["%s"] * len(rows[0]))
    cursor.executemany(f"INSERT INTO {table} VALUES ({placeholders})", rows)


def _forms() -> list[tuple[int, str]]:
    """A few encrypted application forms, shared by the cases (encryption is per value:
    the rows hold real ciphertext that the case page decrypts)."""
    forms = [
        {"purpose": "办理业务需要", "remark": f"基准测试办件 {k}", "copies": str(k + 1)}
        for k in range(8)
    ]
    return [
        (k, encrypt(json.dumps(f, ensure_ascii=False, sort_keys=True))) for k, f in enumerate(forms)
    ]


def _state_sql() -> str:
    """A case younger than OPEN_DAYS may be anywhere on the path; older ones ended (closed
    on the path, or not accepted, or withdrawn)."""
    on_path = ", ".join(f"'{p[2]}'" for p in PATH)
    return (
        f"CASE WHEN age < {OPEN_DAYS} THEN (ARRAY[{on_path}])[1 + (h >> 8) % {len(PATH)}]"
        " WHEN (h >> 8) % 20 = 0 THEN 'not_accepted'"
        " WHEN (h >> 8) % 20 = 1 THEN 'withdrawn' ELSE 'closed' END"
    )


def _insert_sql(
    first: int, last: int, today: dt.date, items: int, people: int
) -> tuple[str, list[Any]]:
    """One statement: the cases `g` in [first, last] and their timelines, and its
    parameters (the fields' defaults, in the order the columns come)."""
    day = f"DATE '{today.isoformat()}'"
    values = {
        "number": (
            f"'{NUMBER_PREFIX}' || to_char(s.created_at, 'YYYYMMDD')"
            " || '-' || lpad(s.g::text, 9, '0')"
        ),
        "item_version": "i.version_id",
        "workflow": "m.workflow_id",
        "mode": "m.mode",
        "channel": "m.channel",
        "scope": f"(ARRAY[{', '.join(repr(x) for x in SCOPES)}])[1 + (s.h >> 12) % {len(SCOPES)}]",
        "place": "i.division_id",
        "applicant_person": "p.person_id",
        "applicant_company": "NULL",
        "applicant_name": "p.name",
        "submitted_by": "p.user_id",
        "receiving_org": "i.org_id",
        "handling_org": "i.org_id",
        "form_data": "f.body",
        "created_at": "s.created_at",
        "submitted_at": "s.created_at + interval '5 minutes'",
        "state": "s.state",
        "clock_state": "CASE WHEN s.open THEN 'running' ELSE 'stopped' END",
        "started_on": "s.created_at::date",
        "started_at": "s.created_at",
        # A case not yet accepted has only the deadline of its step (受理 within 5 days).
        "due_date": "CASE WHEN s.state = 'submitted' THEN NULL ELSE s.created_at::date + 20 END",
        "state_due_date": "s.created_at::date + 5",
        "warning": (
            f"CASE WHEN NOT s.open THEN 'none' WHEN s.created_at::date + 20 < {day} THEN 'red'"
            f" WHEN s.created_at::date + 17 < {day} THEN 'yellow' ELSE 'none' END"
        ),
        "closed_at": "CASE WHEN s.open THEN NULL ELSE s.created_at + interval '9 days' END",
        "outcome": (
            "CASE s.state WHEN 'closed' THEN 'approved' WHEN 'not_accepted' THEN 'not_accepted'"
            " WHEN 'withdrawn' THEN 'withdrawn' ELSE '' END"
        ),
        "row_version": "s.steps",
    }
    params: list[Any] = []
    columns, expressions = _fields_sql(values, Case, params)
    event_values = {
        "case": "n.id",
        "at": "n.created_at + (e.step - 1) * interval '1 day' + interval '5 minutes'",
        "actor": "CASE WHEN e.step = 1 THEN n.submitted_by_id ELSE NULL END",
        "actor_label": "e.actor",
        "organisation": "CASE WHEN e.step = 1 THEN NULL ELSE n.handling_org_id END",
        "action": "e.action",
        "from_state": "e.from_state",
        "to_state": "e.to_state",
        "data": "'{}'::jsonb",
    }
    event_columns, event_expressions = _fields_sql(event_values, CaseEvent, params)
    ends = " UNION ALL ".join(
        f"SELECT 2, '{action}', 'submitted', '{to}', '窗口人员', '{kind}'"
        for kind, action, to, _ in OTHER_ENDS
    )
    steps = " ".join(f"WHEN '{p[2]}' THEN {k + 1}" for k, p in enumerate(PATH))
    year_days = (
        f"CASE WHEN y = extract(year FROM {day}) "
        f"THEN greatest(extract(doy FROM {day})::int - 1, 1) ELSE 365 END"
    )
    sql = f"""
WITH s AS MATERIALIZED (
  SELECT g, h, created_at, state,
         state NOT IN ('closed', 'not_accepted', 'withdrawn') AS open,
         CASE state {steps} ELSE 2 END AS steps
  FROM (
    SELECT g, h, created_at, {_state_sql()} AS state
    FROM (
      SELECT g, h, created_at, {day} - created_at::date AS age
      FROM (
        SELECT g, h, make_timestamptz(y, 1, 1, 0, 0, 0, 'UTC')
                 + ((h >> 20) % {year_days}) * interval '1 day'
                 + (g % 540) * interval '1 minute' AS created_at
        FROM (SELECT g, h, {_year_case()} AS y
              FROM (SELECT g, {HASH} AS h
                    FROM generate_series({first}::bigint, {last}::bigint) AS s(g)) AS s
        ) AS s
      ) AS s
    ) AS s
  ) AS s
),
new AS (
  INSERT INTO cases_case ({", ".join(columns)})
  SELECT {", ".join(expressions)}
  FROM s
  JOIN bench_item i ON i.idx = s.g % {items}
  JOIN bench_person p ON p.idx = (s.g / {items} + s.g) % {people}
  JOIN bench_mode m ON m.idx = (s.h >> 24) % {len(MODES)}
  JOIN bench_form f ON f.idx = (s.h >> 16) % {len(_forms())}
  RETURNING id, state, row_version, created_at, submitted_by_id, handling_org_id
),
ends (step, action, from_state, to_state, actor, kind) AS ({ends})
INSERT INTO cases_caseevent ({", ".join(event_columns)})
SELECT {", ".join(event_expressions)}
FROM new n
JOIN (SELECT step, action, from_state, to_state, actor, '' AS kind FROM bench_path
      UNION ALL SELECT * FROM ends) AS e
  ON (e.kind = '' AND (
        (n.state NOT IN ('closed', 'not_accepted', 'withdrawn') AND e.step <= n.row_version)
        OR (n.state = 'closed' AND n.created_at >= {day} - {OPEN_DAYS}
            AND e.step <= n.row_version)
        OR (n.state = 'closed' AND n.created_at < {day} - {OPEN_DAYS}
            AND e.step IN (1, {len(PATH)}))
        OR (n.state IN ('not_accepted', 'withdrawn') AND e.step = 1)))
  OR e.kind = n.state
"""
    # The SQL's own `%` are operators: escaped, and the placeholders put in.
    return sql.replace("%", "%%").replace(PLACEHOLDER, "%s"), params


def generate_cases(
    total: int,
    *,
    citizens: int = 2000,
    items: int = 0,
    progress: Callable[[str], None] | None = None,
    today: dt.date | None = None,
) -> Generated:
    """Make sure `total` generated cases exist (over the first `items` generated item
    versions, all when 0, and `citizens` generated citizens); add the missing ones, chunk
    by chunk, each chunk its own transaction."""
    _require_postgresql()
    started = time.perf_counter()
    version, have, seconds = recorded()
    if version != GENERATOR_VERSION and have:
        _drop_generated()
        have, seconds = 0, 0.0
    if have >= total:
        return Generated(0, have, 0.0)
    today = today or timezone.localdate()
    restore_indexes(progress)
    bulk = total - have >= BULK
    if bulk:
        _drop_secondary_indexes()
    for first in range(have, total, CHUNK):
        last = min(first + CHUNK, total) - 1
        with transaction.atomic(), connection.cursor() as cursor:
            # Generated from existing rows' keys: the foreign keys' per-row triggers are
            # skipped (the superuser's replica role), and no JIT for a one-off statement.
            if _superuser(cursor):
                cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("SET LOCAL jit = off")
            count = _templates(cursor, citizens, items or 10**9)
            sql, params = _insert_sql(first, last, today, count, citizens)
            cursor.execute(sql, params)
            _record(last + 1, seconds + time.perf_counter() - started)
        if progress is not None:
            progress(f"生成办件 {last + 1:,}/{total:,}（{time.perf_counter() - started:.0f} 秒）")
    if bulk:
        restore_indexes(progress)
    elapsed = seconds + time.perf_counter() - started
    _record(total, elapsed)
    vacuum_analyze(Case._meta.db_table, CaseEvent._meta.db_table)
    return Generated(total - have, total, elapsed)


# --- who reads them -------------------------------------------------------------------------


def busiest_organisation_id() -> int:
    """The organisation of the first generated item: it handles as many generated cases as
    any other (items are spread evenly over the organisations)."""
    version = (
        ItemVersion.objects.filter(item__basic_code__startswith=BASIC_CODE_PREFIX)
        .order_by("item_id", "id")
        .values_list("item__organisation_id", flat=True)
        .first()
    )
    if version is None:
        raise RuntimeError("没有生成的事项：先生成事项（bench.catalog.generate_items）")
    return int(version)


@transaction.atomic
def ensure_clerk(organisation_id: int | None = None) -> Any:
    """The bench's staff account: window clerk, reviewer and approver of one generated
    organisation, so that its inbox holds that organisation's open cases."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from core.models import Organisation

    org = Organisation.objects.get(pk=organisation_id or busiest_organisation_id())
    user, _ = get_user_model().objects.get_or_create(
        username=CLERK_USERNAME,
        defaults={"password": make_password(None), "first_name": "基准测试工作人员"},
    )
    for role in (Role.WINDOW_CLERK, Role.REVIEWER, Role.APPROVER):
        StaffRole.objects.get_or_create(
            user=user, role=role, organisation=org, defaults={"division_id": org.division_id}
        )
    return user


def session_cookie(user: Any) -> str:
    """A signed-in session for `user` (as the login view makes one), for the load
    generator's console requests."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def sample_numbers(organisation_id: int, count: int = 200) -> list[str]:
    """Numbers of generated cases the organisation handles, open and closed, spread over
    the years: the case pages the bench opens."""
    numbers = list(
        Case.objects.filter(handling_org_id=organisation_id, number__startswith=NUMBER_PREFIX)
        .order_by("id")
        .values_list("number", flat=True)[: count * 20 : 20]
    )
    return numbers[:count]


def prepare(total: int, *, items: int, citizens: int, out: Any) -> dict[str, Any]:
    """The data set of `total` cases over `items` generated items, the clerk, a signed-in
    session and the case numbers to open; written to `out` (JSON) for the load generator."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    for mode in ("online", "proxy", "joint"):
        from cases.engine import current_definition

        current_definition(mode)
    generate_items(items, progress=True)
    timings["generate_items_s"] = round(time.perf_counter() - started, 1)
    result = generate_cases(total, citizens=citizens, progress=lambda line: print(line, flush=True))
    timings["generate_cases_s"] = round(time.perf_counter() - started, 1)
    clerk = ensure_clerk()
    org = busiest_organisation_id()
    data = {
        "timings": timings,
        "cases_total": result.total,
        "cases_created": result.created,
        "cases_build_seconds": round(recorded()[2], 1),
        "generator_version": GENERATOR_VERSION,
        "organisation_open_cases": Case.objects.filter(
            handling_org_id=org, closed_at__isnull=True
        ).count(),
        "cookie": session_cookie(clerk),
        "case_numbers": sample_numbers(org),
    }
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1))
    return data
