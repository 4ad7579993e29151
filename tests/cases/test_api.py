"""The cases API end to end, as apps and department systems use it (bearer tokens)."""

import datetime as dt
import json

import pytest

from cases.models import Case
from tests import builders


@pytest.fixture
def world():
    org = builders.organisation("大连市公安局", "210200")
    other = builders.organisation("长春市公安局", "220100")
    version = builders.item(
        "开具户籍类证明",
        org=org,
        promised_limit=10,
        form_fields=[
            {"name": "purpose", "label": "用途", "type": "text"},
            {
                "name": "contact_id",
                "label": "联系人身份号码",
                "type": "id_number",
                "required": False,
            },
        ],
    )
    return {
        "org": org,
        "version": version,
        "applicant": builders.person("王五"),
        "reviewer": builders.staff("reviewer", org),
        "approver": builders.staff("approver", org),
        "foreign_clerk": builders.staff("window_clerk", other),
    }


def post(client, url, body, auth):
    return client.post(url, json.dumps(body), content_type="application/json", **auth)


def test_citizen_applies_reviewer_supplements_case_closes(client, world):
    applicant = world["applicant"]
    me = builders.bearer(applicant.user)
    contact = builders.valid_id_number("19850505")
    r = post(
        client,
        "/api/v1/cases",
        {
            "item": world["version"].item.code,
            "form": {"purpose": "子女入学", "contact_id": contact},
        },
        me,
    )
    assert r.status_code == 201, r.content
    case = r.json()
    number = case["number"]
    assert case["state"] == "draft" and case["form"]["contact_id"] == contact
    for m in case["materials"]:
        r = client.post(
            f"/api/v1/cases/{number}/materials",
            {"material": m["id"], "file": _pdf(m["name"])},
            **me,
        )
        assert r.status_code == 201, r.content
    r = post(client, f"/api/v1/cases/{number}/actions/submit", {}, me)
    assert r.json()["state"] == "submitted"

    staff = builders.bearer(world["reviewer"])
    seen = client.get(f"/api/v1/cases/{number}", **staff).json()
    assert seen["form"]["contact_id"] == contact[:4] + "*" * 10 + contact[-4:]
    assert applicant.id_number not in json.dumps(seen)
    assert [a["name"] for a in seen["allowed_actions"]] == [
        "accept",
        "refuse_acceptance",
        "request_supplement",
    ]
    post(client, f"/api/v1/cases/{number}/actions/accept", {}, staff)
    post(client, f"/api/v1/cases/{number}/actions/start_review", {}, staff)
    material_id = seen["materials"][0]["id"]
    due = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    r = post(
        client,
        f"/api/v1/cases/{number}/actions/request_supplement",
        {"note": "请补正清晰的户口簿", "materials": [material_id], "due_date": due},
        staff,
    )
    assert r.json()["state"] == "review_supplement"
    assert r.json()["deadline"]["clock_state"] == "paused"

    client.post(
        f"/api/v1/cases/{number}/materials", {"material": material_id, "file": _pdf("clear")}, **me
    )
    r = post(client, f"/api/v1/cases/{number}/actions/supplement", {"note": "已补正"}, me)
    assert r.json()["state"] == "under_review"
    body = r.json()["deadline"]
    assert body["pauses"][0]["ended_on"] and body["paused_days"] == body["pauses"][0]["days"]
    approver = builders.bearer(world["approver"])
    for action in ["approve", "issue_result", "deliver", "close"]:
        r = post(client, f"/api/v1/cases/{number}/actions/{action}", {}, approver)
        assert r.status_code == 200, r.content
    final = client.get(f"/api/v1/cases/{number}", **me).json()
    assert final["state"] == "closed" and final["finished"]
    actions = [e["action"] for e in final["timeline"]]
    assert actions[-4:] == ["approve", "issue_result", "deliver", "close"]


def _pdf(name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(f"{name}.pdf", builders.uploaded_pdf(name), "application/pdf")


def test_errors_have_stable_codes(client, world):
    me = builders.bearer(world["applicant"].user)
    assert client.get("/api/v1/cases").status_code == 401
    r = post(
        client,
        "/api/v1/cases",
        {"item": world["version"].item.code, "form": {"purpose": "x"}, "submit": True},
        me,
    )
    assert r.status_code == 422 and r.json()["code"] == "materials_missing"
    assert Case.objects.count() == 0  # nothing half-written
    r = post(client, "/api/v1/cases", {"item": world["version"].item.code, "form": {}}, me)
    assert r.json()["code"] == "form_invalid"
    assert r.json()["errors"][0]["field"] == "purpose"
    r = post(
        client, "/api/v1/cases", {"item": world["version"].item.code, "form": {"purpose": "x"}}, me
    )
    number = r.json()["number"]
    r = post(client, f"/api/v1/cases/{number}/actions/approve", {}, me)
    assert (r.status_code, r.json()["code"]) == (409, "action_not_allowed_in_state")
    # A draft is the applicant's: staff neither see it nor act on it until it is submitted.
    r = post(
        client, f"/api/v1/cases/{number}/actions/submit", {}, builders.bearer(world["reviewer"])
    )
    assert (r.status_code, r.json()["code"]) == (404, "case_not_found")
    r = post(client, f"/api/v1/cases/{number}/actions/accept", {}, me)
    assert (r.status_code, r.json()["code"]) == (409, "action_not_allowed_in_state")
    foreign = builders.bearer(world["foreign_clerk"])
    r = client.get(f"/api/v1/cases/{number}", **foreign)
    assert (r.status_code, r.json()["code"]) == (404, "case_not_found")
    assert client.get("/api/v1/cases", **foreign).json()["count"] == 0
    r = client.post(
        f"/api/v1/cases/{number}/materials",
        {"material": world["version"].materials.first().pk, "file": _fake_pdf()},
        **me,
    )
    assert r.json()["code"] == "file_type_not_allowed"


def _fake_pdf():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("report.pdf", b"MZ this is an executable", "application/pdf")


def test_idempotency_key_header(client, world):
    me = builders.bearer(world["applicant"].user)
    body = {"item": world["version"].item.code, "form": {"purpose": "x"}}
    first = client.post(
        "/api/v1/cases",
        json.dumps(body),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="abc",
        **me,
    )
    again = client.post(
        "/api/v1/cases",
        json.dumps(body),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="abc",
        **me,
    )
    assert first.json()["number"] == again.json()["number"]
    assert Case.objects.count() == 1


def test_case_list_query_count_is_constant(client, world, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases.services import start_case

    me = builders.bearer(world["applicant"].user)
    # The token's first use is written once, then at most once a minute (decision 148).
    assert client.get("/api/v1/cases", **me).status_code == 200

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/cases?page_size=50", **me).status_code == 200
        return len(ctx.captured_queries)

    for _ in range(2):
        start_case(
            item_version=world["version"],
            form_data={"purpose": "x"},
            person=world["applicant"],
            actor=world["applicant"].user,
        )
    few = count()
    for _ in range(10):
        start_case(
            item_version=world["version"],
            form_data={"purpose": "x"},
            person=world["applicant"],
            actor=world["applicant"].user,
        )
    assert count() == few
