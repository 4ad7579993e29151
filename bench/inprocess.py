"""Queries and time per request, in one process: `python -m bench.inprocess --fixture FILE
[--rounds N] [--only search,submit,verify]` (with the node's settings in the environment,
as `bench.prepare`) prints JSON: for each request kind, the number of queries of each call
and the median and p95 time.

It goes through Django's test client (the whole request cycle: middleware, the API,
serialisation) but no server, socket or other client, so that a fix's effect on one
request is measured apart from the machine's load and the server's queueing. The
"Fixes" table of docs/benchmarks.md is measured with it, before and after each fix.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.stats import percentile


class Measured:
    """Per request kind: the query count and the wall time of each call."""

    def __init__(self) -> None:
        self.queries: dict[str, list[int]] = defaultdict(list)
        self.times: dict[str, list[float]] = defaultdict(list)

    def call(
        self, kind: str, expect: int, send: Any, *args: Any, also: str = "", **kwargs: Any
    ) -> Any:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = send(*args, **kwargs)
            elapsed = time.perf_counter() - started
        if response.status_code != expect:
            raise SystemExit(f"{kind}: {response.status_code} {response.content[:300]!r}")
        for name in filter(None, (kind, also)):
            self.queries[name].append(len(captured.captured_queries))
            self.times[name].append(elapsed)
        return response

    def summary(self) -> dict[str, Any]:
        return {
            kind: {
                "calls": len(times),
                "queries": sorted(set(self.queries[kind])),
                "median_ms": round(statistics.median(times) * 1000, 1),
                "p95_ms": round((percentile(sorted(times), 95) or 0.0) * 1000, 1),
            }
            for kind, times in self.times.items()
        }


def search(client: Any, fixture: dict[str, Any], measured: Measured, rounds: int) -> None:
    for _ in range(rounds):
        for query in fixture["search_queries"]:
            path = f"/api/v1/items?q={quote(query)}&page_size=20"
            measured.call("search", 200, client.get, path, also=f"search {query}")


def submit(client: Any, fixture: dict[str, Any], measured: Measured, rounds: int) -> None:
    spec = fixture["submit"]
    pdf = base64.b64decode(fixture["pdf"])
    for n in range(rounds):
        token = fixture["tokens"][n % len(fixture["tokens"])]
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        body = json.dumps({"item": spec["item"], "form": spec["form"]})
        created = measured.call(
            "create", 201, client.post, "/api/v1/cases", body, "application/json", **auth
        )
        number = created.json()["number"]
        from django.core.files.uploadedfile import SimpleUploadedFile

        for material in spec["materials"]:
            content = pdf + f"%inprocess {n} {material['id']} {time.time_ns()}\n".encode()
            upload = SimpleUploadedFile("material.pdf", content, "application/pdf")
            measured.call(
                "upload",
                201,
                client.post,
                f"/api/v1/cases/{number}/materials",
                {"material": str(material["id"]), "file": upload},
                **auth,
            )
        measured.call(
            "submit",
            200,
            client.post,
            f"/api/v1/cases/{number}/actions/submit",
            "{}",
            "application/json",
            **auth,
        )


def verify(client: Any, fixture: dict[str, Any], measured: Measured, rounds: int) -> None:
    tokens = fixture["licence_tokens"]
    for n in range(rounds * 10):
        body = json.dumps({"token": tokens[n % len(tokens)]})
        response = measured.call(
            "verify", 200, client.post, "/api/v1/licences/verify", body, "application/json"
        )
        if response.json().get("outcome") != "valid":
            raise SystemExit(f"verify: {response.json()}")


FLOWS = {"search": search, "submit": submit, "verify": verify}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fixture", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--only", default=",".join(FLOWS))
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongban.settings")
    import django

    django.setup()
    from django.test import Client

    fixture = json.loads(args.fixture.read_text())
    client = Client(HTTP_HOST="127.0.0.1")
    measured = Measured()
    for name in args.only.split(","):
        FLOWS[name](client, fixture, measured, 1)  # warm-up: caches, imports, connections
    measured = Measured()
    for name in args.only.split(","):
        FLOWS[name](client, fixture, measured, args.rounds)
    json.dump(measured.summary(), sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
