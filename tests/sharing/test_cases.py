"""In cases: a material obtainable by sharing is verified at submission after the
applicant's consent, counts as provided, and the reviewer sees its source and answer; with
the source down the applicant is asked to upload it."""

import pytest

from cases import engine as case_engine
from cases import services as case_services
from cases.materials import add_material
from cases.sharing import consent_to_sharing, sharing_rows
from catalog.models import Material
from catalog.services import publish_item_version
from core.actors import SystemActor
from core.exceptions import RuleViolation
from sharing.models import AccessLog
from sharing.services import put_record
from sharing.subjects import subject_of
from tests import builders
from tests.sharing import helpers


def _case(resource_overrides=None):
    provider = builders.organisation("大连市公安局", seed=9500)
    resource = helpers.household_resource(provider, **(resource_overrides or {}))
    handling = builders.organisation("大连市民政局", seed=9501)
    helpers.granted(resource, handling)
    version = builders.item(org=handling, publish=False)
    Material.objects.filter(version=version, position=1).update(code="HJ-HKB")
    publish_item_version(version, actor=SystemActor("test"))
    version.refresh_from_db()
    applicant = builders.person("钱一")
    put_record(
        resource,
        subject=subject_of("person", applicant.id_number),
        data={"household_division": "210202"},
        actor=SystemActor("test"),
    )
    case = case_services.start_case(
        item_version=version, form_data={"reason": "投靠"}, actor=applicant.user, person=applicant
    )
    marriage = version.materials.get(position=2)
    add_material(
        case, marriage, content=builders.uploaded_pdf(), name="结婚证.pdf", actor=applicant.user
    )
    return case, applicant, version.materials.get(position=1)


def test_without_consent_the_personal_material_is_asked_for():
    case, applicant, household = _case()
    rows = sharing_rows(case)
    assert rows[household.pk].offer.provider_name == "大连市公安局"
    assert not rows[household.pk].consented
    with pytest.raises(RuleViolation) as refused:
        case_engine.take_action(case, "submit", actor=applicant.user)
    assert refused.value.code == "materials_missing"
    assert not AccessLog.objects.exists()


def test_after_consent_the_material_is_verified_at_submission():
    case, applicant, household = _case()
    consent_to_sharing(case, actor=applicant.user)
    case = case_engine.take_action(case, "submit", actor=applicant.user)
    assert case.state == "submitted"
    material = case.materials.get(requirement=household)
    assert material.shared_source == "大连市公安局·居民户籍信息" and not material.file
    assert material.shared_answer["match"] is True
    (read,) = AccessLog.objects.all()
    assert read.case_number == case.number and read.consumer.name == "大连市民政局"
    assert read.subject_hash == applicant.id_number_hash
    assert case.events.filter(action="use_shared_data").exists()


def test_with_the_source_down_the_applicant_is_asked_to_upload():
    case, applicant, household = _case(
        {"adapter": "http", "adapter_config": {"base_url": "http://127.0.0.1:9", "timeout": 1}}
    )
    consent_to_sharing(case, actor=applicant.user)
    with pytest.raises(RuleViolation) as refused:
        case_engine.take_action(case, "submit", actor=applicant.user)
    assert refused.value.code == "materials_missing"
    row = sharing_rows(case)[household.pk]
    assert row.unavailable and "暂不可用，请上传" in row.note
    assert AccessLog.objects.get().outcome == "unavailable"
    add_material(
        case,
        household,
        content=builders.uploaded_pdf("2"),
        name="户口簿.pdf",
        actor=applicant.user,
    )
    assert case_engine.take_action(case, "submit", actor=applicant.user).state == "submitted"
    assert not sharing_rows(case)[household.pk].unavailable


def test_the_reviewer_sees_the_source_and_the_answer(client):
    case, applicant, _household = _case()
    consent_to_sharing(case, actor=applicant.user)
    case = case_engine.take_action(case, "submit", actor=applicant.user)
    reviewer = builders.staff("reviewer", case.handling_org)
    client.force_login(reviewer)
    page = client.get(f"/console/cases/{case.number}/").content.decode()
    assert "共享获取（免提交）" in page and "大连市公安局·居民户籍信息" in page
    assert "核验结果：属实" in page


def test_at_the_window_the_clerk_records_consent_and_the_check_verifies(client):
    provider = builders.organisation("大连市公安局", seed=9510)
    resource = helpers.household_resource(provider)
    handling = builders.organisation("大连市民政局", seed=9511)
    helpers.granted(resource, handling)
    version = builders.item(org=handling, publish=False)
    Material.objects.filter(version=version, position=1).update(code="HJ-HKB")
    publish_item_version(version, actor=SystemActor("test"))
    version.refresh_from_db()
    clerk = builders.staff("window_clerk", builders.organisation("大连市政务服务中心"))
    builders.at_window(clerk, version)
    id_number = builders.valid_id_number()
    case = case_services.apply(
        actor=clerk,
        item_version=version,
        form_data={"reason": "投靠"},
        on_behalf_of={
            "kind": "person",
            "name": "李四",
            "id_number": id_number,
            "mobile": "13904110000",
        },
    )
    put_record(
        resource,
        subject=subject_of("person", id_number),
        data={"household_division": "210202"},
        actor=SystemActor("test"),
    )
    client.force_login(clerk)
    page = client.get(f"/console/cases/{case.number}/").content.decode()
    assert "可共享获取的材料" in page and "申请人已当面同意共享获取" in page
    answer = client.post(f"/console/cases/{case.number}/sharing-consent/", follow=True)
    assert "已记录申请人同意共享获取" in answer.content.decode()
    add_material(
        case,
        version.materials.get(position=2),
        content=builders.uploaded_pdf(),
        name="2.pdf",
        actor=clerk,
    )
    case = case_engine.take_action(case, "check_identity", actor=clerk)
    case = case_engine.take_action(case, "check_materials", actor=clerk)
    shared = case.materials.get(requirement__position=1)
    assert shared.shared_source == "大连市公安局·居民户籍信息" and shared.uploaded_by == clerk
