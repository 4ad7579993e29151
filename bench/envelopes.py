"""The envelopes scenario: two nodes on loopback, the receiver killed and restarted in the
middle of the run. `python -m bench.envelopes --database BASE --count N`, with the node's
settings in the environment (scripts/bench passes them), prints one JSON line.

1. Two databases, `<BASE>_env_liaoning` and `<BASE>_env_jilin`, made fresh for each run
   from a migrated template (`<BASE>_env_template`, migrated once and again only when a
   migration was added), so that every count below is this run's.
2. Each node gets its key (`federation_keys create`), exports its directory entry; a
   directory authority made for the run signs the directory (`federation_directory
   keygen` / `sign`), and each node fetches it: the federation set-up of the demo and the
   real-node tests, with `manage.py` commands only.
3. The receiver (jilin) is gunicorn (the same shape as the main run); the sender
   (liaoning) is its worker (`manage.py worker`, delivering the outbox every 0.2 s) and
   `--senders` processes side by side that enqueue N envelopes between them
   (`federation_ping jilin --count …`: each signed, logged and put in the outbox in its
   own transaction, as a business change does).
4. When a third of the envelopes have been received, the receiver's whole process group
   is killed with SIGKILL (no graceful stop: requests in flight are cut, transactions
   open in its workers are rolled back by PostgreSQL), and started again 2 s later.
5. The run ends when the sender's outbox holds nothing pending (or after `--timeout`).
   Counted from the two databases: the envelopes the sender logged, those the receiver
   stored (its log's incoming envelopes), how many were lost (sent, never stored) and
   duplicated (stored more than once, or with more than one receipt); and the chained
   logs of both nodes are verified again (`federation_log verify`).

`envelopes_per_s` is N over the time from the first enqueue to the last receipt stored by
the sender, the restart included.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
OUT = ROOT / "var" / "bench" / "envelopes"
NODES = {
    "liaoning": ("LN", "210000", "辽宁省政务服务通办平台"),
    "jilin": ("JL", "220000", "吉林省政务服务通办平台"),
}


def log(message: str) -> None:
    print(f"[envelopes {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _migrations_fingerprint() -> str:
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(ROOT.glob("*/migrations/*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


class Node:
    def __init__(self, node_id: str, database: str, base_env: dict[str, str], port: int) -> None:
        self.id = node_id
        self.database = database
        self.port = port
        self.folder = OUT / node_id
        self.folder.mkdir(parents=True, exist_ok=True)
        code, division, name = NODES[node_id]
        self.env = {
            **base_env,
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
            "TONGBAN_NODE_ID": node_id,
            "TONGBAN_NODE_CODE": code,
            "TONGBAN_NODE_DIVISION": division,
            "TONGBAN_NODE_NAME": name,
            "TONGBAN_VAR_DIR": str(self.folder),
            "TONGBAN_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "TONGBAN_FEDERATION_DIRECTORY": str(OUT / "directory.json"),
            "TONGBAN_FEDERATION_ANCHOR": str(OUT / "authority.key.pub"),
            "TONGBAN_FEDERATION_TIMEOUT": "10",
            # A receiver that is back is tried again within 2 s (the demo's nodes: 300 s).
            "TONGBAN_FEDERATION_RETRY_BASE": "0.2",
            "TONGBAN_FEDERATION_RETRY_MAX": "2",
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [PY, "manage.py", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{self.id}: manage.py {' '.join(args)}\n{done.stderr[-2000:]}")
        return done.stdout

    def sql(self, query: str) -> str:
        return subprocess.run(
            ["psql", self.env["DATABASE_URL"], "-qAtc", query],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    def start(self, name: str, argv: list[str]) -> None:
        with (self.folder / f"{name}.log").open("ab") as logfile:
            self.processes[name] = subprocess.Popen(
                argv,
                env=self.env,
                cwd=ROOT,
                stdout=logfile,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start_server(self, workers: int, threads: int) -> None:
        self.start(
            "gunicorn",
            [
                GUNICORN,
                "tongban.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--worker-class",
                "gthread",
                "--threads",
                str(threads),
                "--timeout",
                "120",
                "--log-level",
                "warning",
            ],
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(
                    f"http://127.0.0.1:{self.port}/federation/v1/directory", timeout=2
                )
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.id} did not start")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.kill(name, signal.SIGTERM)


def _admin(sql: str) -> str:
    return subprocess.run(
        ["psql", "postgres://postgres@127.0.0.1:5432/postgres", "-qAtc", sql],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def fresh_databases(base: str, env: dict[str, str]) -> dict[str, str]:
    """A fresh database per node, copied from a migrated template."""
    template = f"{base}_env_template"
    fingerprint = _migrations_fingerprint()
    marker = OUT / "template.fingerprint"
    exists = _admin(f"SELECT 1 FROM pg_database WHERE datname = '{template}'")
    if not exists:
        _admin(f'CREATE DATABASE "{template}"')
    if not exists or not marker.exists() or marker.read_text() != fingerprint:
        log(f"migrating {template}")
        subprocess.run(
            [PY, "manage.py", "migrate", "-v0"],
            env={**env, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{template}"},
            cwd=ROOT,
            check=True,
        )
        marker.write_text(fingerprint)
    names = {}
    for node_id in NODES:
        name = f"{base}_env_{node_id}"
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        names[node_id] = name
    return names


def federate(nodes: dict[str, Node]) -> None:
    """Keys, entries, a directory signed by an authority made for the run, fetched."""
    first = next(iter(nodes.values()))
    key = OUT / "authority.key"
    for path in (key, OUT / "authority.key.pub"):
        path.unlink(missing_ok=True)
    first.manage("federation_directory", "keygen", "--key", str(key))
    entries = []
    for node in nodes.values():
        node.manage("federation_keys", "create")
        entry = OUT / f"entry-{node.id}.json"
        entry.write_text(
            node.manage("federation_keys", "export", "--base-url", f"http://127.0.0.1:{node.port}")
        )
        entries.append(str(entry))
    first.manage(
        "federation_directory",
        "sign",
        *entries,
        "--key",
        str(key),
        "--out",
        str(OUT / "directory.json"),
    )
    for node in nodes.values():
        node.manage("federation_directory", "fetch")


def _counts(sender: Node, receiver: Node) -> dict[str, int]:
    ping = "kind = 'federation.ping'"
    sent = set(
        sender.sql(
            f"SELECT envelope_id FROM federation_logentry WHERE entry_type = 'envelope'"
            f" AND direction = 'out' AND {ping}"
        ).split()
    )
    stored = receiver.sql(
        f"SELECT envelope_id FROM federation_logentry WHERE entry_type = 'envelope'"
        f" AND direction = 'in' AND {ping}"
    ).split()
    receipts = receiver.sql(
        f"SELECT envelope_id FROM federation_logentry WHERE entry_type = 'receipt'"
        f" AND direction = 'out' AND {ping}"
    ).split()
    return {
        "sent": len(sent),
        "stored": len(stored),
        "lost": len(sent - set(stored)),
        "duplicated": (len(stored) - len(set(stored))) + (len(receipts) - len(set(receipts))),
        "unknown": len(set(stored) - sent),
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    OUT.mkdir(parents=True, exist_ok=True)
    base_env = dict(os.environ)
    databases = fresh_databases(args.database, base_env)
    nodes = {
        node_id: Node(node_id, databases[node_id], base_env, _free_port()) for node_id in NODES
    }
    sender, receiver = nodes["liaoning"], nodes["jilin"]
    federate(nodes)
    try:
        receiver.start_server(args.workers, args.threads)
        sender.start("worker", [PY, "manage.py", "worker", "--interval", "0.2"])
        log(f"enqueueing {args.count} envelopes; the receiver is killed at a third")
        started = time.monotonic()
        # Several enqueuers, as a node's web workers commit business changes side by side.
        share = [
            args.count // args.senders + (k < args.count % args.senders)
            for k in range(args.senders)
        ]
        for k, count in enumerate(share):
            sender.start(
                f"enqueue-{k}", [PY, "manage.py", "federation_ping", "jilin", "--count", str(count)]
            )
        killed_at = restarted_at = enqueued_in = None
        pending_sql = "SELECT count(*) FROM federation_outbox WHERE status = 'pending'"
        received_sql = (
            "SELECT count(*) FROM federation_logentry WHERE entry_type = 'envelope'"
            " AND direction = 'in'"
        )
        while True:
            time.sleep(0.25)
            elapsed = time.monotonic() - started
            for name in [n for n in sender.processes if n.startswith("enqueue-")]:
                enqueue = sender.processes[name]
                if enqueue.poll() is not None:
                    if enqueue.returncode != 0:
                        raise RuntimeError("federation_ping failed; see its log")
                    sender.processes.pop(name)
                    if not any(n.startswith("enqueue-") for n in sender.processes):
                        enqueued_in = elapsed
            if killed_at is None and int(receiver.sql(received_sql)) >= args.count // 3:
                receiver.kill("gunicorn")
                killed_at = elapsed
                log(f"receiver killed (SIGKILL) at {elapsed:.1f} s")
                time.sleep(2)
                receiver.start_server(args.workers, args.threads)
                restarted_at = time.monotonic() - started
                log(f"receiver back at {restarted_at:.1f} s")
            if enqueued_in is not None and int(sender.sql(pending_sql)) == 0:
                break
            if elapsed > args.timeout:
                log("timed out waiting for the outbox to empty")
                break
        finished = float(
            sender.sql(
                "SELECT extract(epoch FROM max(delivered_at) - min(l.logged_at))"
                " FROM federation_outbox o JOIN federation_logentry l ON l.id = o.envelope_id"
            )
            or 0
        )
        wall = time.monotonic() - started
    finally:
        for node in nodes.values():
            node.stop_all()
    counts = _counts(sender, receiver)
    verified = {node.id: node.manage("federation_log", "verify").strip() for node in nodes.values()}
    seconds = finished or wall
    return {
        "envelopes": args.count,
        "per_s": round(counts["stored"] / seconds, 1) if seconds else None,
        "seconds": round(seconds, 2),
        "enqueue_seconds": round(enqueued_in, 2) if enqueued_in else None,
        "receiver_killed_at_s": round(killed_at, 2) if killed_at else None,
        "receiver_restarted_at_s": round(restarted_at, 2) if restarted_at else None,
        **counts,
        "log_verified": verified,
        "senders": args.senders,
        "receiver": f"gunicorn {args.workers} gthread workers × {args.threads} threads",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", required=True, help="the bench database's name (a prefix)")
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--senders", type=int, default=4, help="parallel enqueuing processes")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    result = measure(args)
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
