"""Verification and record queries under a grant: answered from the provider's data,
logged every time; everything outside the grant refused, logged, alerted, nothing given."""

import datetime as dt

import pytest

from accounts.models import Notification
from cases import services as case_services
from core.actors import SystemActor
from core.exceptions import RuleViolation
from sharing import services
from sharing.calls import Call, Question, call_grant
from sharing.models import AccessLog, SharingAlert
from sharing.subjects import subject_of
from tests import builders
from tests.sharing import helpers


@pytest.fixture
def world():
    resource = helpers.household_resource()
    consumer = builders.organisation("大连市民政局", division="210200", seed=9200)
    grant, credential = helpers.granted(
        resource, consumer, fields=["household_division", "name"], methods=["verify", "query"]
    )
    applicant = builders.person("王五")
    services.put_record(
        resource,
        subject=subject_of("person", applicant.id_number),
        data={"name": "王五", "household_division": "210202", "address": "中山区人民路1号"},
        actor=SystemActor("test"),
    )
    case = case_services.start_case(
        item_version=builders.item(),
        form_data={"reason": "投靠"},
        actor=applicant.user,
        person=applicant,
    )
    clerk = builders.staff("reviewer", consumer)
    authority = builders.organisation("辽宁省大数据管理局", division="210000", seed=9201)
    supervisor = builders.staff("supervisor", authority)
    return {
        "resource": resource,
        "consumer": consumer,
        "grant": grant,
        "credential": credential,
        "applicant": applicant,
        "case": case,
        "clerk": clerk,
        "supervisor": supervisor,
    }


def _verify(w, value="210200", **overrides):
    kwargs = {
        "grant_number": w["grant"].number,
        "method": "verify",
        "subject": subject_of("person", w["applicant"].id_number),
        "purpose": "核验户籍所在地",
        "case_number": w["case"].number,
        "question": Question("household_division", "within", value),
        "credential": w["credential"],
    }
    kwargs.update(overrides)
    return Call(**kwargs)


def test_a_verification_answers_yes_or_no_and_is_logged(world):
    answer = call_grant(_verify(world), actor=world["clerk"])
    assert answer.as_dict() == {"method": "verify", "grant": world["grant"].number, "match": True}
    assert call_grant(_verify(world, value="220100"), actor=world["clerk"]).match is False
    entry = AccessLog.objects.get(pk=answer.log_id)
    assert entry.consumer == world["consumer"] and entry.case_number == world["case"].number
    assert entry.subject_hash == world["applicant"].id_number_hash
    assert entry.answer == {"match": True} and entry.outcome == "answered"
    assert world["applicant"].id_number not in str(entry.question) + entry.subject_masked


def test_a_query_returns_only_granted_fields(world):
    call = _verify(world, method="query", question=None, fields=["name", "household_division"])
    answer = call_grant(call, actor=world["clerk"])
    assert answer.record == {"name": "王五", "household_division": "210202"}
    entry = AccessLog.objects.get(pk=answer.log_id)
    assert entry.answer == {"found": True, "fields": ["household_division", "name"]}
    assert "王五" not in str(entry.answer)


def _refused(world, call, actor=None):
    before = AccessLog.objects.count()
    with pytest.raises(RuleViolation) as refused:
        call_grant(call, actor=actor or world["clerk"])
    entry = AccessLog.objects.order_by("-id").first()
    assert AccessLog.objects.count() == before + 1 and entry.outcome == "refused"
    assert entry.answer == {} and entry.refusal_code == refused.value.code
    return refused.value.code, entry


def test_a_call_outside_the_grant_is_refused_logged_and_alerted(world):
    w = world
    code, entry = _refused(w, _verify(w, method="query", question=None, fields=["address"]))
    assert code == "fields_not_granted" and entry.alert.code == "fields_not_granted"
    assert Notification.objects.filter(
        recipient=w["supervisor"], title="数据共享越权调用告警"
    ).exists()
    code, _ = _refused(w, _verify(w, method="query", question=None, fields=["blood_type"]))
    assert code == "fields_outside_resource"


def test_a_grant_used_by_another_organisation_is_refused(world):
    other = builders.organisation("大连市税务局", division="210200", seed=9202)
    intruder = builders.staff("reviewer", other)
    code, entry = _refused(world, _verify(world), actor=intruder)
    assert code == "grant_other_organisation" and entry.consumer == other
    assert SharingAlert.objects.filter(call=entry).exists()


def test_a_wrong_credential_is_refused(world):
    code, _ = _refused(world, _verify(world, credential="tbg_guess"))
    assert code == "grant_credential_invalid"


def test_an_expired_grant_is_refused(world):
    grant = world["grant"]
    grant.expires_on = dt.date(2020, 1, 1)
    grant.save(update_fields=["expires_on"])
    code, _ = _refused(world, _verify(world))
    assert code == "grant_expired"


def test_a_bulk_pull_through_a_verification_grant_is_refused(world):
    code, _ = _refused(world, _verify(world, method="bulk", subject=None, question=None))
    assert code == "method_not_granted"


def test_a_person_with_nothing_to_do_with_the_case_is_refused(world):
    stranger = builders.person("赵六")
    subject = subject_of("person", stranger.id_number)
    code, entry = _refused(world, _verify(world, subject=subject))
    assert code == "subject_not_in_case" and entry.alert is not None
    code, _ = _refused(world, _verify(world, case_number=""))
    assert code == "case_required"


def test_a_call_without_purpose_is_refused(world):
    code, _ = _refused(world, _verify(world, purpose=""))
    assert code == "purpose_required"


def test_an_unknown_grant_is_refused_and_alerted(world):
    code, entry = _refused(world, _verify(world, grant_number="SQ-NONE"))
    assert code == "grant_unknown" and SharingAlert.objects.filter(call=entry).exists()
