"""A node served the production way (issue 11): gunicorn with tongban/gunicorn.conf.py, DEBUG
off, its own keys, static files collected and served by whitenoise — as `make run-prod`
and docs/deploy.md run it, on a migrated SQLite copy instead of PostgreSQL."""

import json
import re
import secrets
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.federation.nodes import base_env, free_port, migrated_template, wait_until

pytestmark = pytest.mark.nodes
ROOT = Path(__file__).resolve().parents[2]


def _get(url: str, **headers: str):
    request = urllib.request.Request(url, headers=headers)
    try:
        return urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as error:
        return error


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prod")
    shutil.copy(migrated_template() / "tongban.sqlite3", folder / "tongban.sqlite3")
    port = free_port()
    env = {k: v for k, v in base_env().items() if k not in {"DEBUG", "SECRET_KEY"}}
    env.pop("TONGBAN_PERSONAL_DATA_KEY")
    env.pop("TONGBAN_KEY_STORE_KEY")
    env.update(
        {
            name: secrets.token_urlsafe(48)
            for name in ("SECRET_KEY", "TONGBAN_PERSONAL_DATA_KEY", "TONGBAN_KEY_STORE_KEY")
        },
        TONGBAN_VAR_DIR=str(folder),
        TONGBAN_BIND=f"127.0.0.1:{port}",
        TONGBAN_WEB_WORKERS="1",
        TONGBAN_SSL_REDIRECT="0",
        TONGBAN_PROXY_SSL_HEADER="X-Forwarded-Proto",
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    log = open(folder / "gunicorn.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c",
            "tongban/gunicorn.conf.py",
            "tongban.wsgi",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert process.poll() is None, (folder / "gunicorn.log").read_text()
        try:
            return _get(base + "/healthz").status == 200
        except OSError:
            return False

    wait_until(answers, timeout=60, what="gunicorn to answer /healthz")
    yield base, folder / "gunicorn.log"
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    log.close()


def test_health_and_readiness(server):
    base, _ = server
    assert json.loads(_get(base + "/healthz").read()) == {"status": "ok"}
    assert json.loads(_get(base + "/readyz").read()) == {"status": "ready"}


def test_pages_carry_csp_and_secure_cookies_and_hsts_behind_https(server):
    base, _ = server
    response = _get(base + "/login/", **{"X-Forwarded-Proto": "https"})
    assert response.status == 200
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = response.headers["Set-Cookie"]
    assert "csrftoken=" in cookie and "Secure" in cookie


def test_static_files_are_served_hashed_and_cached(server):
    base, _ = server
    page = _get(base + "/").read().decode()
    stylesheet = re.search(r'href="(/static/portal/portal\.[0-9a-f]{12}\.css)"', page)
    assert stylesheet, "the page links the hashed stylesheet collectstatic made"
    response = _get(base + stylesheet.group(1))
    assert response.status == 200 and "immutable" in response.headers["Cache-Control"]


def test_an_unknown_address_shows_no_debug_page(server):
    base, _ = server
    response = _get(base + "/no-such-page/")
    body = response.read().decode()
    assert response.status == 404 and "URLconf" not in body and "Traceback" not in body


def test_logs_are_json_lines_without_query_strings(server):
    base, log = server
    _get(base + "/healthz?who=210102199001011234")
    wait_until(lambda: "/healthz" in log.read_text(), timeout=10, what="the access log")
    # Every line is one JSON object: gunicorn's own, its access log and Django's.
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    access = [entry for entry in lines if entry["logger"] == "gunicorn.access"]
    assert any(entry["path"] == "/healthz" and entry["status"] == 200 for entry in access)
    assert "210102199001011234" not in log.read_text()
    assert all(set(entry) >= {"time", "level", "logger", "message"} for entry in lines)
