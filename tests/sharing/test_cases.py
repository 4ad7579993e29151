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


def _company_world():
    """A company item whose first material (营业执照, code YY-ZZ) the handling organisation
    can verify by sharing; the company's legal representative applies for it."""
    from accounts.agents import register_company_online
    from tests.accounts.test_agents import enterprise_uscc

    provider = builders.organisation("大连市市场监督管理局", seed=9520)
    resource = helpers.household_resource(
        provider,
        code="LN-SCJG-YYZZ-001",
        name="企业营业执照信息",
        subject_kind="company",
        fields=[
            {"name": "holds_valid_licence", "label": "持有有效营业执照", "type": "boolean"},
        ],
        sharing_class="unconditional",
        legal_basis="",
        methods=["verify"],
        material_codes=["YY-ZZ"],
        adapter_config={"verify_field": "holds_valid_licence"},
    )
    handling = builders.organisation("大连市商务局", seed=9521)
    helpers.granted(resource, handling, fields=["holds_valid_licence"])
    version = builders.item("企业名称变更登记", org=handling, audience="company", publish=False)
    Material.objects.filter(version=version, position=1).update(code="YY-ZZ")
    publish_item_version(version, actor=SystemActor("test"))
    version.refresh_from_db()
    boss = builders.person("王大海")
    company = register_company_online(
        uscc=enterprise_uscc(21), name="大连海洋科技有限公司", actor=boss.user
    )
    put_record(
        resource,
        subject=subject_of("company", company.uscc),
        data={"holds_valid_licence": True},
        actor=SystemActor("test"),
    )
    return version, boss, company


def test_a_failing_submission_at_apply_leaves_no_read_log_row():
    """apply(submit=True) is one transaction: the company's material is verified by sharing
    before the submission, the submission then fails (another material is missing) — the
    read-log row goes with the case it was about."""
    from cases.models import Case

    version, boss, company = _company_world()
    with pytest.raises(RuleViolation) as refused:
        case_services.apply(
            actor=boss.user,
            item_version=version,
            form_data={"reason": "变更"},
            company_uscc=company.uscc,
            submit=True,
        )
    assert refused.value.code == "materials_missing"
    assert not Case.objects.exists()
    assert not AccessLog.objects.exists()
    # The read was made: a case kept as a draft keeps the row of a refused submission.
    case = case_services.apply(
        actor=boss.user,
        item_version=version,
        form_data={"reason": "变更"},
        company_uscc=company.uscc,
    )
    with pytest.raises(RuleViolation):
        case_engine.take_action(case, "submit", actor=boss.user)
    assert AccessLog.objects.get().case_number == case.number


def test_a_submission_at_apply_keeps_its_read_log_row():
    """The same with nothing missing: the read is logged, with the case it was for."""
    version, boss, company = _company_world()
    Material.objects.filter(version=version, position=2).update(necessity="optional")
    case = case_services.apply(
        actor=boss.user,
        item_version=version,
        form_data={"reason": "变更"},
        company_uscc=company.uscc,
        submit=True,
    )
    assert case.state == "submitted"
    (read,) = AccessLog.objects.all()
    assert read.case_number == case.number and read.subject_kind == "company"
