"""The load generator: `python -m bench.load SCENARIO --port P --clients N --seconds S
--fixture FILE` runs N keep-alive clients against the server on 127.0.0.1 for S seconds
(after a short warm-up that is not counted) and prints the scenario's summary as JSON.

It runs as its own process, apart from the server's workers, and never sends anything
but to the loopback address. Scenarios:

- `bare`: `GET /api/v1/calendar/deadline` — the same server's cheapest JSON endpoint
  (no authentication, one small calendar read), the reference for every other rate;
- `submit`: a full online submission by a generated citizen with a bearer token —
  create the case, upload each required material (a PDF), submit; one operation is the
  whole flow, and each request is timed as a step too;
- `verify`: `POST /api/v1/licences/verify` with a real token of a demo licence;
- `search`: `GET /api/v1/items?q=…` with Chinese words and pinyin initials in turn.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.client import ClientError, Connection, multipart
from bench.cpu import CpuAccount
from bench.stats import Recorder, summary

HOST = "127.0.0.1"

Operation = Callable[[Connection, int, Recorder], Awaitable[bool]]


class Scenario:
    """Builds each client's operation from the fixture; `run` loops it until the end."""

    def __init__(self, fixture: dict[str, Any]) -> None:
        self.fixture = fixture
        self.counter = itertools.count()

    def operation(self, name: str) -> Operation:
        return {
            "bare": self.bare,
            "submit": self.submit,
            "verify": self.verify,
            "search": self.search,
        }[name]

    async def _timed(
        self, conn: Connection, recorder: Recorder, step: str, expect: int, **request: Any
    ) -> Any:
        started = time.perf_counter()
        response = await conn.request(**request)
        recorder.step(step, time.perf_counter() - started)
        if response.status != expect:
            recorder.error(f"{step} {response.status}")
            return None
        return response

    async def bare(self, conn: Connection, client: int, recorder: Recorder) -> bool:
        path = "/api/v1/calendar/deadline?start=2026-12-01&days=5"
        return await self._timed(conn, recorder, "bare", 200, method="GET", path=path) is not None

    async def verify(self, conn: Connection, client: int, recorder: Recorder) -> bool:
        tokens = self.fixture["licence_tokens"]
        body = {"token": tokens[next(self.counter) % len(tokens)]}
        path = "/api/v1/licences/verify"
        response = await self._timed(
            conn, recorder, "verify", 200, method="POST", path=path, json_body=body
        )
        if response is None:
            return False
        if response.json().get("outcome") != "valid":
            recorder.error("verify outcome " + str(response.json().get("outcome")))
            return False
        return True

    async def search(self, conn: Connection, client: int, recorder: Recorder) -> bool:
        from urllib.parse import quote

        queries = self.fixture["search_queries"]
        query = queries[next(self.counter) % len(queries)]
        path = f"/api/v1/items?q={quote(query)}&page_size=20"
        return await self._timed(conn, recorder, "search", 200, method="GET", path=path) is not None

    async def submit(self, conn: Connection, client: int, recorder: Recorder) -> bool:
        tokens = self.fixture["tokens"]
        n = next(self.counter)
        # Round robin: with more citizens than clients, no two flows share a citizen.
        token = tokens[n % len(tokens)]
        auth = {"Authorization": f"Bearer {token}"}
        spec = self.fixture["submit"]
        response = await self._timed(
            conn,
            recorder,
            "create",
            201,
            method="POST",
            path="/api/v1/cases",
            json_body={"item": spec["item"], "form": spec["form"]},
            headers=auth,
        )
        if response is None:
            return False
        number = response.json()["number"]
        pdf = self.pdf
        for material in spec["materials"]:
            # Every upload's bytes differ, as real ones do (the store is content-addressed).
            content = pdf + f"%bench {client} {n} {material['id']}\n".encode()
            content_type, body = multipart(
                {"material": str(material["id"])},
                {"file": ("material.pdf", "application/pdf", content)},
            )
            response = await self._timed(
                conn,
                recorder,
                "upload",
                201,
                method="POST",
                path=f"/api/v1/cases/{number}/materials",
                body=body,
                headers={**auth, "Content-Type": content_type},
            )
            if response is None:
                return False
        response = await self._timed(
            conn,
            recorder,
            "submit",
            200,
            method="POST",
            path=f"/api/v1/cases/{number}/actions/submit",
            json_body={},
            headers=auth,
        )
        return response is not None

    @property
    def pdf(self) -> bytes:
        cached = self.fixture.get("_pdf")
        if cached is None:
            cached = self.fixture["_pdf"] = base64.b64decode(self.fixture["pdf"])
        return cached  # type: ignore[no-any-return]


async def run(
    operation: Operation, *, port: int, clients: int, seconds: float, warmup: float
) -> dict[str, Any]:
    """Run `clients` loops of `operation` for `warmup` + `seconds`; count what finishes in
    the last `seconds` (`Recorder`'s window), and say where the machine's CPU went in it."""
    begin = time.perf_counter()
    recorder = Recorder(start=begin + warmup, end=begin + warmup + seconds)

    async def client(index: int) -> None:
        conn = Connection(HOST, port)
        try:
            while time.perf_counter() < recorder.end:
                started = time.perf_counter()
                try:
                    ok = await operation(conn, index, recorder)
                except ClientError as exc:
                    recorder.error(f"connection {exc}")
                    await asyncio.sleep(0.05)
                    continue
                if ok:
                    recorder.done(time.perf_counter() - started)
        finally:
            await conn.close()

    with CpuAccount(recorder.start, recorder.end) as account:
        await asyncio.gather(*(client(i) for i in range(clients)))
    result = summary(recorder, elapsed=seconds, clients=clients)
    result["cpu"] = account.result()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario", choices=["bare", "submit", "verify", "search"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--fixture", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.seconds > 600:
        parser.error("--seconds must lie between 0 and 600")
    fixture = json.loads(args.fixture.read_text())
    scenario = Scenario(fixture)
    result = asyncio.run(
        run(
            scenario.operation(args.scenario),
            port=args.port,
            clients=args.clients,
            seconds=args.seconds,
            warmup=args.warmup,
        )
    )
    result["scenario"] = args.scenario
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
