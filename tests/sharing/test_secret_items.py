"""Items marked secret (涉密, `ItemVersion.classified`): no sharing request or grant may
name one as its scene (service, clean(), the approval, the request to another node), and
a secret item's materials are never obtained by sharing."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cases import engine as case_engine
from cases import services as case_services
from cases.materials import add_material
from cases.sharing import offers, sharing_rows
from catalog.models import ItemVersion, Material
from catalog.services import publish_item_version
from core.actors import SystemActor
from core.exceptions import RuleViolation
from federation.models import LogEntry
from sharing import engine
from sharing.exchange import file_remote_request
from sharing.models import AccessLog, RemoteRequest, SharingRequest
from sharing.selectors import item_coverage
from sharing.services import put_record
from sharing.subjects import subject_of
from tests import builders
from tests.sharing import helpers
from tests.sharing.test_remote_requests import clerk, jilin  # noqa: F401 - fixtures


def _item(*, classified: bool, org=None):
    org = org or builders.organisation("大连市民政局", seed=9601)
    version = builders.item(org=org, publish=False)
    version.classified = classified
    version.save()
    Material.objects.filter(version=version, position=1).update(code="HJ-HKB")
    publish_item_version(version, actor=SystemActor("test"))
    version.refresh_from_db()
    return version


def test_a_request_naming_a_secret_item_is_refused():
    resource = helpers.household_resource()
    consumer = builders.organisation("大连市民政局", seed=9602)
    secret = _item(classified=True, org=consumer)
    open_item = _item(classified=False, org=consumer)
    for code in (secret.item.code, secret.item.implementation_code):
        with pytest.raises(RuleViolation) as refused:
            helpers.request(resource, consumer, scene_items=[open_item.item.code, code])
        assert refused.value.code == "item_classified"
        assert code in refused.value.message and open_item.item.code not in refused.value.message
    assert not SharingRequest.objects.exists()
    assert helpers.request(resource, consumer, scene_items=[open_item.item.code]).pk


def test_the_models_clean_refuses_a_secret_scene():
    resource = helpers.household_resource()
    consumer = builders.organisation("大连市民政局", seed=9603)
    secret = _item(classified=True, org=consumer)
    grant, _ = helpers.granted(resource, consumer, scene_items=[])
    grant.scene_items = [secret.item.code]
    with pytest.raises(ValidationError) as invalid:
        grant.clean()
    assert "涉密事项" in str(invalid.value.message_dict["scene_items"])
    request = grant.request
    request.scene_items = [secret.item.code]
    with pytest.raises(ValidationError):
        request.clean()
    request.scene_items = []
    request.clean()


def test_an_item_marked_secret_after_the_request_is_not_granted():
    resource = helpers.household_resource()
    consumer = builders.organisation("大连市民政局", seed=9604)
    version = _item(classified=False, org=consumer)
    request = helpers.request(resource, consumer, scene_items=[version.item.code])
    ItemVersion.objects.filter(pk=version.pk).update(classified=True)
    reviewer = builders.staff("reviewer", resource.provider)
    with pytest.raises(RuleViolation) as refused:
        engine.take_action(request, "approve", actor=reviewer)
    assert refused.value.code == "item_classified"
    request.refresh_from_db()
    assert request.state == "under_review" and not hasattr(request, "grant")


def test_a_request_to_another_node_naming_a_secret_item_is_not_sent(jilin, clerk):  # noqa: F811
    org, staff = clerk
    secret = _item(classified=True, org=org)
    with pytest.raises(RuleViolation) as refused:
        file_remote_request(
            node="jilin",
            resource_code="JL-GA-HJ-001",
            consumer=org,
            fields=["household_division"],
            methods=["verify"],
            purpose="核验户籍",
            legal_basis="《户口登记条例》",
            valid_until=timezone.localdate() + dt.timedelta(days=30),
            scene_items=[secret.item.code],
            actor=staff,
        )
    assert refused.value.code == "item_classified" and refused.value.status == 422
    assert not RemoteRequest.objects.exists()
    assert not LogEntry.objects.filter(kind="sharing.request").exists()


def test_a_secret_items_materials_are_never_obtained_by_sharing():
    resource = helpers.household_resource()
    handling = builders.organisation("大连市民政局", seed=9605)
    helpers.granted(resource, handling)
    secret = _item(classified=True, org=handling)
    applicant = builders.person("吴九")
    put_record(
        resource,
        subject=subject_of("person", applicant.id_number),
        data={"household_division": "210202"},
        actor=SystemActor("test"),
    )
    case = case_services.start_case(
        item_version=secret, form_data={"reason": "投靠"}, actor=applicant.user, person=applicant
    )
    assert offers(case) == {} and sharing_rows(case) == {}
    add_material(
        case,
        secret.materials.get(position=2),
        content=builders.uploaded_pdf(),
        name="结婚证.pdf",
        actor=applicant.user,
    )
    with pytest.raises(RuleViolation) as refused:
        case_engine.take_action(case, "submit", actor=applicant.user)
    assert refused.value.code == "materials_missing"
    assert not AccessLog.objects.exists()
    (row,) = item_coverage(ItemVersion.objects.filter(pk=secret.pk))
    assert row.by_sharing == 0
    open_version = _item(classified=False, org=handling)
    (row,) = item_coverage(ItemVersion.objects.filter(pk=open_version.pk))
    assert row.by_sharing == 1
