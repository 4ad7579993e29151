"""The sharing API: catalog, requests and their actions, calls with stable error codes,
the data log — lists in a constant number of queries."""

import datetime as dt
import json

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import services as case_services
from core.actors import SystemActor
from sharing import services
from sharing.subjects import subject_of
from tests import builders
from tests.sharing import helpers


def _post(client, path, body, user):
    return client.post(
        f"/api/v1{path}", json.dumps(body), content_type="application/json", **builders.bearer(user)
    )


def test_the_catalog_is_public_and_constant_in_queries(client):
    provider = builders.organisation("大连市公安局", seed=9300)
    for n in range(3):
        helpers.household_resource(provider, code=f"R-{n}")
    with CaptureQueriesContext(connection) as three:
        answer = client.get("/api/v1/sharing/resources")
    assert answer.status_code == 200 and len(answer.json()) == 3
    helpers.household_resource(provider, code="R-9")
    with CaptureQueriesContext(connection) as four:
        assert len(client.get("/api/v1/sharing/resources").json()) == 4
    assert len(three) == len(four)


def test_a_department_requests_is_granted_and_verifies(client):
    resource = helpers.household_resource()
    consumer = builders.organisation("大连市民政局", division="210200", seed=9301)
    asker = builders.staff("approver", consumer)
    until = str(timezone.localdate() + dt.timedelta(days=100))
    body = {
        "resource": resource.code,
        "fields": ["household_division"],
        "methods": ["verify"],
        "purpose": "婚姻登记核验户籍",
        "legal_basis": "《婚姻登记条例》第五条",
        "valid_until": until,
    }
    missing = _post(client, "/sharing/requests", {**body, "purpose": ""}, asker)
    assert missing.status_code == 422 and missing.json()["code"] == "purpose_required"
    created = _post(client, "/sharing/requests", body, asker)
    assert created.status_code == 201, created.content
    number = created.json()["number"]
    reviewer = builders.staff("reviewer", resource.provider)
    approved = _post(client, f"/sharing/requests/{number}/actions/approve", {}, reviewer)
    assert approved.status_code == 200, approved.content
    data = approved.json()
    assert data["state"] == "granted" and data["credential"].startswith("tbg_")
    listed = client.get("/api/v1/sharing/requests", **builders.bearer(asker)).json()
    assert listed["items"][0]["grant"] == data["grant"] and listed["items"][0]["credential"] is None

    applicant = builders.person("孙七")
    services.put_record(
        resource,
        subject=subject_of("person", applicant.id_number),
        data={"household_division": "210203"},
        actor=SystemActor("test"),
    )
    case = case_services.start_case(
        item_version=builders.item(),
        form_data={"reason": "x"},
        actor=applicant.user,
        person=applicant,
    )
    call = {
        "grant": data["grant"],
        "credential": data["credential"],
        "subject_kind": "person",
        "subject": applicant.id_number,
        "purpose": "婚姻登记核验户籍",
        "case_number": case.number,
        "field": "household_division",
        "op": "within",
        "value": "210200",
    }
    answer = _post(client, "/sharing/verify", call, asker)
    assert answer.status_code == 200 and answer.json()["match"] is True
    assert "record" not in answer.json()
    refused = _post(client, "/sharing/query", {**call, "fields": ["address"]}, asker)
    assert refused.status_code == 403 and refused.json()["code"] == "method_not_granted"
    bulk = _post(
        client,
        "/sharing/bulk",
        {"grant": data["grant"], "credential": data["credential"], "purpose": "x"},
        asker,
    )
    assert bulk.status_code == 403 and bulk.json()["code"] == "method_not_granted"

    log = client.get("/api/v1/sharing/my-data-log", **builders.bearer(applicant.user)).json()
    assert log["count"] == 2  # the bulk attempt names nobody
    read = next(e for e in log["items"] if e["outcome"] == "answered")
    assert read["consumer"] == "大连市民政局" and read["case_number"] == case.number
    assert read["purpose"] == "婚姻登记核验户籍" and applicant.id_number not in json.dumps(log)


def test_the_data_log_is_constant_in_queries(client):
    resource = helpers.household_resource()
    consumer = builders.organisation("大连市民政局", division="210200", seed=9302)
    grant, _credential = helpers.granted(resource, consumer)
    applicant = builders.person("周八")
    case = case_services.start_case(
        item_version=builders.item(),
        form_data={"reason": "x"},
        actor=applicant.user,
        person=applicant,
    )
    clerk = builders.staff("reviewer", consumer)
    from sharing.calls import Call, Question, call_grant

    def read():
        call_grant(
            Call(
                grant.number,
                "verify",
                subject_of("person", applicant.id_number),
                "核验",
                case.number,
                question=Question("household_division", "within", "2102"),
            ),
            actor=clerk,
        )

    headers = builders.bearer(applicant.user)
    client.get("/api/v1/sharing/my-data-log", **headers)  # the token's first use is recorded
    read()
    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/sharing/my-data-log", **headers)
    read()
    read()
    with CaptureQueriesContext(connection) as three:
        assert client.get("/api/v1/sharing/my-data-log", **headers).json()["count"] == 3
    assert len(one) == len(three)
