"""A node without DEBUG refuses to start unless its three secrets are set and distinct, and
says which setting is missing (issue 11). `manage.py check` and the WSGI entry point run
in a subprocess with the demo values of tests/settings.py removed from the environment."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core import checks

ROOT = Path(__file__).resolve().parents[2]
KEYS = ("SECRET_KEY", "TONGBAN_PERSONAL_DATA_KEY", "TONGBAN_KEY_STORE_KEY")
GOOD = {
    "SECRET_KEY": "s" * 20 + "-secret-key-for-the-check-test",
    "TONGBAN_PERSONAL_DATA_KEY": "p" * 20 + "-personal-data-key-for-the-test",
    "TONGBAN_KEY_STORE_KEY": "k" * 20 + "-key-store-key-for-the-check-test",
}


def _env(tmp_path, **values: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DEBUG", "DATABASE_URL", *KEYS}
        and not name.startswith(("TONGBAN_PERSONAL_DATA", "TONGBAN_KEY_STORE"))
    }
    env.update(DJANGO_SETTINGS_MODULE="tongban.settings", TONGBAN_VAR_DIR=str(tmp_path))
    env.update(values)
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_node_without_debug_and_keys_refuses_to_start_naming_each_setting(tmp_path):
    result = _run(_env(tmp_path), "manage.py", "check")
    assert result.returncode != 0
    for name in KEYS:
        assert f"{name} is not set" in result.stderr
    assert "tongban.E001" in result.stderr


def test_one_missing_key_is_named_alone(tmp_path):
    values = {**GOOD}
    del values["TONGBAN_KEY_STORE_KEY"]
    result = _run(_env(tmp_path, **values), "manage.py", "check")
    assert result.returncode != 0
    assert "TONGBAN_KEY_STORE_KEY is not set" in result.stderr
    assert "SECRET_KEY is not set" not in result.stderr
    assert "TONGBAN_PERSONAL_DATA_KEY is not set" not in result.stderr


def test_the_wsgi_application_refuses_too_and_starts_with_distinct_keys(tmp_path):
    # gunicorn loads tongban.wsgi; it runs the checks, so the server refuses as check does.
    refused = _run(_env(tmp_path), "-c", "import tongban.wsgi")
    assert refused.returncode != 0 and "TONGBAN_PERSONAL_DATA_KEY is not set" in refused.stderr
    started = _run(_env(tmp_path, **GOOD), "-c", "import tongban.wsgi")
    assert started.returncode == 0, started.stderr


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"PERSONAL_DATA_KEY": ""}, "tongban.E001"),
        ({"KEY_STORE_KEY": "short"}, "tongban.E002"),
        ({"KEY_STORE_KEY": GOOD["TONGBAN_PERSONAL_DATA_KEY"]}, "tongban.E003"),
        ({"PERSONAL_DATA_OLD_KEYS": [GOOD["TONGBAN_PERSONAL_DATA_KEY"]]}, "tongban.E003"),
        ({"SECRET_KEY_FALLBACKS": [GOOD["SECRET_KEY"]]}, "tongban.E003"),
    ],
)
def test_the_check_refuses_empty_short_and_shared_keys(settings, change, code):
    settings.DEBUG = False
    settings.SECRET_KEY = GOOD["SECRET_KEY"]
    settings.PERSONAL_DATA_KEY = GOOD["TONGBAN_PERSONAL_DATA_KEY"]
    settings.KEY_STORE_KEY = GOOD["TONGBAN_KEY_STORE_KEY"]
    settings.PERSONAL_DATA_OLD_KEYS = settings.SECRET_KEY_FALLBACKS = []
    assert checks.secrets_set() == []
    for name, value in change.items():
        setattr(settings, name, value)
    found = checks.secrets_set()
    assert [m.id for m in found] == [code] and found[0].is_serious()


def test_with_debug_a_missing_key_is_only_a_warning(settings):
    settings.DEBUG = True
    settings.PERSONAL_DATA_KEY = ""
    found = checks.secrets_set()
    assert [m.id for m in found] == ["tongban.W002"] and not found[0].is_serious()


def test_check_deploy_on_production_settings_reports_only_the_hsts_preload_choice(tmp_path):
    # docs/deploy.md: HSTS preload is the domain owner's choice (TONGBAN_HSTS_PRELOAD=1).
    values = {**GOOD, "TONGBAN_PERSONAL_DATA_LOOKUP_KEY": "l" * 40, "ALLOWED_HOSTS": "gov.example"}
    result = _run(_env(tmp_path, **values), "manage.py", "check", "--deploy")
    assert result.returncode == 0, result.stderr
    reported = re.findall(r"\(([a-z_]+\.[EW]\d+)\)", result.stdout + result.stderr)
    assert reported == ["security.W021"]
    preload = _run(
        _env(tmp_path, **values, TONGBAN_HSTS_PRELOAD="1"), "manage.py", "check", "--deploy"
    )
    assert "no issues" in preload.stdout, preload.stdout + preload.stderr
