"""The demo bundles: 开办企业一件事 published by `load_demo`; 新生儿出生一件事 once Jilin's
regional zone is here (`load_demo_bundles` after the sync), and its 户口登记 step for a
household in 吉林 opens on the Jilin node, given the 出生医学证明 of step 1."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from cases import bundles, engine
from cases.models import BundleCase
from catalog.models import Bundle, PublicationStatus
from catalog.transfer import FORMAT_NAME, FORMAT_VERSION
from catalog.transfer.columns import item_code
from catalog.zone import ZONE_KINDS, import_zone
from core.actors import SystemActor
from demo.bundles import BIRTH, NEWBORN_JL
from demo.users import catalog_file, staff_username
from federation.models import LogEntry
from tests import builders
from tests.demo.conftest import be_node
from tests.federation.conftest import federation  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db

ANSWERS = {
    "phone": "13904112368",
    "baby_name": "王小满",
    "gender": "女",
    "birth_date": "2026-11-20",
    "birth_place": "210202",
    "mother_name": "王芳",
    "hukou_province": "吉林省",
    "household_kind": "家庭户",
    "household_address": "吉林省长春市朝阳区人民大街100号",
    "household_division": "210202",
    "insured_kind": "未成年人",
    "bank": "工商银行",
}


def jilin_zone() -> dict:
    """Jilin's answer to the zone question, as its demo catalog gives it: its regional
    items with what they name (what `sync_zone` brings on `make run`)."""
    records = json.loads(catalog_file("jilin").read_text(encoding="utf-8"))["records"]
    modes: dict[str, list[str]] = {}
    for r in records:
        if r["record"] == "list_entry":
            modes.setdefault(r["item"], [])
            modes[r["item"]] += [m for m in r["modes"].split(";") if m not in modes[r["item"]]]
    regional = {
        r["item"]
        for r in records
        if r["record"] == "availability" and r["scope"] == "regional" and r["item"] in modes
    }
    kept = [
        r
        for r in records
        if r["record"] in ZONE_KINDS
        and (
            r["record"] in ("organisation", "licence_type", "face_field", "scheme")
            or (item_code(r) if r["record"] == "item" else r.get("item")) in regional
        )
    ]
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "records": kept,
        "entries": [{"item": code, "modes": modes[code]} for code in sorted(regional)],
    }


def test_the_newborn_bundle_waits_for_the_zone_then_sends_a_step_to_jilin(
    settings,
    federation,  # noqa: F811 - the fixture imported above
    django_capture_on_commit_callbacks,
):
    be_node(settings, "liaoning")
    call_command("load_demo", stdout=StringIO())
    published = Bundle.objects.filter(versions__status=PublicationStatus.PUBLISHED)
    assert list(published.values_list("code", flat=True)) == ["start-business"]

    import_zone(jilin_zone(), node="jilin", division="220000", actor=SystemActor("sync"))
    out = StringIO()
    call_command("load_demo_bundles", stdout=out)
    assert "新发布 1 件" in out.getvalue()
    version = Bundle.objects.get(code="newborn").versions.get()
    assert {s.item.organisation.node for s in version.steps.all()} == {"", "jilin"}

    User = get_user_model()
    citizen = User.objects.get(username="citizen-wangfang")
    bundle_case = bundles.start_bundle_case(
        bundle_version=version, form_data=ANSWERS, actor=citizen
    )
    subs = list(bundle_case.sub_cases.select_related("step__item").order_by("order"))
    assert [s.step.item.code for s in subs][:2] == [BIRTH, NEWBORN_JL]
    for material in bundles.bundle_overview(bundle_case).materials:
        if material.produced_by is None:
            bundles.add_bundle_material(
                bundle_case,
                material.key,
                content=builders.uploaded_pdf(material.key),
                name="材料.pdf",
                actor=citizen,
            )
    bundles.submit_bundle_case(bundle_case, actor=citizen)
    first = bundle_case.sub_cases.get(order=1).case
    reviewer = User.objects.get(username=staff_username("dl-wjw", "reviewer"))
    approver = User.objects.get(username=staff_username("dl-wjw", "approver"))
    case = engine.take_action(first, "accept", actor=reviewer)
    case = engine.take_action(case, "start_review", actor=reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        engine.take_action(case, "approve", actor=approver)

    second = bundle_case.sub_cases.select_related("case").get(order=2)
    assert second.status == "running", second.note
    assert second.case.counterpart_node == "jilin"
    assert second.case.handling_org.name == "长春市公安局"
    assert second.case.materials.get(requirement__name="出生医学证明").licence is not None
    forwarded = LogEntry.objects.filter(kind="case.forwarded", receiver="jilin")
    assert forwarded.exists()
    bundle_case.refresh_from_db()
    assert bundle_case.status == BundleCase.Status.RUNNING
