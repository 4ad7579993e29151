"""Where the machine's CPU went during a measured window: the web workers, PostgreSQL, its
autovacuum, the load generator, the task worker, anything else, and the time the hypervisor
took (steal).

A scenario's rate is bounded by the cores that every process of the run shares, so a figure
that moves from one run to the next is read against this account: a run whose web workers
got less of the cores (because autovacuum, a checkpoint or another program took them)
serves less, with the same code. Read from /proc (Linux); elsewhere `CpuAccount.result`
says so and the run goes on.

Each process's CPU time is read about once a second, so a process that starts and ends
between two readings is missed (its time counts as `other`); PostgreSQL's backends, the
web workers and the generator live through the whole window.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

PROC = Path("/proc")
# Who a process is, by its command line; the first match wins.
ROLES = (
    ("postgres: autovacuum", "autovacuum"),
    ("postgres", "database"),
    ("gunicorn", "web"),
    ("manage.py worker", "worker"),
)


def role_of(cmdline: str, *, own: bool) -> str:
    """The role of a process by its command line; `own` marks the generator itself."""
    if own:
        return "generator"
    for marker, role in ROLES:
        if marker in cmdline:
            return role
    return "other"


def _system_ticks() -> tuple[int, int, int]:
    """Busy, idle (with I/O wait) and steal ticks of all cores, from /proc/stat."""
    fields = [int(v) for v in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq, idle + iowait, steal


def _process_ticks(names: dict[int, str]) -> dict[int, int]:
    """User and system ticks of every process; `names` caches command lines by pid."""
    ticks: dict[int, int] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            stat = (entry / "stat").read_text()
            if pid not in names:
                names[pid] = (
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
        except OSError:  # it ended between the listing and the read
            continue
        # The command name (field 2) may hold spaces; the fields after it are fixed.
        rest = stat[stat.rindex(")") + 2 :].split()
        ticks[pid] = int(rest[11]) + int(rest[12])  # utime, stime
    return ticks


class CpuAccount:
    """Reads the CPU of every process from `start` to `end` (`time.perf_counter` clock) in
    a thread of its own; `result` gives the shares once the window is over."""

    def __init__(self, start: float, end: float, *, interval: float = 1.0) -> None:
        self.start, self.end, self.interval = start, end, interval
        self.own = os.getpid()
        self.names: dict[int, str] = {}
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.system: list[tuple[int, int, int]] = []
        self.wall = 0.0
        self.error: str | None = None
        self.thread = threading.Thread(target=self._watch, name="cpu-account", daemon=True)

    def __enter__(self) -> CpuAccount:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join()

    def _read(self) -> None:
        for pid, ticks in _process_ticks(self.names).items():
            self.first.setdefault(pid, 0 if self.system else ticks)
            self.last[pid] = ticks

    def _watch(self) -> None:
        try:
            time.sleep(max(0.0, self.start - time.perf_counter()))
            began = time.perf_counter()
            self._read()
            self.system.append(_system_ticks())
            while (now := time.perf_counter()) < self.end:
                time.sleep(min(self.interval, self.end - now))
                self._read()
            self.system.append(_system_ticks())
            self.wall = time.perf_counter() - began
        except OSError as exc:
            self.error = f"cannot read /proc: {exc}"

    def result(self) -> dict[str, Any]:
        """Each role's share of the machine (percent of all cores over the window), the
        busy, idle and stolen shares, and the cores."""
        if self.error or len(self.system) < 2:
            return {"error": self.error or "the window was not read"}
        (busy0, idle0, steal0), (busy1, idle1, steal1) = self.system[0], self.system[-1]
        total = (busy1 - busy0) + (idle1 - idle0) + (steal1 - steal0)
        if total <= 0:
            return {"error": "no time passed"}
        by_role: dict[str, int] = {}
        for pid, ticks in self.last.items():
            role = role_of(self.names.get(pid, ""), own=pid == self.own)
            by_role[role] = by_role.get(role, 0) + ticks - self.first.get(pid, 0)

        def pct(ticks: int) -> float:
            return round(100 * ticks / total, 1)

        return {
            "cores": os.cpu_count(),
            "seconds": round(self.wall, 1),
            "busy_pct": pct(busy1 - busy0),
            "idle_pct": pct(idle1 - idle0),
            "steal_pct": pct(steal1 - steal0),
            "by_role_pct": {role: pct(t) for role, t in sorted(by_role.items()) if t > 0},
        }


def line(account: dict[str, Any]) -> str:
    """One line for the run's log: `web 61% · database 24% · … · idle 2%`."""
    if "error" in account:
        return f"cpu: {account['error']}"
    parts = [f"{role} {share:.0f}%" for role, share in account["by_role_pct"].items()]
    parts += [f"idle {account['idle_pct']:.0f}%", f"steal {account['steal_pct']:.0f}%"]
    return "cpu of the machine: " + " · ".join(parts)
