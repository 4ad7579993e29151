"""The CPU account of a measured window (`bench.cpu`): who is who, and shares that add up."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.cpu import CpuAccount, line, role_of

pytestmark = pytest.mark.skipif(not Path("/proc/stat").exists(), reason="reads Linux's /proc")


def test_processes_are_told_apart_by_their_command_line():
    assert role_of("postgres: autovacuum worker tongban_bench", own=False) == "autovacuum"
    assert role_of("postgres: postgres tongban_bench 127.0.0.1(5000) idle", own=False) == (
        "database"
    )
    assert role_of("postgres: checkpointer ", own=False) == "database"
    assert role_of(".venv/bin/python .venv/bin/gunicorn tongban.wsgi:application", own=False) == (
        "web"
    )
    assert role_of(".venv/bin/python manage.py worker ", own=False) == "worker"
    assert role_of("/usr/sbin/redis-server 127.0.0.1:6379", own=False) == "other"
    assert role_of("anything at all", own=True) == "generator"


def test_a_busy_process_is_counted_under_its_role_and_the_shares_add_up():
    # A child that spins for the whole window is "other"; this process sleeps through it.
    spinner = subprocess.Popen(
        [sys.executable, "-c", "import time\nt = time.time()\nwhile time.time() - t < 3: pass"]
    )
    try:
        start = time.perf_counter() + 0.3
        with CpuAccount(start, start + 1.5, interval=0.5) as account:
            pass
    finally:
        spinner.wait()
    result = account.result()
    assert result["cores"] >= 1 and 1.3 < result["seconds"] < 2.5
    # One core of `cores` was busy with the spinner alone.
    assert result["by_role_pct"]["other"] >= 0.7 * 100 / result["cores"]
    assert result.get("by_role_pct", {}).get("generator", 0) < 10
    total = result["busy_pct"] + result["idle_pct"] + result["steal_pct"]
    assert total == pytest.approx(100, abs=0.5)
    assert line(result).startswith("cpu of the machine: ") and "steal" in line(result)


def test_a_window_that_was_not_read_says_so():
    account = CpuAccount(0.0, 0.0)
    assert "error" in account.result()
    assert line(account.result()).startswith("cpu: ")
