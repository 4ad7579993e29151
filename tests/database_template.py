"""The test database: migrated once per state of the migrations, then copied for every test
session (each xdist worker gets its own copy) instead of migrated by every process.

The template is named after a fingerprint of everything a freshly migrated database
depends on: the migrations folder of every installed app (ours and Django's, axes'…,
with any data files beside the migrations), the pinned dependencies (pyproject.toml) and
the Django version. A new or changed migration
makes a new template, so a stale one is never reused; a model changed without its
migration still fails `makemigrations --check` (make lint) and the tests that touch it. A
clean clone builds the template on first use.

- SQLite: `var/test-db/<fingerprint>.sqlite3`, the session's copy is a file copy.
- PostgreSQL: the database `test_<NAME>_tpl_<fingerprint>` next to the tests' own; the
  session's database is `CREATE DATABASE … TEMPLATE` it.

Each template is built by `manage.py migrate` into a scratch database that is renamed
once complete, under a file lock, so that two workers never build it twice and a build
that died never passes for a template. Building one removes the templates of other
fingerprints (they belong to older migrations).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import django
from django.apps import apps
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]


def fingerprint() -> str:
    digest = hashlib.sha256(django.get_version().encode())
    digest.update((ROOT / "pyproject.toml").read_bytes())
    for app in sorted(apps.get_app_configs(), key=lambda a: a.label):
        folder = Path(app.path, "migrations")
        # Every file, not only the .py: a data migration may read its data beside it
        # (cases/migrations/workflows_v1/).
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(f"{app.label}/{path.relative_to(folder)}".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _folder() -> Path:
    folder = Path(settings.VAR_DIR) / "test-db"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def _locked(name: str) -> Iterator[None]:
    with open(_folder() / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _migrate(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--run-syncdb", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"migrating the test template failed:\n{result.stdout}{result.stderr}")


def prepare(test_name: str, settings_dict: dict[str, Any]) -> None:
    """Put a fresh copy of the migrated template where the test database `test_name` of
    this connection goes, building the template first if there is none yet."""
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        _prepare_sqlite(Path(test_name))
    elif settings_dict["ENGINE"] == "django.db.backends.postgresql":
        _prepare_postgres(test_name, settings_dict)
    else:
        raise RuntimeError(f"no test template for {settings_dict['ENGINE']}")


# SQLite ----------------------------------------------------------------------------------


def _sqlite_template() -> Path:
    name = f"{fingerprint()}.sqlite3"
    template = _folder() / name
    with _locked(name):
        if not template.exists():
            scratch = template.with_suffix(".building")
            scratch.unlink(missing_ok=True)
            _migrate(f"sqlite:///{scratch}")
            # One self-contained file: fold the write-ahead log in and stop using one.
            db = sqlite3.connect(scratch)
            try:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                db.execute("PRAGMA journal_mode=DELETE")
            finally:
                db.close()
            for old in _folder().glob("*.sqlite3*"):
                if not old.name.startswith(name):
                    old.unlink(missing_ok=True)  # an older template, or its lock
            scratch.rename(template)
    return template


def _prepare_sqlite(target: Path) -> None:
    template = _sqlite_template()
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, target)


# PostgreSQL ------------------------------------------------------------------------------


def _admin(settings_dict: dict[str, Any]) -> Any:
    """An autocommit connection to the server's maintenance database."""
    import psycopg

    return psycopg.connect(
        dbname="postgres",
        user=settings_dict.get("USER") or None,
        password=settings_dict.get("PASSWORD") or None,
        host=settings_dict.get("HOST") or None,
        port=settings_dict.get("PORT") or None,
        autocommit=True,
    )


def _url(settings_dict: dict[str, Any], dbname: str) -> str:
    user = urllib.parse.quote(settings_dict.get("USER") or "", safe="")
    password = urllib.parse.quote(settings_dict.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{dbname}"


def _prepare_postgres(test_name: str, settings_dict: dict[str, Any]) -> None:
    from psycopg import sql

    prefix = f"test_{settings_dict['NAME']}_tpl_"
    template = prefix + fingerprint()
    with _locked(template), _admin(settings_dict) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template])
        if exists.fetchone() is None:
            scratch = f"{template}_building"
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(scratch)))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
            _migrate(_url(settings_dict, scratch))
            admin.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(scratch), sql.Identifier(template)
                )
            )
            _drop_other_templates(admin, prefix, template)
            for lock in _folder().glob(f"{prefix}*.lock"):
                if lock.name != f"{template}.lock":
                    lock.unlink(missing_ok=True)
        # FORCE: a connection left by a session that was killed must not block the copy.
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(test_name))
        )
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(test_name), sql.Identifier(template)
            )
        )


def _drop_other_templates(admin: Any, prefix: str, keep: str) -> None:
    from psycopg import errors, sql

    pattern = re.compile(re.escape(prefix) + r"[0-9a-f]{12}")
    for (name,) in admin.execute("SELECT datname FROM pg_database").fetchall():
        if name != keep and pattern.fullmatch(name):
            # One in use (copied by a session of older code) is left for the next build.
            with contextlib.suppress(errors.ObjectInUse):
                admin.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))
