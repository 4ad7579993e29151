"""Real nodes for tests: each a `runserver` process with its own SQLite database, keys and
copy of a directory that the test signs as the authority. Commands run in a node through
`manage.py` with that node's environment, as an operator would run them."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.federation.support import Authority

ROOT = Path(__file__).resolve().parents[2]
NODES = {
    "liaoning": ("LN", "210000", "辽宁省政务服务通办平台"),
    "jilin": ("JL", "220000", "吉林省政务服务通办平台"),
    "heilongjiang": ("HL", "230000", "黑龙江省政务服务通办平台"),
    "neimenggu": ("NM", "150000", "内蒙古自治区政务服务通办平台"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}
    env.pop("DATABASE_URL", None)
    # The demo keys tests/settings.py set, as `make run` gives its nodes (scripts/demo.env).
    for name in ("TONGBAN_PERSONAL_DATA_KEY", "TONGBAN_KEY_STORE_KEY"):
        env[name] = os.environ[name]
    env["DJANGO_SETTINGS_MODULE"] = "tongban.settings"
    return env


def _fingerprint(*parts: str) -> str:
    """What a prepared database depends on: the migrations, the demo data, the commands."""
    digest = hashlib.sha256()
    for pattern in ("*/migrations/*.py", "demo/data/*/*.json", "cases/workflows/*.json"):
        for path in sorted(ROOT.glob(pattern)):
            digest.update(path.read_bytes())
    for part in parts:
        digest.update(part.encode())
    return digest.hexdigest()[:16]


def _cached(name: str, build: Any) -> Path:
    """A prepared node folder, made once per machine and state of the code, shared by the
    test modules and xdist workers (a file lock keeps two from building it at once)."""
    cache = Path(tempfile.gettempdir()) / "tongban-node-cache"
    cache.mkdir(exist_ok=True)
    target = cache / name
    with open(cache / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "ready").exists():
            shutil.rmtree(target, ignore_errors=True)
            build(target)
            (target / "ready").touch()
    return target


def migrated_template() -> Path:
    """One migrated database, copied for every node (migrating is the slow part)."""

    def build(target: Path) -> None:
        target.mkdir(parents=True)
        env = {**base_env(), "TONGBAN_VAR_DIR": str(target)}
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )

    return _cached(f"migrated-{_fingerprint()}", build)


def prepared(node_id: str, setup: list[list[str]]) -> Path:
    """A migrated database of `node_id` on which the `setup` commands have run."""
    if not setup:
        return migrated_template()
    template = migrated_template()

    def build(target: Path) -> None:
        shutil.copytree(template, target)
        (target / "ready").unlink()
        node = NodeProcess(node_id, target, 0, target / "none.json", target / "none.pem")
        for command in setup:
            node.manage(*command, federated=False)

    return _cached(f"{node_id}-{_fingerprint(node_id, json.dumps(setup))}", build)


@dataclass
class NodeProcess:
    id: str
    folder: Path
    port: int
    directory_file: Path
    anchor_file: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    server: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        code, division, name = NODES[self.id]
        return {
            **base_env(),
            "TONGBAN_VAR_DIR": str(self.folder),
            "TONGBAN_NODE_ID": self.id,
            "TONGBAN_NODE_CODE": code,
            "TONGBAN_NODE_DIVISION": division,
            "TONGBAN_NODE_NAME": name,
            "TONGBAN_PUBLIC_BASE_URL": self.url,
            "TONGBAN_FEDERATION_DIRECTORY": str(self.directory_file),
            "TONGBAN_FEDERATION_ANCHOR": str(self.anchor_file),
            "TONGBAN_FEDERATION_TIMEOUT": "3",
            "TONGBAN_FEDERATION_RETRY_BASE": "0.1",
            "TONGBAN_FEDERATION_RETRY_MAX": "0.5",
            **self.extra_env,
        }

    def manage(
        self, *args: str, check: bool = True, federated: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = self.env()
        if not federated:
            env.pop("TONGBAN_FEDERATION_DIRECTORY")
            env.pop("TONGBAN_FEDERATION_ANCHOR")
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{self.id}: manage.py {' '.join(args)}\n{result.stdout}\n{result.stderr}"
            )
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.manage(*args).stdout)

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with open(self.folder / f"{name}.log", "ab") as log:
            return subprocess.Popen(
                [sys.executable, "manage.py", *args],
                cwd=ROOT,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def start(self, *, worker: bool = True) -> None:
        """Start the web server (and the node's worker) and wait until it answers."""
        self.server = self._spawn("server", "runserver", f"127.0.0.1:{self.port}", "--noreload")
        if worker and self.worker is None:
            self.worker = self._spawn("worker", "worker", "--interval", "0.2")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/federation/v1/directory", timeout=1)
                return
            except urllib.error.HTTPError:
                return  # answering: even a 404 means the server is up
            except OSError:
                if self.server.poll() is not None:
                    raise AssertionError((self.folder / "server.log").read_text()) from None
                time.sleep(0.2)
        raise AssertionError(f"{self.id} did not start")

    def stop(self, *, worker: bool = False) -> None:
        """Stop the web server (the node is down for the others); `worker` stops that too."""
        processes = [self.server, self.worker] if worker else [self.server]
        for process in processes:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.server = None
        if worker:
            self.worker = None

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the node's database directly (read-only), as an auditor would."""
        uri = f"file:{self.folder / 'tongban.sqlite3'}?mode=ro"
        with sqlite3.connect(uri, uri=True, timeout=20) as db:
            return db.execute(sql, params).fetchall()

    def count(self, table: str, where: str = "1=1", *params: Any) -> int:
        return int(self.query(f"SELECT COUNT(*) FROM {table} WHERE {where}", *params)[0][0])


def wait_until(predicate: Any, *, timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or predicate}")


@dataclass
class Cluster:
    nodes: dict[str, NodeProcess]
    authority: Authority

    def __getitem__(self, node_id: str) -> NodeProcess:
        return self.nodes[node_id]

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop(worker=True)


def start_cluster(
    folder: Path, node_ids: list[str], *, setup: list[list[str]] | None = None
) -> Cluster:
    """Make, key, list and start nodes; `setup` commands run in every node before its
    keys are exported (e.g. `load_demo`, so that its seals are in the directory)."""
    authority = Authority()
    anchor = authority.write_anchor(folder / "anchor.pem")
    directory_file = folder / "directory.json"
    nodes: dict[str, NodeProcess] = {}
    entries = []
    for node_id in node_ids:
        node_folder = folder / node_id
        shutil.copytree(prepared(node_id, setup or []), node_folder)
        (node_folder / "ready").unlink()
        node = NodeProcess(node_id, node_folder, free_port(), directory_file, anchor)
        node.manage("federation_keys", "create")
        entries.append(json.loads(node.manage("federation_keys", "export").stdout))
        nodes[node_id] = node
    authority.write(directory_file, entries)
    cluster = Cluster(nodes, authority)
    try:
        for node in nodes.values():
            node.manage("federation_directory", "fetch")
            node.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster
