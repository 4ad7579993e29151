"""The inbox and case-page scenarios over the generated cases (10,000,000 in the full run):
`python -m bench.casebench --database BASE --cases N …`, with the node's settings in the
environment (scripts/bench passes them), prints one JSON line with both scenarios'
summaries and the data set's facts.

1. The data set lives in a database of its own, `<BASE>_cases_v<DATASET_VERSION>`: made
   the first time as a copy of the prepared bench database (`CREATE DATABASE … TEMPLATE`,
   so it holds the same catalog and citizens), then filled by `bench.dataset` — once: a
   later run finds the cases there and only migrates; a new `DATASET_VERSION` makes a new
   database (decision 162). Other scenarios over the same cases (a dashboard) call
   `ensure_dataset` and read the fixture it writes.
2. gunicorn serves that database (the same shape as the main run), with the static files
   collected, since the console's pages are rendered with DEBUG off.
3. The load generator (`bench.load.run`, the same loop and statistics as the other
   scenarios) signs in as the generated clerk with a session cookie and
   - `inbox`: `GET /console/` — the clerk's open cases, most urgent first, 20 a page;
   - `case_page`: `GET /console/cases/<number>/` — cases of the clerk's organisation,
     open and closed, across the years, in turn.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from typing import Any

from bench.client import Connection
from bench.load import run
from bench.serve import OUT, PY, ROOT, gunicorn
from bench.stats import Recorder

# The version of the generated cases (bench/cases.py): bump it when a case's shape changes.
DATASET_VERSION = 1


def log(message: str) -> None:
    print(f"[cases {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _psql(admin: str, sql: str) -> str:
    done = subprocess.run(["psql", admin, "-qAtc", sql], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def ensure_dataset(
    base: str, *, cases: int, items: int, citizens: int, env: dict[str, str], host: str
) -> tuple[str, dict[str, Any]]:
    """The data set's database (made from `base` the first time, filled once) and its
    fixture. `env` holds the node's settings; its DATABASE_URL is replaced."""
    name = f"{base}_cases_v{DATASET_VERSION}"
    admin = f"postgres://postgres@{host}:5432/postgres"
    if not _psql(admin, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
        log(f"creating {name} from {base}")
        _psql(admin, f'CREATE DATABASE "{name}" TEMPLATE "{base}"')
    url = f"postgres://postgres@{host}:5432/{name}"
    env = {**env, "DATABASE_URL": url}
    subprocess.run([PY, "manage.py", "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    fixture = OUT / "cases_fixture.json"
    started = time.monotonic()
    # The build is the heaviest thing the bench does: below everything else in priority.
    subprocess.run(
        [
            "nice",
            "-n",
            "10",
            PY,
            "-m",
            "bench.dataset",
            "--cases",
            str(cases),
            "--items",
            str(items),
            "--citizens",
            str(citizens),
            "--out",
            str(fixture),
        ],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=sys.stderr,
    )
    log(f"data set ready in {time.monotonic() - started:.0f} s")
    return url, json.loads(fixture.read_text())


class Pages:
    """The two scenarios' operations, signed in with the clerk's session cookie."""

    def __init__(self, fixture: dict[str, Any]) -> None:
        self.headers = {"Cookie": fixture["cookie"]}
        self.numbers = itertools.cycle(fixture["case_numbers"])

    async def _get(self, conn: Connection, recorder: Recorder, step: str, path: str) -> bool:
        started = time.perf_counter()
        response = await conn.request("GET", path, headers=self.headers)
        recorder.step(step, time.perf_counter() - started)
        if response.status != 200:
            recorder.error(f"{step} {response.status}")
            return False
        return True

    async def inbox(self, conn: Connection, client: int, recorder: Recorder) -> bool:
        return await self._get(conn, recorder, "inbox", "/console/")

    async def case_page(self, conn: Connection, client: int, recorder: Recorder) -> bool:
        return await self._get(conn, recorder, "case_page", f"/console/cases/{next(self.numbers)}/")


def measure(args: argparse.Namespace) -> dict[str, Any]:
    env = dict(os.environ)
    url, fixture = ensure_dataset(
        args.database,
        cases=args.cases,
        items=args.items,
        citizens=args.citizens,
        env=env,
        host="127.0.0.1",
    )
    env["DATABASE_URL"] = url
    with gunicorn(
        env, workers=args.workers, threads=args.threads, log="gunicorn-cases.log"
    ) as port:
        pages = Pages(fixture)
        results: dict[str, Any] = {}
        for name, operation in (("inbox", pages.inbox), ("case_page", pages.case_page)):
            log(f"scenario {name}: {args.clients} clients, {args.seconds} s")
            results[name] = asyncio.run(
                run(
                    operation,
                    port=port,
                    clients=args.clients,
                    seconds=args.seconds,
                    warmup=args.warmup,
                )
            )
            s = results[name]
            log(f"  p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, errors {s['errors']}")
    results["dataset"] = {
        "database": url.rsplit("/", 1)[1],
        "version": DATASET_VERSION,
        "cases": fixture["cases_total"],
        "created_this_run": fixture["cases_created"],
        "build_seconds": fixture["cases_build_seconds"],
        "organisation_open_cases": fixture["organisation_open_cases"],
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", required=True, help="the prepared bench database")
    parser.add_argument("--cases", type=int, default=10_000_000)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--citizens", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    results = measure(args)
    json.dump(results, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
