"""退出所有设备: the page lists the person's sessions here and the sign-ins this node's
provider gave (the mobile app, other members); one action ends them all — sessions
deleted, grants revoked — and another member's session from this provider ends at its
next refresh (signon.sessions, decisions 283–285)."""

from __future__ import annotations

import datetime as dt
import io
import json
import secrets
import urllib.error
import urllib.parse

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.actors import SystemActor
from core.models import AuditEvent
from signon import keys
from signon.models import Grant, NodeSession
from signon.provider import register_client
from signon.sessions import REFRESH_DUE_KEY, device_label, sign_out_everywhere
from tests import builders
from tests.signon.pkce import APP, REDIRECT, pkce_tokens
from tests.signon.test_single_sign_on import authorize, code_from, redeem

pytestmark = pytest.mark.django_db
PASSWORD = "pw-sign-out-2026"
PHONE_UA = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36"


@pytest.fixture
def person():
    register_client(APP, name="辽事通", redirect_uris=[REDIRECT], actor=SystemActor("test"))
    person = builders.person("赵退出")
    person.user.set_password(PASSWORD)
    person.user.save()
    return person


def _sign_in(person, user_agent: str = "") -> Client:
    browser = Client(HTTP_USER_AGENT=user_agent) if user_agent else Client()
    answer = browser.post("/login/", {"username": person.id_number, "password": PASSWORD})
    assert answer.status_code == 302, answer.content
    return browser


def test_the_page_lists_sessions_and_apps_and_one_action_ends_them_all(person):
    laptop = _sign_in(person)
    phone = _sign_in(person, PHONE_UA)
    tokens = pkce_tokens(Client(), Client(), person.id_number, PASSWORD)
    assert NodeSession.objects.filter(user=person.user, ended_at__isnull=True).count() == 3

    page = laptop.get("/my/sign-ins/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "共 3 个登录会话" in body and "当前设备" in body and "Chrome · Android" in body
    assert "辽事通" in body and "移动应用" in body
    assert body.count('<span class="tag">当前设备</span>') == 1

    ended = laptop.post("/my/sign-ins/")
    assert ended.status_code == 302 and ended["Location"] == "/login/"
    # Every session here is over, the current one too.
    for browser in (laptop, phone):
        again = browser.get("/my/cases/")
        assert again.status_code == 302 and again["Location"].startswith("/login/")
    assert not NodeSession.objects.filter(user=person.user, ended_at__isnull=True).exists()
    # The app's access token and refresh token are dead.
    api = Client().get("/api/v1/cases", HTTP_AUTHORIZATION=f"Bearer {tokens.access}")
    assert api.status_code == 401
    refreshed = Client().post(
        "/oidc/token",
        {"grant_type": "refresh_token", "refresh_token": tokens.refresh, "client_id": APP},
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert Grant.objects.get(user=person.user).revoked_reason == "signed_out_everywhere"
    audit = AuditEvent.objects.get(action="sign_out_everywhere")
    assert "会话 3 个" in audit.summary and person.id_number not in audit.summary


def test_the_page_needs_a_sign_in_and_a_post_with_its_csrf_token(person):
    anonymous = Client().get("/my/sign-ins/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(person.user)
    assert strict.post("/my/sign-ins/").status_code == 403
    assert NodeSession.objects.filter(user=person.user, ended_at__isnull=True).exists()


def test_the_page_has_a_constant_number_of_queries(person):
    browser = _sign_in(person)
    pkce_tokens(Client(), Client(), person.id_number, PASSWORD)
    browser.get("/my/sign-ins/")
    with CaptureQueriesContext(connection) as one:
        browser.get("/my/sign-ins/")
    for _ in range(3):
        _sign_in(person)
        pkce_tokens(Client(), Client(), person.id_number, PASSWORD)
    with CaptureQueriesContext(connection) as many:
        body = browser.get("/my/sign-ins/").content.decode()
    assert "共 8 个登录会话" in body and "共 4 项登录授权" in body
    assert len(many) == len(one)


def test_a_device_is_a_coarse_label():
    assert device_label(PHONE_UA) == "Chrome · Android"
    assert device_label("") == "浏览器"


# Another member's session from this provider ---------------------------------------------------


@pytest.fixture
def members(federation, settings):
    settings.PUBLIC_BASE_URL = "http://testserver"
    federation.publish(
        [{**federation.local_entry(), "oidc": keys.directory_part()}, federation.jilin.entry()],
        serial=2,
    )
    return federation


class _Answer(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture
def transport(monkeypatch):
    """HTTP between the two nodes' code in this process: the relying side's POST to the
    provider's /oidc/token is served by this node's real token endpoint (the provider's
    grants and the relying side's sessions share the test database). `down` makes the
    provider unreachable."""
    state = {"down": False, "calls": 0}

    def urlopen(request, timeout=None):
        state["calls"] += 1
        if state["down"]:
            raise urllib.error.URLError("connection refused")
        path = urllib.parse.urlsplit(request.full_url).path
        fields = dict(urllib.parse.parse_qsl(request.data.decode()))
        answer = Client().post(path, fields)
        if answer.status_code >= 400:
            raise urllib.error.HTTPError(
                request.full_url, answer.status_code, "refused", {}, io.BytesIO(answer.content)
            )
        return _Answer(answer.content)

    monkeypatch.setattr("signon.relying.urllib.request.urlopen", urlopen)
    return state


def _member_session(person, settings) -> Client:
    """Jilin signed the person in through this node's provider: the grant is this node's
    (client `node:jilin`); then, as the Jilin node, a browser session holding its refresh
    token, due for refresh."""
    provider_browser = Client()
    provider_browser.force_login(person.user)
    verifier = secrets.token_urlsafe(48)
    answer = redeem(code_from(authorize(provider_browser, verifier)), verifier)
    assert answer["refresh_token"].startswith("tbr_")
    settings.NODE_ID = "jilin"  # from here on this process is the Jilin node
    visitor = builders.person("赵吉林访客").user
    browser = Client()
    browser.force_login(visitor)
    row = NodeSession.objects.get(user=visitor)
    row.provider_node, row.refresh_token = "liaoning", answer["refresh_token"]
    row.refresh_due_at = timezone.now() - dt.timedelta(seconds=1)
    row.save()
    session = browser.session
    session[REFRESH_DUE_KEY] = row.refresh_due_at.timestamp()
    session.save()
    return browser


def _due_now(browser: Client) -> None:
    NodeSession.objects.filter(provider_node="liaoning").update(
        refresh_due_at=timezone.now() - dt.timedelta(seconds=1)
    )
    session = browser.session
    session[REFRESH_DUE_KEY] = timezone.now().timestamp() - 1
    session.save()


def test_a_member_session_ends_at_its_next_refresh_after_sign_out_everywhere(
    members, transport, person, settings
):
    browser = _member_session(person, settings)
    first_token = NodeSession.objects.get(provider_node="liaoning").refresh_token
    # Due: refreshed at the provider (rotated), and the page is served.
    assert browser.get("/my/cases/").status_code == 200
    row = NodeSession.objects.get(provider_node="liaoning")
    assert row.refresh_token != first_token and row.refresh_due_at > timezone.now()
    assert transport["calls"] == 1
    # Not due: no call at all.
    assert browser.get("/my/cases/").status_code == 200
    assert transport["calls"] == 1

    settings.NODE_ID = "liaoning"
    sign_out_everywhere(person.user)
    settings.NODE_ID = "jilin"
    assert browser.get("/my/cases/").status_code == 200  # not due yet: still signed in
    _due_now(browser)
    ended = browser.get("/my/cases/")
    assert ended.status_code == 302 and ended["Location"].startswith("/login/")
    row.refresh_from_db()
    assert row.ended_reason == "provider_revoked" and row.refresh_token == ""


def test_a_provider_out_of_reach_keeps_the_session_and_asks_again_later(
    members, transport, person, settings
):
    browser = _member_session(person, settings)
    transport["down"] = True
    assert browser.get("/my/cases/").status_code == 200
    row = NodeSession.objects.get(provider_node="liaoning")
    assert row.ended_at is None
    assert timezone.now() + dt.timedelta(seconds=50) < row.refresh_due_at
    assert row.refresh_due_at < timezone.now() + dt.timedelta(minutes=2)


def test_node_clients_get_a_refresh_token_that_rotates(members, person):
    browser = Client()
    browser.force_login(person.user)
    verifier = secrets.token_urlsafe(48)
    answer = redeem(code_from(authorize(browser, verifier)), verifier)
    fresh = Client().post(
        "/oidc/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": answer["refresh_token"],
            "client_id": "node:jilin",
        },
    )
    assert fresh.status_code == 200 and fresh.json()["refresh_token"] != answer["refresh_token"]
    wrong_client = Client().post(
        "/oidc/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": fresh.json()["refresh_token"],
            "client_id": APP,
        },
    )
    assert wrong_client.status_code == 400
    assert json.loads(wrong_client.content)["error"] == "invalid_grant"


def test_signing_in_again_in_the_session_revokes_the_sign_in_it_replaces(
    members, transport, person, settings
):
    """Agreeing to share one's identity repeats the sign-in in the same session: the
    session holds the new refresh token and the sign-in it replaces is revoked at the
    provider (RFC 7009), so that 登录设备 there does not list it twice."""
    from importlib import import_module

    from django.contrib.auth import login
    from django.test import RequestFactory

    from signon.sessions import attach_provider

    browser = _member_session(person, settings)
    row = NodeSession.objects.get(provider_node="liaoning")
    provider_browser = Client()
    provider_browser.force_login(person.user)
    verifier = secrets.token_urlsafe(48)
    second = redeem(code_from(authorize(provider_browser, verifier)), verifier)
    request = RequestFactory().get("/signon/callback/liaoning/")
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(
        browser.session.session_key
    )
    login(request, row.user, backend="django.contrib.auth.backends.ModelBackend")
    attach_provider(request, node="liaoning", refresh_token=second["refresh_token"])
    row.refresh_from_db()
    assert row.ended_at is None and row.refresh_token == second["refresh_token"]
    assert NodeSession.objects.filter(user=row.user).count() == 1
    grants = Grant.objects.filter(user=person.user, client_id="node:jilin")
    assert grants.count() == 2
    assert grants.get(revoked_at__isnull=False).revoked_reason == "revoked_by_client"
    # 登录设备 on the provider lists the live one only.
    settings.NODE_ID = "liaoning"
    body = provider_browser.get("/my/sign-ins/").content.decode()
    assert "共 1 项登录授权" in body
