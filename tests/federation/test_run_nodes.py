"""`scripts/run-nodes` (`make run`): the four demo nodes start from nothing, serve one
signed directory, and stop together — on SIGTERM, and when one of them dies."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from tests.federation.nodes import NODES, ROOT, base_env

pytestmark = pytest.mark.nodes

RUNNER = ROOT / "scripts" / "run-nodes"
READY = "按 Ctrl-C 停止全部节点"


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_base_port() -> int:
    """A port with the three after it free too."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        if base + 3 < 65536 and all(_free(base + i) for i in range(4)):
            return base
    raise AssertionError("no four consecutive free ports")


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class Runner:
    def __init__(self, base: int, var_dir: Path) -> None:
        self.base = base
        self.output = ""
        self.process = subprocess.Popen(
            [sys.executable, str(RUNNER), "--base-port", str(base), "--var-dir", str(var_dir)],
            cwd=ROOT,
            # The demo scans the deadlines every minute; a test waits a second.
            env={**base_env(), "TONGBAN_DEADLINE_SCAN_SECONDS": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def read_until(self, text: str, timeout: float) -> None:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while text not in self.output:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {text!r} in time:\n{self.output}")
            ready, _, _ = select.select([self.process.stdout], [], [], min(left, 1))
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:
                    self.process.wait()
                    raise AssertionError(f"the runner exited:\n{self.output}")
                self.output += chunk.decode(errors="replace")

    def finish(self, timeout: float = 30) -> int:
        assert self.process.stdout is not None
        rest, _ = self.process.communicate(timeout=timeout)
        self.output += rest.decode(errors="replace")
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()  # its children get SIGTERM (PR_SET_PDEATHSIG)
            self.process.wait()


def control(var_dir: Path, *args: str) -> None:
    """scripts/run-nodes as an operator runs it next to a running `make run`."""
    subprocess.run(
        [sys.executable, str(RUNNER), "--var-dir", str(var_dir), *args],
        cwd=ROOT,
        env=base_env(),
        check=True,
        capture_output=True,
        timeout=120,
    )


def _count(var_dir: Path, node: str, sql: str) -> int:
    uri = f"file:{var_dir / node / 'tongban.sqlite3'}?mode=ro"
    with sqlite3.connect(uri, uri=True, timeout=20) as db:
        return int(db.execute(sql).fetchone()[0])


def received(var_dir: Path, node: str) -> int:
    return _count(
        var_dir,
        node,
        "SELECT COUNT(DISTINCT envelope_id) FROM federation_logentry "
        "WHERE direction='in' AND entry_type='envelope' AND kind='federation.ping'",
    )


def pending(var_dir: Path, node: str, kind: str = "") -> int:
    """Envelopes waiting in `node`'s outbox; only those of `kind` if given (the demo's own
    jobs — sharing's grant notices, supervision's regional figures — send envelopes too)."""
    query = (
        "SELECT COUNT(*) FROM federation_outbox o JOIN federation_logentry e "
        "ON e.id = o.envelope_id WHERE o.status='pending'"
    )
    if kind:
        query += f" AND e.kind='{kind}'"
    return _count(var_dir, node, query)


# The demo's 容缺 case (周敏, Liaoning): the applicant committed to bring the missing
# material by a date. Moving that date into the past stands for the days going by.
LET_THE_DEFICIENCY_DATE_PASS = """
import datetime as dt
from cases.models import Commitment
moved = Commitment.objects.filter(kind="deficiency", status="open").update(
    due_date=dt.date.today() - dt.timedelta(days=1)
)
assert moved == 1, moved
"""
EXPIRED_AND_TERMINATED = """
    SELECT COUNT(*) FROM cases_commitment m JOIN cases_case c ON c.id = m.case_id
    WHERE m.kind = 'deficiency' AND m.status = 'expired' AND c.state = 'terminated'
"""


def directory_of(port: int) -> dict:
    with urllib.request.urlopen(
        f"http://127.0.0.1:{port}/federation/v1/directory", timeout=10
    ) as r:
        return json.loads(json.loads(r.read())["directory"])


def test_the_four_nodes_start_share_one_directory_and_stop_together(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("node processes run on their own SQLite files: once, in the SQLite pass")
    base = free_base_port()
    ports = [base + i for i in range(4)]

    runner = Runner(base, tmp_path)
    try:
        runner.read_until(READY, timeout=300)
        served = [directory_of(port) for port in ports]
        assert {d["serial"] for d in served} == {served[0]["serial"]}
        for d in served:
            assert [n["id"] for n in d["nodes"]] == sorted(NODES)
            assert {n["id"]: n["base_url"] for n in d["nodes"]} == {
                node: f"http://127.0.0.1:{port}" for node, port in zip(NODES, ports, strict=True)
            }
        children = children_of(runner.process.pid)
        assert len(children) == 8  # a web server and a worker per node
        for node in NODES:
            assert (tmp_path / node / "tongban.sqlite3").exists()
            assert (tmp_path / node / "server.log").exists()
        first_serial = served[0]["serial"]

        # No command: the node's worker scans the deadlines and ends the 容缺 case.
        assert "每 1 秒扫描一次办件期限" in runner.output
        assert _count(tmp_path, "liaoning", EXPIRED_AND_TERMINATED) == 0
        control(tmp_path, "--manage", "liaoning", "shell", "-c", LET_THE_DEFICIENCY_DATE_PASS)
        deadline = time.monotonic() + 60
        while not _count(tmp_path, "liaoning", EXPIRED_AND_TERMINATED):
            assert time.monotonic() < deadline, (tmp_path / "liaoning" / "worker.log").read_text()
            time.sleep(0.5)
        assert "期限扫描：终止 1 件" in (tmp_path / "liaoning" / "worker.log").read_text()

        runner.process.send_signal(signal.SIGTERM)
        assert runner.finish() == 0, runner.output
    finally:
        runner.kill()
    assert "已停止 8 个进程" in runner.output
    assert not [pid for pid in children if alive(pid)]
    assert not [port for port in ports if listening(port)]

    # A second start reuses the databases and signs a newer directory. Jilin is stopped
    # while Liaoning sends, started again, and gets every envelope once; then a node that
    # dies takes the others down with it.
    runner = Runner(base, tmp_path)
    try:
        runner.read_until(READY, timeout=300)
        assert directory_of(base + 2)["serial"] > first_serial
        control(tmp_path, "--stop-node", "jilin")
        runner.read_until("已停止吉林（jilin）", timeout=60)
        assert not listening(base + 1)
        before = received(tmp_path, "jilin")
        control(tmp_path, "--manage", "liaoning", "federation_ping", "jilin", "--count", "3")
        time.sleep(2)  # the worker tries, and fails: nothing listens
        assert pending(tmp_path, "liaoning", "federation.ping") == 3
        control(tmp_path, "--start-node", "jilin")
        runner.read_until("已重新启动吉林（jilin）", timeout=60)
        deadline = time.monotonic() + 120
        while pending(tmp_path, "liaoning") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert pending(tmp_path, "liaoning") == 0
        assert received(tmp_path, "jilin") == before + 3
        children = children_of(runner.process.pid)
        jilin = next(
            pid
            for pid in children
            if f"127.0.0.1:{base + 1}" in Path(f"/proc/{pid}/cmdline").read_text()
        )
        os.kill(jilin, signal.SIGKILL)
        assert runner.finish() == 1, runner.output
    finally:
        runner.kill()
    assert "吉林（jilin）的 Web 服务意外退出" in runner.output
    assert not [pid for pid in children if alive(pid)]
    assert not [port for port in ports if listening(port)]
