"""`python -m bench.dashboard --database-url URL --seconds S`: the province dashboard's
response time over the generated cases of the data set's database — `dashboard_p95_ms`
of `make bench` (issue 17).

1. The facts and rollups of the data set are built once, set-based
   (`supervision.facts.rebuild`, as `manage.py rebuild_figures`: the generated cases were
   written around the services, so no transition marked them), and the build is recorded
   in the bench's bookkeeping table (`bench_dataset`, row `supervision_facts`: the number
   of cases it covered, its version and seconds). A later run over the same cases skips
   it; more cases, or a new `FACTS_VERSION`, build again. `--rebuild` forces it.
2. gunicorn serves that database (bench/serve.py), and the load generator signs in as the
   province's supervisor (`bench-supervisor`, a 监督人员 of the node's province) with a
   session cookie and asks `GET /supervision/` — the page exactly as a supervisor gets it —
   from `--clients` clients for `--seconds` after `--warmup`.
3. One JSON line: `dashboard_p50_ms`, `dashboard_p95_ms`, `errors`, `cases`, `facts`,
   `rollup_rows`, `rebuild_s` (the recorded build's seconds) and `rebuilt` (this run).

`--rounds N` instead times the page's computation in this process (`figures.summary` +
`tables.dashboard_tables`) N times, without gunicorn: for the tests and a quick look.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from typing import Any

# The shape of the facts and rollups: bump it when a rebuild must run again over the same
# cases (a new fact or counter).
FACTS_VERSION = 3
BOOKKEEPING = "supervision_facts"
SUPERVISOR_USERNAME = "bench-supervisor"


def _setup(database_url: str | None) -> None:
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongban.settings")
    import django

    django.setup()


def _recorded() -> tuple[int, int, float]:
    """(version, cases covered, seconds) of the last recorded build; zeros if none."""
    from django.db import connection

    from bench.cases import ensure_bookkeeping

    ensure_bookkeeping()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT version, total, seconds FROM bench_dataset WHERE name = %s", [BOOKKEEPING]
        )
        row = cursor.fetchone()
    return (int(row[0]), int(row[1]), float(row[2])) if row else (0, 0, 0.0)


def _record(total: int, seconds: float) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM bench_dataset WHERE name = %s", [BOOKKEEPING])
        cursor.execute(
            "INSERT INTO bench_dataset (name, version, total, seconds, built_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            [BOOKKEEPING, FACTS_VERSION, total, seconds, time.strftime("%Y-%m-%d %H:%M:%S+00")],
        )


def ensure_facts(force: bool = False) -> tuple[float, bool]:
    """Build the facts and rollups unless the same cases were built by this version;
    (the build's seconds, whether it ran now)."""
    from bench.database import vacuum_analyze
    from cases.models import Case
    from supervision import facts
    from supervision.models import CaseFact

    cases = Case.objects.count()
    version, total, seconds = _recorded()
    if not force and version == FACTS_VERSION and total == cases:
        return seconds, False
    print(f"[dashboard] building the facts of {cases:,} cases", file=sys.stderr, flush=True)
    started = time.perf_counter()
    facts.rebuild()
    # After the bulk build, as bench.cases after the cases.
    vacuum_analyze(CaseFact._meta.db_table)
    seconds = round(time.perf_counter() - started, 1)
    _record(cases, seconds)
    print(f"[dashboard] built in {seconds} s", file=sys.stderr, flush=True)
    return seconds, True


def supervisor_cookie() -> str:
    """A signed-in session of the province's supervisor (made once)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from accounts.models import Role, StaffRole
    from bench.cases import session_cookie
    from core.models import Division, Organisation

    province = Division.objects.get(code=settings.NODE_DIVISION)
    org = Organisation.objects.filter(division=province, node="").order_by("pk").first()
    if org is None:
        raise RuntimeError(f"{province.name}没有省级机构，无法设置监督人员")
    user, _ = get_user_model().objects.get_or_create(
        username=SUPERVISOR_USERNAME,
        defaults={"password": make_password(None), "first_name": "基准测试监督人员"},
    )
    StaffRole.objects.get_or_create(
        user=user, role=Role.SUPERVISOR, organisation=org, defaults={"division": province}
    )
    return session_cookie(user)


def _counts() -> dict[str, int]:
    from cases.models import Case
    from supervision.models import CaseFact, ItemMonth, ItemTotal, OrgMonth, OrgTotal

    return {
        "cases": Case.objects.count(),
        "facts": CaseFact.objects.count(),
        "rollup_rows": OrgMonth.objects.count()
        + ItemMonth.objects.count()
        + ItemTotal.objects.count()
        + OrgTotal.objects.count(),
    }


def in_process(rounds: int) -> dict[str, Any]:
    """The page's figures `rounds` times in this process, after one warm-up."""
    from django.conf import settings
    from django.db import reset_queries

    from core.models import division_code_prefix
    from supervision import figures, tables

    scope = figures.Scope(prefix=division_code_prefix(settings.NODE_DIVISION), level="province")
    timings: list[float] = []
    for round_ in range(rounds + 1):
        started = time.perf_counter()
        figures.summary(scope)
        tables.dashboard_tables(scope)
        elapsed = (time.perf_counter() - started) * 1000
        reset_queries()
        if round_:
            timings.append(elapsed)
    cut = (
        statistics.quantiles(timings, n=100, method="inclusive")
        if len(timings) > 1
        else timings * 99
    )
    return {
        "dashboard_p50_ms": round(cut[49], 1),
        "dashboard_p95_ms": round(cut[94], 1),
        "errors": 0,
        "rounds": len(timings),
    }


def over_http(args: argparse.Namespace, cookie: str) -> dict[str, Any]:
    """`GET /supervision/` signed in as the supervisor, on gunicorn."""
    from bench.client import Connection
    from bench.load import run
    from bench.serve import gunicorn
    from bench.stats import Recorder

    headers = {"Cookie": cookie}

    async def page(conn: Connection, client: int, recorder: Recorder) -> bool:
        response = await conn.request("GET", "/supervision/", headers=headers)
        if response.status != 200:
            recorder.error(f"dashboard {response.status}")
            return False
        return True

    env = dict(os.environ)
    with gunicorn(
        env, workers=args.workers, threads=args.threads, log="gunicorn-dashboard.log"
    ) as port:
        s = asyncio.run(
            run(page, port=port, clients=args.clients, seconds=args.seconds, warmup=args.warmup)
        )
    return {
        "dashboard_p50_ms": s["p50_ms"],
        "dashboard_p95_ms": s["p95_ms"],
        "errors": sum(s["errors"].values()),
        "error_kinds": s["errors"],
        "requests": s["completed"],
        "per_s": s["per_s"],
        "cpu": s["cpu"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="the data set's database (default: DATABASE_URL)")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, help="time in this process instead of over HTTP")
    parser.add_argument("--rebuild", action="store_true", help="build the facts even if recorded")
    args = parser.parse_args(argv)
    _setup(args.database_url)
    rebuild_s, rebuilt = ensure_facts(force=args.rebuild)
    if args.rounds is not None:
        result = in_process(args.rounds)
    else:
        result = over_http(args, supervisor_cookie())
    result |= _counts() | {"rebuild_s": rebuild_s, "rebuilt": rebuilt}
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
