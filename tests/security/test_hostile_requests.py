"""Hostile requests answer a documented problem with a stable code — never a 500, never a
half-written row (issue 11; decisions 83 and 84)."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cases.models import Case, CaseEvent
from federation.models import LogEntry, Refusal
from tests import builders

HUGE = 9223372036854775807
HUGER = 10**30


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code and body["status"] == status and body["title"]
    return body


@pytest.fixture
def world():
    org = builders.organisation("大连市公安局", "210200")
    version = builders.item(
        "开具户籍类证明",
        org=org,
        promised_limit=10,
        form_fields=[{"name": "purpose", "label": "用途", "type": "text"}],
    )
    applicant = builders.person("王五")
    return {"org": org, "version": version, "applicant": applicant}


@pytest.mark.parametrize("url", ["/api/v1/organisations", "/api/v1/items"])
@pytest.mark.parametrize("page", [str(HUGE), str(HUGER), "0", "-1"])
def test_a_huge_page_number_is_a_problem(client, url, page):
    assert_problem(client.get(f"{url}?page={page}"), 422, "request_invalid")
    assert_problem(client.get(f"{url}?page_size={HUGER}"), 422, "request_invalid")


@pytest.mark.parametrize("number", [HUGE + 1, HUGER, 0, -5])
def test_huge_material_ids_are_a_problem_and_change_nothing(client, world, number):
    me = builders.bearer(world["applicant"].user)
    r = client.post(
        "/api/v1/cases",
        json.dumps({"item": world["version"].item.code, "form": {"purpose": "x"}}),
        content_type="application/json",
        **me,
    )
    case_number = r.json()["number"]
    events = CaseEvent.objects.count()
    r = client.post(
        f"/api/v1/cases/{case_number}/commitments/deficiency",
        json.dumps({"materials": [number], "due_date": "2027-01-04"}),
        content_type="application/json",
        **me,
    )
    assert_problem(r, 422, "request_invalid")
    r = client.post(
        f"/api/v1/cases/{case_number}/actions/request_supplement",
        json.dumps({"materials": [number], "due_date": "2027-01-04"}),
        content_type="application/json",
        **me,
    )
    assert_problem(r, 422, "request_invalid")
    r = client.post(
        f"/api/v1/cases/{case_number}/materials",
        {"material": str(number), "file": SimpleUploadedFile("a.pdf", builders.uploaded_pdf())},
        **me,
    )
    assert_problem(r, 422, "request_invalid")
    assert_problem(client.get(f"/api/v1/seals/{number}"), 422, "request_invalid")
    assert CaseEvent.objects.count() == events
    assert Case.objects.get().materials.count() == 0


@pytest.mark.parametrize("number", [2**31, HUGE, HUGER])
def test_huge_version_numbers_are_a_problem(client, world, number):
    code = world["version"].item.code
    for url in (
        f"/api/v1/items/{code}/versions/{number}",
        f"/api/v1/lists/X/versions/{number}",
        f"/api/v1/lists/X/diff?from=1&to={number}",
    ):
        assert_problem(client.get(url), 422, "request_invalid")


def test_a_22_mb_body_on_verify_is_refused_before_parsing(client):
    r = client.post(
        "/api/v1/licences/verify",
        b'{"token": "' + b"A" * (22 * 1024 * 1024) + b'"}',
        content_type="application/json",
    )
    assert_problem(r, 413, "request_too_large")


def test_a_21_mb_multipart_text_field_is_refused(client, world):
    me = builders.bearer(world["applicant"].user)
    r = client.post(
        "/api/v1/cases/X/materials",
        {"material": "1", "note": "x" * (21 * 1024 * 1024 + 10)},
        **me,
    )
    assert_problem(r, 413, "request_too_large")


def test_an_invalid_content_length_is_a_problem(client):
    for path in ("/federation/v1/envelopes", "/api/v1/licences/verify", "/api/v1/cases"):
        r = client.post(path, b"{}", content_type="application/json", CONTENT_LENGTH="abc")
        assert_problem(r, 400, "content_length_invalid")


# Federation ---------------------------------------------------------------------------------


def _post_envelope(client: Client, data: bytes | str):
    return client.post("/federation/v1/envelopes", data, content_type="application/json")


def test_a_60_mb_anonymous_envelope_is_refused_before_it_is_read(client):
    r = _post_envelope(client, b'{"envelope": "' + b"x" * (60 * 1024 * 1024) + b'"}')
    assert_problem(r, 413, "request_too_large")
    assert not Refusal.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"envelope": ' + "[" * 100_000 + "]" * 100_000 + ', "signature": "AA=="}',
        '{"envelope": "\\ud800", "signature": "AA=="}',
        '{"envelope": "x", "signature": "\\udfff"}',
        b'{"envelope": "\xff\xfe", "signature": "AA=="}',
        '{"envelope": 5, "signature": "AA=="}',
        "",
    ],
    ids=[
        "deep",
        "deep-envelope",
        "surrogate",
        "surrogate-signature",
        "not-utf8",
        "number",
        "empty",
    ],
)
def test_unreadable_envelopes_get_an_unsigned_400(client, data):
    r = _post_envelope(client, data)
    body = assert_problem(r, 400, "malformed")
    assert "refusal" not in body and "signature" not in body
    assert not LogEntry.objects.exists()


def test_anonymous_posts_to_the_api_answer_401_not_403_csrf(world):
    browser = Client(enforce_csrf_checks=True)
    for path in ("/api/v1/cases", "/api/v1/cases/X/actions/submit"):
        r = browser.post(path, "{}", content_type="application/json")
        assert_problem(r, 401, "unauthorized")
    # Signed in through the session, the CSRF token is still required.
    browser.force_login(world["applicant"].user)
    r = browser.post("/api/v1/cases", "{}", content_type="application/json")
    assert r.status_code == 403


def test_a_21_mb_form_field_on_a_page_is_a_400_not_a_500(client):
    r = client.post("/login/", {"username": "x" * (21 * 1024 * 1024 + 10), "password": "x"})
    assert r.status_code == 400


def test_a_body_past_the_request_limit_is_refused_before_the_page_reads_it(client, settings):
    settings.REQUEST_MAX_BYTES = 1024
    r = client.post("/login/", {"username": "x" * 2048, "password": "x"})
    assert_problem(r, 413, "request_too_large")
