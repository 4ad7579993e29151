"""Words from the item's category (issue 9, item 6): 准予许可 / 不予许可 only on 行政许可
items; 行政确认, 公共服务 and every 证明 read 准予办理 / 不予办理 — on the portal, the
console and the API alike, all through `cases.workflow.state_label` / `action_label`."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from django.apps import apps

from cases import engine
from cases.engine import PROCESS
from cases.models import Case
from cases.workflow import action_label, category_of, definition_of, state_label
from catalog.models import ItemCategory, ItemVersion
from tests.case_pages import World, build_world, quick_item, submitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return build_world()


def _as(version: ItemVersion, *, category: str, result_type: str) -> ItemVersion:
    # Setup only: a published version is frozen to services.
    ItemVersion.objects.filter(pk=version.pk).update(
        category=ItemCategory.objects.get(system="national", code=category),
        result_type=result_type,
    )
    version.refresh_from_db()
    return version


def _decided(world: World, version: ItemVersion, action: str) -> Case:
    case = submitted(world, version)
    for name in ("accept", "start_review"):
        case = engine.take_action(case, name, actor=world.reviewer)
    return engine.take_action(case, action, actor=world.approver, note="不符合条件")


@pytest.mark.parametrize(
    ("category", "result_type", "approved", "denied"),
    [
        ("01", "approval", "准予许可", "不予许可"),
        ("01", "certificate", "准予办理", "不予办理"),
        ("07", "certificate", "准予办理", "不予办理"),
        ("07", "other", "准予办理", "不予办理"),
        ("20", "certificate", "准予办理", "不予办理"),
        ("10", "other", "准予办理", "不予办理"),
    ],
)
def test_decisions_read_the_words_of_the_items_category(
    world: World, category: str, result_type: str, approved: str, denied: str
):
    version = _as(quick_item(world), category=category, result_type=result_type)
    case = _decided(world, version, "approve")
    assert state_label(case) == approved
    approve = definition_of(case).any_action("approve")
    assert approve is not None and action_label(case, approve) == approved
    refused = _decided(world, version, "deny")
    assert state_label(refused) == denied


def test_portal_console_and_api_say_the_same_words(client, world: World):
    version = _as(quick_item(world), category="20", result_type="certificate")
    case = _decided(world, version, "approve")

    client.force_login(world.applicant.user)
    portal = client.get(f"/my/cases/{case.number}/").content.decode()
    assert "准予办理" in portal and "准予许可" not in portal
    listing = client.get("/my/cases/").content.decode()
    assert "准予办理" in listing and "准予许可" not in listing
    api = client.get(f"/api/v1/cases/{case.number}").json()
    assert api["state_label"] == "准予办理"
    assert "准予许可" not in json.dumps(api, ensure_ascii=False)

    client.force_login(world.approver)
    console = client.get(f"/console/cases/{case.number}/").content.decode()
    assert "准予办理" in console and "准予许可" not in console
    staff_api = client.get(f"/api/v1/cases/{case.number}").json()
    assert staff_api["state_label"] == "准予办理"


def test_a_licensing_item_keeps_its_words_everywhere(client, world: World):
    version = _as(quick_item(world), category="01", result_type="approval")
    case = _decided(world, version, "approve")
    client.force_login(world.applicant.user)
    assert "准予许可" in client.get(f"/my/cases/{case.number}/").content.decode()
    assert client.get(f"/api/v1/cases/{case.number}").json()["state_label"] == "准予许可"


def test_a_local_category_code_reads_the_plain_words(world: World):
    local, _ = ItemCategory.objects.get_or_create(system="liaoning", code="XK", name="行政许可")
    version = quick_item(world)
    ItemVersion.objects.filter(pk=version.pk).update(category=local)
    case = _decided(world, version, "approve")
    assert category_of(case) == "" and state_label(case) == "准予办理"


def test_stored_earlier_versions_are_relabelled_in_place_without_changing_the_graph(
    world: World,
):
    """The migration gives the definitions running cases are pinned to the same words."""
    old = Path(engine.__file__).resolve().parent / "migrations" / "workflows_v1" / "online.json"
    raw = json.loads(old.read_text(encoding="utf-8"))
    stored = PROCESS.store(raw)
    version = _as(quick_item(world), category="07", result_type="certificate")
    case = _decided(world, version, "approve")
    Case.objects.filter(pk=case.pk).update(workflow=stored)
    case.refresh_from_db()
    assert state_label(case) == "准予许可"
    graph_before = [(a["name"], a["from"], a["to"]) for a in stored.definition["actions"]]

    migration = importlib.import_module("cases.migrations.0009_workflow_labels_by_category")
    migration.relabel(apps, None)

    stored.refresh_from_db()
    case = Case.objects.get(pk=case.pk)
    assert stored.version == 1
    assert [(a["name"], a["from"], a["to"]) for a in stored.definition["actions"]] == graph_before
    assert state_label(case) == "准予办理"
    assert stored.definition["states"]["approved"]["labels"] == {"01": "准予许可"}

    migration.unlabel(apps, None)
    stored.refresh_from_db()
    assert stored.definition["states"]["approved"] == raw["states"]["approved"]


def test_the_shipped_definitions_are_version_three_with_labels_per_category():
    for code in ("online", "proxy", "joint"):
        definition = PROCESS.parsed(engine.current_definition(code))
        assert definition.version >= 3
        assert definition.label("approved", "01") == "准予许可"
        assert definition.label("approved", "07") == "准予办理"
        assert definition.label("denied", "20") == "不予办理"
