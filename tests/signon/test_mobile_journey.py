"""The citizen journey through the API alone, with a token the mobile app obtained by the
authorization code flow with PKCE: apply, upload, submit, track, wallet, rate, consult;
then refresh with rotation, a replayed refresh token, and sign-out (revocation)."""

from __future__ import annotations

import json
import secrets

import pytest
from django.test import Client

from cases import engine
from cases.models import Case
from core.actors import SystemActor
from hotline.models import Ticket
from signon.provider import register_client
from tests import builders
from tests.hotline.conftest import make_world
from tests.signon.pkce import (
    APP,
    REDIRECT,
    authorize_url,
    exchange,
    pkce_tokens,
    redirected_params,
    sign_in_and_get_code,
)

pytestmark = pytest.mark.django_db
PASSWORD = "pw-123456"


@pytest.fixture
def app_client():
    register_client(APP, name="辽事通", redirect_uris=[REDIRECT], actor=SystemActor("test"))


def _api(app: Client, method: str, url: str, token: str, body: dict | None = None, **kw):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if method == "get":
        return app.get(url, **headers)
    if "data" in kw:
        return app.post(url, kw["data"], **headers)
    return app.post(url, json.dumps(body or {}), content_type="application/json", **headers)


def test_the_citizen_journey_through_the_api_with_a_pkce_token(world, app_client):
    make_world()  # the 12345 centres and dispatch catalog, for the consultation
    person = world.applicant
    browser, app = Client(), Client()
    tokens = pkce_tokens(browser, app, person.id_number, PASSWORD)
    assert tokens.access.startswith("tbo_") and tokens.refresh.startswith("tbr_")
    assert tokens.expires_in == 600

    # Apply, upload, submit.
    created = _api(
        app,
        "post",
        "/api/v1/cases",
        tokens.access,
        {"item": world.version.item.code, "form": {"purpose": "入学"}},
    )
    assert created.status_code == 201, created.content
    number = created.json()["number"]
    for material in world.version.materials.all():
        uploaded = _api(
            app,
            "post",
            f"/api/v1/cases/{number}/materials",
            tokens.access,
            data={"material": material.pk, "file": _pdf(material.name)},
        )
        assert uploaded.status_code in (200, 201), uploaded.content
    submitted = _api(app, "post", f"/api/v1/cases/{number}/actions/submit", tokens.access, {})
    assert submitted.status_code == 200, submitted.content

    # The department decides; the applicant tracks it.
    case = Case.objects.get(number=number)
    for name, who in [
        ("accept", world.reviewer),
        ("start_review", world.reviewer),
        ("approve", world.approver),
        ("issue_result", world.reviewer),
        ("deliver", world.reviewer),
        ("close", world.approver),
    ]:
        case = engine.take_action(case, name, actor=who)
    tracked = _api(app, "get", f"/api/v1/cases/{number}", tokens.access)
    assert tracked.status_code == 200 and tracked.json()["state"] == "closed"
    listed = _api(app, "get", "/api/v1/cases", tokens.access)
    assert [c["number"] for c in listed.json()["items"]] == [number]

    # Wallet, rating, consultation.
    wallet = _api(app, "get", "/api/v1/licences", tokens.access)
    assert wallet.status_code == 200, wallet.content
    rated = _api(
        app,
        "post",
        "/api/v1/ratings",
        tokens.access,
        {"case": number, "event": "result", "level": 5, "channel": "mobile"},
    )
    assert rated.status_code == 201, rated.content
    # Consult: the item's guide (办事指南), then a question to 12345 (求助) over Open311.
    guide = app.get(f"/api/v1/items/{world.version.item.code}")
    assert guide.status_code == 200 and guide.json()["name"] == "开具户籍类证明"
    consult = app.post(
        "/open311/v2/requests.json",
        {
            "api_key": tokens.access,
            "service_code": "heating",
            "attribute[ticket_type]": "help",
            "attribute[division]": "210200",
            "address_string": "中山区人民路 1 号",
            "description": "供暖费怎么缴？",
        },
    )
    assert consult.status_code == 201, consult.content
    assert Ticket.objects.filter(number=consult.json()[0]["service_request_id"]).exists()

    # Refresh: a new pair; the used refresh token replayed revokes the whole sign-in.
    refreshed = app.post(
        "/oidc/token",
        {"grant_type": "refresh_token", "refresh_token": tokens.refresh, "client_id": APP},
    )
    assert refreshed.status_code == 200, refreshed.content
    fresh = refreshed.json()
    assert fresh["refresh_token"] != tokens.refresh
    assert _api(app, "get", "/api/v1/cases", fresh["access_token"]).status_code == 200
    replayed = app.post(
        "/oidc/token",
        {"grant_type": "refresh_token", "refresh_token": tokens.refresh, "client_id": APP},
    )
    assert replayed.status_code == 400 and replayed.json()["code"] == "refresh_token_reused"
    assert _api(app, "get", "/api/v1/cases", fresh["access_token"]).status_code == 401
    again = app.post(
        "/oidc/token",
        {"grant_type": "refresh_token", "refresh_token": fresh["refresh_token"], "client_id": APP},
    )
    assert again.status_code == 400


def test_sign_out_revokes_the_tokens(world, app_client):
    browser, app = Client(), Client()
    tokens = pkce_tokens(browser, app, world.applicant.id_number, PASSWORD)
    assert _api(app, "get", "/api/v1/cases", tokens.access).status_code == 200
    info = app.get("/oidc/userinfo", HTTP_AUTHORIZATION=f"Bearer {tokens.access}").json()
    assert info["acr"] == "real_name" and info["name_masked"].startswith("李")
    assert "id_number" not in info
    assert app.post("/oidc/revoke", {"token": tokens.refresh, "client_id": APP}).status_code == 200
    assert _api(app, "get", "/api/v1/cases", tokens.access).status_code == 401
    refused = app.post(
        "/oidc/token",
        {"grant_type": "refresh_token", "refresh_token": tokens.refresh, "client_id": APP},
    )
    assert refused.json()["error"] == "invalid_grant"


def test_pkce_is_required_and_checked(world, app_client):
    browser, app = Client(), Client()
    browser.force_login(world.applicant.user)
    plain = redirected_params(browser.get(authorize_url("v" * 43, method="plain")))
    assert plain["error"] == "invalid_request" and plain["state"] == "s1"
    missing = redirected_params(browser.get(authorize_url("v" * 43, code_challenge="")))
    assert missing["error"] == "invalid_request"
    verifier = secrets.token_urlsafe(48)
    code = redirected_params(browser.get(authorize_url(verifier)))["code"]
    wrong = exchange(app, code, secrets.token_urlsafe(48))
    assert wrong.status_code == 400 and wrong.json()["code"] == "pkce_verifier_mismatch"
    # The code was not spent by the wrong verifier; spent by the right one, once.
    first = exchange(app, code, verifier)
    assert first.status_code == 200
    assert exchange(app, code, verifier).json()["error"] == "invalid_grant"
    # Presented twice, the code's tokens are taken back.
    assert _api(app, "get", "/api/v1/cases", first.json()["access_token"]).status_code == 401


def test_an_unregistered_redirect_is_never_followed(world, app_client):
    browser = Client()
    browser.force_login(world.applicant.user)
    evil = browser.get(authorize_url("v" * 43, redirect_uri="https://evil.example/cb"))
    assert evil.status_code == 400 and "redirect_uri_mismatch" in evil.content.decode()
    unknown = browser.get(authorize_url("v" * 43, client_id="nobody"))
    assert unknown.status_code == 400 and "client_unknown" in unknown.content.decode()


def test_the_token_carries_the_assurance_level(world, app_client):
    from core.assurance import Assurance

    version = builders.item(
        org=world.org,
        assurance_level=Assurance.IN_PERSON,
        form_fields=[{"name": "purpose", "label": "用途", "type": "text"}],
    )
    browser, app = Client(), Client()
    tokens = pkce_tokens(browser, app, world.applicant.id_number, PASSWORD)
    refused = _api(
        app,
        "post",
        "/api/v1/cases",
        tokens.access,
        {"item": version.item.code, "form": {"purpose": "入学"}},
    )
    assert refused.status_code == 403 and refused.json()["code"] == "assurance_too_low"


def _pdf(name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("a.pdf", builders.uploaded_pdf(name), content_type="application/pdf")


__all__ = ["sign_in_and_get_code"]
