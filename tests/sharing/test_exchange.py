"""Sharing across nodes: a Jilin department asks Liaoning (this node) for a resource, is
granted, and verifies a Liaoning person's fact; the read is logged here, where the person
sees it. And the other way: a grant held from Jilin, asked there, with the upload fallback
when Jilin cannot be reached."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from cases import services as case_services
from core.actors import SystemActor
from core.exceptions import RuleViolation
from federation import services as fed_services
from federation.models import LogEntry
from federation.services import Refused
from sharing import engine, services
from sharing.calls import Call, Question, call_grant
from sharing.exchange import send_grant_notices
from sharing.models import AccessLog, HeldGrant, SharingAlert, SharingRequest
from sharing.selectors import data_log_of_person
from sharing.subjects import subject_of
from tests import builders
from tests.sharing import helpers

CHANGCHUN = {
    "uscc": builders.valid_uscc(9400, "220100"),
    "name": "长春市民政局",
    "division": "220100",
}


def _request_from_jilin(fed, resource, **overrides):
    payload = {
        "resource": resource.code,
        "consumer": CHANGCHUN,
        "fields": ["household_division", "name"],
        "methods": ["verify", "query"],
        "purpose": "异地婚姻登记核验户籍",
        "legal_basis": "《婚姻登记条例》第五条",
        "scene_items": [],
        "valid_until": str(timezone.localdate() + dt.timedelta(days=200)),
        "requested_by": "cc-clerk",
        **overrides,
    }
    fed_services.receive(*fed.jilin.envelope("sharing.request", payload))
    return SharingRequest.objects.get(consumer__uscc=CHANGCHUN["uscc"])


def _ask(fed, grant, subject_code, **overrides):
    payload = {
        "grant": grant,
        "method": "verify",
        "consumer_uscc": CHANGCHUN["uscc"],
        "actor": "cc-clerk",
        "subject_kind": "person",
        "subject": subject_code,
        "purpose": "异地婚姻登记核验户籍",
        "case_number": "JL-2026-0001",
        "question": {"field": "household_division", "op": "within", "value": "210200"},
        **overrides,
    }
    answer = fed_services.answer(*fed.jilin.envelope("sharing.call", payload))
    return json.loads(answer["answer"])["payload"]["answer"]


@pytest.fixture
def granted(federation):
    resource = helpers.household_resource()
    request = _request_from_jilin(federation, resource)
    assert request.state == "under_review" and request.consumer_node == "jilin"
    reviewer = builders.staff("reviewer", resource.provider)
    request = engine.take_action(request, "approve", actor=reviewer)
    assert not hasattr(request, "issued_credential")  # nothing to hand to another node
    person = builders.person("吴九")
    services.put_record(
        resource,
        subject=subject_of("person", person.id_number),
        data={"name": "吴九", "household_division": "210202"},
        actor=SystemActor("test"),
    )
    return resource, request.grant, person


def test_a_jilin_department_is_granted_and_verifies_a_liaoning_fact(federation, granted):
    _resource, grant, person = granted
    assert send_grant_notices() == 1 and send_grant_notices() == 0
    (sent,) = [
        json.loads(e.body) for e in LogEntry.objects.filter(kind="sharing.granted", direction="out")
    ]
    assert sent["receiver"] == "jilin" and sent["payload"]["grant"] == grant.number
    assert "credential" not in json.dumps(sent)
    assert _ask(federation, grant.number, person.id_number) == {
        "method": "verify",
        "grant": grant.number,
        "match": True,
    }
    (read,) = data_log_of_person(person)
    assert read.consumer.name == "长春市民政局" and read.consumer_node == "jilin"
    assert read.case_number == "JL-2026-0001" and read.purpose == "异地婚姻登记核验户籍"


def test_personal_data_stays_home_unless_the_grant_says_so(federation, granted):
    _, grant, person = granted
    with pytest.raises(Refused) as refused:
        _ask(
            federation,
            grant.number,
            person.id_number,
            method="query",
            question=None,
            fields=["name"],
        )
    assert refused.value.code == "personal_data_stays_home"
    grant.personal_data_may_leave = True
    grant.save(update_fields=["personal_data_may_leave"])
    answer = _ask(
        federation, grant.number, person.id_number, method="query", question=None, fields=["name"]
    )
    assert answer["record"] == {"name": "吴九"}


def test_another_organisation_of_that_node_cannot_use_the_grant(federation, granted):
    _, grant, person = granted
    with pytest.raises(Refused) as refused:
        _ask(
            federation,
            grant.number,
            person.id_number,
            consumer_uscc=builders.valid_uscc(9401, "220100"),
        )
    assert refused.value.code == "grant_other_organisation"
    assert SharingAlert.objects.filter(code="grant_other_organisation").exists()


def test_a_request_from_another_node_without_legal_basis_is_refused(federation):
    resource = helpers.household_resource()
    with pytest.raises(Refused) as refused:
        _request_from_jilin(federation, resource, legal_basis="")
    assert refused.value.code == "legal_basis_required"
    assert not SharingRequest.objects.exists()


# This node as the consumer ---------------------------------------------------------------------


@pytest.fixture
def held(federation):
    clerk_org = builders.organisation("大连市民政局", division="210200", seed=9402)
    federation_payload = {
        "grant": "SQ-JL-1",
        "resource": "JL-GA-HJ",
        "resource_name": "吉林省居民户籍信息",
        "consumer_uscc": clerk_org.uscc,
        "fields": ["household_division"],
        "methods": ["verify"],
        "purpose": "婚姻登记",
        "material_codes": ["HJ-HKB"],
        "subject_kind": "person",
        "expires_on": str(timezone.localdate() + dt.timedelta(days=30)),
    }
    fed_services.receive(*federation.jilin.envelope("sharing.granted", federation_payload))
    applicant = builders.person("郑十")
    case = case_services.start_case(
        item_version=builders.item(),
        form_data={"reason": "x"},
        actor=applicant.user,
        person=applicant,
    )
    return HeldGrant.objects.get(number="SQ-JL-1"), builders.staff("reviewer", clerk_org), case


def _held_call(held, case):
    return Call(
        "SQ-JL-1",
        "verify",
        subject_of("person", case.applicant_person.id_number),
        "婚姻登记",
        case.number,
        question=Question("household_division", "within", "220100"),
    )


def test_a_grant_held_from_another_node_is_asked_there(federation, held, monkeypatch):
    grant, clerk, case = held
    asked = []

    def provider(url, data):
        question = json.loads(data["envelope"])
        asked.append(question["payload"])
        body, signature = federation.jilin.envelope(
            "sharing.call.answer",
            {
                "in_reply_to": question["id"],
                "answer": {"method": "verify", "grant": "SQ-JL-1", "match": True},
            },
        )
        return 200, {"answer": body, "signature": signature}

    monkeypatch.setattr(fed_services, "_post", provider)
    answer = call_grant(_held_call(grant, case), actor=clerk)
    assert answer.match is True
    assert (
        asked[0]["consumer_uscc"] == grant.consumer.uscc and asked[0]["case_number"] == case.number
    )


def test_the_provider_node_down_is_said_and_logged(federation, held, monkeypatch):
    grant, clerk, case = held

    def down(url, data):
        raise fed_services.FederationUnavailable("connection refused")

    monkeypatch.setattr(fed_services, "_post", down)
    with pytest.raises(RuleViolation) as refused:
        call_grant(_held_call(grant, case), actor=clerk)
    assert refused.value.code == "source_unavailable" and refused.value.status == 503
    assert AccessLog.objects.get().outcome == "unavailable"


def test_a_call_outside_a_held_grant_is_refused_here_and_reported_to_the_provider(federation, held):
    grant, clerk, case = held
    call = _held_call(grant, case)
    outside = Call(
        call.grant_number, "query", call.subject, call.purpose, call.case_number, fields=["name"]
    )
    with pytest.raises(RuleViolation) as refused:
        call_grant(outside, actor=clerk)
    assert refused.value.code == "method_not_granted"
    assert SharingAlert.objects.get().code == "method_not_granted"  # this node's authority
    (report,) = [
        json.loads(e.body) for e in LogEntry.objects.filter(kind="sharing.alert", direction="out")
    ]
    assert report["receiver"] == "jilin" and report["payload"]["code"] == "method_not_granted"
    assert report["payload"]["grant"] == "SQ-JL-1"
    assert report["payload"]["case_number"] == case.number
    # A refusal that is no attempt outside the grant (no purpose) is not reported.
    with pytest.raises(RuleViolation):
        call_grant(Call("SQ-JL-1", "verify", call.subject, "", case.number), actor=clerk)
    assert LogEntry.objects.filter(kind="sharing.alert").count() == 1


def test_the_provider_records_and_alerts_a_reported_attempt(federation, granted):
    resource, grant, person = granted
    supervisor = builders.staff(
        "supervisor", builders.organisation("辽宁省数据局", division="210000", seed=9404)
    )
    report = {
        "grant": grant.number,
        "method": "query",
        "consumer_uscc": CHANGCHUN["uscc"],
        "actor": "cc-clerk",
        "subject_kind": "person",
        "subject": person.id_number,
        "purpose": "异地婚姻登记核验户籍",
        "case_number": "JL-2026-0002",
        "fields": ["address"],
        "code": "fields_not_granted",
        "reason": "未获授权的字段：address",
    }
    fed_services.receive(*federation.jilin.envelope("sharing.alert", report))
    (entry,) = data_log_of_person(person)
    assert entry.outcome == "refused" and entry.refusal_code == "fields_not_granted"
    assert entry.consumer.name == "长春市民政局" and entry.consumer_node == "jilin"
    assert entry.grant == grant and entry.case_number == "JL-2026-0002"
    alert = SharingAlert.objects.get()
    assert alert.provider == resource.provider and alert.call == entry
    assert supervisor.notifications.filter(link="/sharing/alerts/").exists()
    with pytest.raises(Refused) as not_an_attempt:
        fed_services.receive(
            *federation.jilin.envelope(
                "sharing.alert", {**report, "code": "source_unavailable", "reason": "x"}
            )
        )
    assert not_an_attempt.value.code == "alert_code_unknown"
    assert AccessLog.objects.count() == 1
