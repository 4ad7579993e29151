"""Health endpoints and the security headers every answer carries (issue 11)."""

from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from core import health


def test_healthz_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_readyz_is_ready_when_the_database_answers_and_is_migrated(client, monkeypatch):
    monkeypatch.setattr(health, "_migrated", False)
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "ready"}
    assert "no-store" in response["Cache-Control"]


def test_readyz_is_unavailable_while_a_migration_is_pending(client, monkeypatch):
    monkeypatch.setattr(health, "_migrated", False)
    # The database forgets one migration (in this test's transaction): as if a release's
    # code ran before its `migrate`.
    MigrationRecorder(connection).migration_qs.filter(app="sessions").delete()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"] == "migrations" and response.json()["pending"] >= 1


def test_health_endpoints_refuse_writes(client):
    assert client.post("/healthz").status_code == 405


def test_every_page_carries_a_strict_content_security_policy(client):
    for url in ["/", "/login/", "/api/v1/docs", "/healthz"]:
        policy = client.get(url)["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["default-src"] == "'self'"
        assert directives["script-src"] == "'self'" and "unsafe" not in policy
        assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"


def test_cookies_are_secure_and_hsts_is_sent_under_production_settings(client, settings):
    # The values a node without DEBUG takes (TONGBAN_HTTPS defaults on there); the real
    # gunicorn test (tests/core/test_real_server.py) checks them end to end.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/login/", secure=True)
    assert response.cookies["csrftoken"]["secure"] is True
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
