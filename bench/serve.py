"""gunicorn as production runs it, for every scenario of the bench: `gunicorn -c
tongban/gunicorn.conf.py` (what `make run-prod` and docs/deploy.md run: sync workers,
each serving one request at a time, workers recycled, JSON access log), with the
workers and the port set through the same environment variables (decision 317).

`gunicorn()` serves the page scenarios over the generated cases (bench/casebench.py,
bench/dashboard.py): the static files collected (the console renders with DEBUG off), a
free port, stopped with its process group; scripts/bench starts the main run's server
with `command()`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
OUT = ROOT / "var" / "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(port: int, server: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/api/v1/calendar/deadline?start=2026-12-01&days=1"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the server did not answer in time")


def command(env: dict[str, str], *, port: int, workers: int, threads: int) -> list[str]:
    """The production server's command line; sets its port and shape in `env`. More than
    one thread a worker makes gunicorn's threaded workers (with keep-alive) instead."""
    env.update(
        {
            "TONGBAN_BIND": f"127.0.0.1:{port}",
            "TONGBAN_WEB_WORKERS": str(workers),
            "TONGBAN_WEB_THREADS": str(threads),
        }
    )
    return [GUNICORN, "-c", str(ROOT / "tongban" / "gunicorn.conf.py"), "tongban.wsgi:application"]


def shape(workers: int, threads: int) -> str:
    """The server's shape, as results.json records it."""
    if threads > 1:
        return f"{workers} gthread workers × {threads} threads (tongban/gunicorn.conf.py)"
    return f"{workers} sync workers (tongban/gunicorn.conf.py)"


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int, threads: int, log: str) -> Iterator[int]:
    """Serve the node with `env` (its DATABASE_URL the data set's) until the block ends;
    yields the port. The server's output goes to var/bench/<log>."""
    subprocess.run(
        [PY, "manage.py", "collectstatic", "--noinput", "-v0"], env=env, cwd=ROOT, check=True
    )
    port = free_port()
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / log).open("wb") as logfile:
        server_env = dict(env)
        argv = command(server_env, port=port, workers=workers, threads=threads)
        server = subprocess.Popen(
            argv,
            env=server_env,
            cwd=ROOT,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_up(port, server)
        yield port
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
