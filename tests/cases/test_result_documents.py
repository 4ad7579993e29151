"""An electronic result for every decision (issue 9, item 4): 证明, 批文 and 报告 without a
licence type of their own, and every refusal, produce a sealed result document — a licence
of the library with the seal, canonical form, QR token, PDF and 证照夹 entry of any
licence; a 证明 with a licence type (无犯罪记录证明) is issued as that licence."""

from __future__ import annotations

import json

import pytest

from cases import engine, services
from cases.models import Case
from catalog.models import ItemCategory, ItemVersion
from catalog.services import publish_item_version
from catalog.transfer import dump_catalog
from core.actors import SystemActor
from licences import canonical, documents
from licences import services as licence_services
from licences.models import Licence
from licences.rendering import render_licence_pdf
from licences.selectors import wallet
from tests import builders
from tests.case_pages import (
    REGISTERED_ADDRESS,
    World,
    build_world,
    household_licence_type,
    police_seal,
    quick_item,
    submitted,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    world = build_world()
    police_seal(world)
    return world


def _as(version: ItemVersion, *, category: str = "07", result_type: str = "certificate"):
    # Setup only: a published version is frozen to services.
    ItemVersion.objects.filter(pk=version.pk).update(
        category=ItemCategory.objects.get(system="national", code=category),
        result_type=result_type,
    )
    version.refresh_from_db()
    return version


def _reviewed(world: World, version: ItemVersion) -> Case:
    case = submitted(world, version)
    for name in ("accept", "start_review"):
        case = engine.take_action(case, name, actor=world.reviewer)
    return case


def _documents(case: Case) -> list[Licence]:
    return list(Licence.objects.filter(case_number=case.number).select_related("licence_type"))


@pytest.mark.parametrize(
    ("result_type", "name"),
    [("certificate", "办理结果证明"), ("approval", "批准文书"), ("report", "鉴定报告")],
)
def test_an_approval_of_a_certificate_approval_or_report_issues_a_sealed_document(
    world: World, result_type: str, name: str
):
    version = _as(quick_item(world), result_type=result_type)
    case = engine.take_action(_reviewed(world, version), "approve", actor=world.approver)

    [document] = _documents(case)
    assert document.licence_type.name == name
    assert document.holder_person == world.applicant and document.issuer == world.police
    assert document.face_data["decision"] == "准予办理"
    assert document.face_data["item_name"] == version.name
    assert document in wallet(world.applicant.user)
    verdict = licence_services.verify_token(document.token, actor=SystemActor("t"), channel="api")
    assert verdict.outcome == "valid" and verdict.licence_type_name == name
    assert canonical.licence_document(document)["face"]["case_number"] == case.number
    assert render_licence_pdf(document).startswith(b"%PDF")
    assert case.events.filter(action="issue_result_document").exists()


def test_other_results_have_no_document(world: World):
    version = _as(quick_item(world), result_type="other")
    case = engine.take_action(_reviewed(world, version), "approve", actor=world.approver)
    assert _documents(case) == []


@pytest.mark.parametrize(
    ("category", "name", "decision"),
    [("01", "不予行政许可决定书", "不予许可"), ("20", "不予办理决定书", "不予办理")],
)
def test_a_denial_issues_a_refusal_document_with_the_reasons(
    world: World, category: str, name: str, decision: str
):
    version = _as(quick_item(world), category=category, result_type="approval")
    case = engine.take_action(
        _reviewed(world, version), "deny", actor=world.approver, note="申请材料不符合法定条件"
    )

    [document] = _documents(case)
    assert document.licence_type.name == name
    assert document.face_data["decision"] == decision
    assert document.face_data["reasons"] == "申请材料不符合法定条件"
    assert documents.is_refusal(document.licence_type)
    assert document in wallet(world.applicant.user)
    verdict = licence_services.verify_token(document.token, actor=SystemActor("t"), channel="api")
    assert verdict.outcome == "valid"


def test_a_refused_acceptance_issues_its_document(world: World):
    case = submitted(world, quick_item(world))
    case = engine.take_action(
        case, "refuse_acceptance", actor=world.reviewer, note="不属于本机关职权"
    )
    [document] = _documents(case)
    assert document.licence_type.name == "不予受理决定书"
    assert document.face_data["reasons"] == "不属于本机关职权"


def test_without_a_seal_the_decision_stands_and_the_document_is_owed():
    world = build_world()
    case = submitted(world, quick_item(world))
    case = engine.take_action(
        case, "refuse_acceptance", actor=world.reviewer, note="不属于本机关职权"
    )
    assert case.state == "not_accepted"
    assert _documents(case) == []
    assert case.events.filter(action="result_document_owed").exists()


def test_an_approved_closed_criminal_record_certificate_lands_in_the_wallet(world: World):
    """无犯罪记录证明: a 证明 whose electronic form is a licence type of the catalog."""
    licence_type = household_licence_type(allow_multiple=True)
    version = builders.item(
        "无犯罪记录证明",
        org=world.police,
        result_type="certificate",
        result_licence_type=licence_type,
        form_fields=[{"name": "registered_address", "label": "户籍地址", "type": "address"}],
        publish=False,
    )
    version.materials.update(necessity="optional")
    publish_item_version(version, actor=SystemActor("test"))
    version.refresh_from_db()

    case = services.start_case(
        item_version=version,
        form_data={"registered_address": REGISTERED_ADDRESS},
        person=world.applicant,
        actor=world.applicant.user,
    )
    case = engine.take_action(case, "submit", actor=world.applicant.user)
    for name in ("accept", "start_review"):
        case = engine.take_action(case, name, actor=world.reviewer)
    case = engine.take_action(case, "approve", actor=world.approver)
    case = engine.take_action(case, "issue_result", actor=world.reviewer)
    case = engine.take_action(case, "close", actor=world.approver)

    [licence] = wallet(world.applicant.user).filter(case_number=case.number)
    assert licence.licence_type == licence_type
    verdict = licence_services.verify_token(licence.token, actor=SystemActor("t"), channel="api")
    assert verdict.outcome == "valid"


def test_the_platform_document_types_are_not_part_of_the_catalog_exchange(world: World):
    documents.document_licence_type(documents.CERTIFICATE)
    records = json.loads(dump_catalog("catalog.json"))["records"]
    codes = {r.get("code") for r in records if r["record"] == "licence_type"}
    assert documents.CERTIFICATE.code not in codes
