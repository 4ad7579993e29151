"""`python -m bench.dashboard`: the province dashboard's response time over whatever cases
the bench database holds — `dashboard_p95_ms` (issue 17).

It times, in one process, exactly what the dashboard page computes for the province's
supervisor (`supervision.figures.summary` and `supervision.tables.dashboard_tables` over
the rollups), `--rounds` times after one warm-up, and prints JSON: the percentiles, the
number of cases, facts and rollup rows. With `--rebuild` it first rebuilds the facts and
rollups from every case (`supervision.facts.rebuild`, as `manage.py rebuild_figures`): a
generated case table is loaded outside the services, so no transition marked it.

Run it against the bench database: `DATABASE_URL=… python -m bench.dashboard --rebuild`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongban.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import reset_queries

    from cases.models import Case
    from core.models import division_code_prefix
    from supervision import facts, figures, tables
    from supervision.models import CaseFact, ItemMonth, OrgMonth

    rebuilt_s = None
    if args.rebuild:
        started = time.perf_counter()
        facts.rebuild()
        rebuilt_s = round(time.perf_counter() - started, 1)
    scope = figures.Scope(prefix=division_code_prefix(settings.NODE_DIVISION), level="province")
    timings: list[float] = []
    for round_ in range(args.rounds + 1):
        started = time.perf_counter()
        figures.summary(scope)
        tables.dashboard_tables(scope)
        elapsed = (time.perf_counter() - started) * 1000
        reset_queries()
        if round_:  # the first is the warm-up
            timings.append(elapsed)
    cut = (
        statistics.quantiles(timings, n=100, method="inclusive")
        if len(timings) > 1
        else timings * 99
    )
    result: dict[str, Any] = {
        "dashboard_p50_ms": round(cut[49], 1),
        "dashboard_p95_ms": round(cut[94], 1),
        "rounds": len(timings),
        "cases": Case.objects.count(),
        "facts": CaseFact.objects.count(),
        "rollup_rows": OrgMonth.objects.count() + ItemMonth.objects.count(),
        "rebuild_s": rebuilt_s,
    }
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
