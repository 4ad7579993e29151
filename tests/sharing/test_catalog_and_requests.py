"""The resource catalog and sharing requests (需求清单) on the process engine."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.actors import SystemActor
from core.exceptions import RuleViolation
from sharing import engine, services
from sharing.models import DataResource, SharingDeadline
from tests import builders
from tests.sharing import helpers


def test_a_classified_resource_never_enters_the_catalog():
    with pytest.raises(RuleViolation) as refused:
        helpers.household_resource(classified=True)
    assert refused.value.code == "resource_classified"
    assert not DataResource.objects.exists()
    resource = helpers.household_resource()
    with pytest.raises(IntegrityError), transaction.atomic():
        DataResource.objects.filter(pk=resource.pk).update(classified=True)


def test_a_restricted_resource_needs_its_legal_basis_and_valid_fields():
    with pytest.raises(RuleViolation) as refused:
        helpers.household_resource(
            legal_basis="", fields=[{"name": "x"}], methods=["fax"], adapter="nowhere"
        )
    assert refused.value.code == "resource_invalid"
    fields = {p.field for p in refused.value.problems}
    assert {"legal_basis", "fields", "methods", "adapter"} <= fields


def test_a_request_is_reviewed_on_the_clock_and_approval_yields_a_grant():
    resource = helpers.household_resource()
    consumer = builders.organisation("长春市公安局", division="220100", seed=9100)
    request = helpers.request(resource, consumer)
    assert request.state == "under_review"
    assert request.limit_days == 7  # 有条件: 2 working days of review + 5 to answer
    assert request.due_date is not None and request.clock_state == "running"
    outsider = builders.staff("reviewer", consumer)
    with pytest.raises(RuleViolation) as refused:
        engine.take_action(request, "approve", actor=outsider)
    assert refused.value.code == "action_forbidden"
    reviewer = builders.staff("reviewer", resource.provider)
    request = engine.take_action(
        request, "approve", actor=reviewer, data={"personal_data_may_leave": False}
    )
    grant = request.grant
    assert request.state == "granted" and request.answered_on == timezone.localdate()
    assert grant.fields == ["household_division"] and grant.methods == ["verify"]
    assert grant.expires_on == request.valid_until
    credential = request.issued_credential
    assert credential.startswith("tbg_") and credential not in grant.credential_hash
    assert services.credential_hash(credential) == grant.credential_hash
    assert request.events.filter(action="approve", data__grant=grant.number).exists()


def test_a_province_sets_its_own_limits():
    resource = helpers.household_resource()
    from core.models import Division

    SharingDeadline.objects.create(
        province=Division.objects.get(code="210000"),
        sharing_class="conditional",
        review_days=3,
        answer_days=10,
    )
    consumer = builders.organisation("长春市公安局", division="220100", seed=9101)
    assert helpers.request(resource, consumer).limit_days == 13


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"purpose": " "}, "purpose_required"),
        ({"legal_basis": ""}, "legal_basis_required"),
        ({"fields": ["household_division", "blood_type"]}, "fields_outside_resource"),
        ({"methods": ["bulk"]}, "method_not_offered"),
        ({"valid_until": dt.date(2020, 1, 1)}, "valid_until_invalid"),
    ],
)
def test_a_bad_request_is_refused_and_nothing_is_written(overrides, code):
    resource = helpers.household_resource()
    consumer = builders.organisation("长春市公安局", division="220100", seed=9102)
    with pytest.raises(RuleViolation) as refused:
        helpers.request(resource, consumer, **overrides)
    assert refused.value.code == code
    assert not resource.requests.exists()


def test_a_not_shared_resource_cannot_be_requested():
    resource = helpers.household_resource(sharing_class="not_shared")
    consumer = builders.organisation("长春市公安局", division="220100", seed=9103)
    with pytest.raises(RuleViolation) as refused:
        helpers.request(resource, consumer)
    assert refused.value.code == "resource_not_shared"


def test_a_refusal_gives_reasons_and_a_dispute_goes_to_the_data_authority():
    resource = helpers.household_resource()
    consumer = builders.organisation("长春市公安局", division="220100", seed=9104)
    request = helpers.request(resource, consumer)
    reviewer = builders.staff("reviewer", resource.provider)
    with pytest.raises(RuleViolation) as refused:
        engine.take_action(request, "refuse", actor=reviewer)
    assert refused.value.code == "note_required"
    request = engine.take_action(request, "refuse", actor=reviewer, note="用途与所申请字段不符")
    assert request.state == "refused" and request.refusal_reason == "用途与所申请字段不符"
    asker = builders.staff("approver", consumer)
    request = engine.take_action(request, "dispute", actor=asker, note="依据第十条应予共享")
    assert request.state == "disputed"
    # The provider's own supervisor is not the authority over itself.
    provider_supervisor = builders.staff("supervisor", resource.provider)
    with pytest.raises(RuleViolation):
        engine.take_action(request, "rule_grant", actor=provider_supervisor, note="x")
    authority = builders.organisation("辽宁省大数据管理局", division="210000", seed=9105)
    supervisor = builders.staff("supervisor", authority)
    request = engine.take_action(request, "rule_grant", actor=supervisor, note="协调后予以共享")
    assert request.state == "granted" and request.grant.consumer == consumer


def test_a_grant_gives_no_more_than_was_asked():
    resource = helpers.household_resource()
    consumer = builders.organisation("长春市公安局", division="220100", seed=9106)
    request = helpers.request(resource, consumer)
    reviewer = builders.staff("reviewer", resource.provider)
    with pytest.raises(RuleViolation) as refused:
        engine.take_action(request, "approve", actor=reviewer, data={"fields": ["address"]})
    assert refused.value.code == "grant_fields_invalid"
    request.refresh_from_db()
    assert request.state == "under_review"


def test_revoking_needs_a_reason():
    resource = helpers.household_resource()
    consumer = builders.organisation("长春市公安局", division="220100", seed=9107)
    grant, _ = helpers.granted(resource, consumer)
    with pytest.raises(RuleViolation):
        services.revoke_grant(grant, reason="", actor=SystemActor("test"))
    services.revoke_grant(grant, reason="用途已结束", actor=SystemActor("test"))
    assert grant.revoked_at is not None
