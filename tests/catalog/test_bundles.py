"""一件事 bundles in the catalog: publishing and its checks, which steps apply to an
answer, materials asked once, and the public API."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from catalog.bundles import (
    StepData,
    applicable_steps,
    bundle_materials,
    create_bundle_version,
    draft_bundle_version,
    item_answers,
    publish_bundle_version,
    save_bundle,
)
from catalog.models import BundleStep, PublicationStatus
from core.actors import SystemActor
from core.exceptions import RuleViolation
from tests import builders
from tests.api.helpers import assert_problem, count_queries, get_json

ACTOR = SystemActor("test")


def test_publishing_pins_the_item_versions_and_freezes_the_version():
    version = builders.newborn_bundle()
    steps = list(version.steps.order_by("position"))
    assert all(s.item_version is not None and s.item_version.is_published for s in steps)
    assert version.status == PublicationStatus.PUBLISHED
    steps[0].condition = {"field": "card", "values": ["否"]}
    with pytest.raises(ValidationError, match="已发布的版本不可修改"):
        steps[0].save()
    with pytest.raises(RuleViolation) as info:
        publish_bundle_version(version, actor=ACTOR)
    assert info.value.code == "version_published"


def test_a_broken_bundle_is_refused_with_every_problem_and_nothing_pinned():
    items = builders.newborn_items()
    offline = builders.item("窗口专办事项", application_channels=["window"])
    bundle = save_bundle(code="broken", name="有误的一件事", audience="person", actor=ACTOR)
    version = create_bundle_version(
        bundle,
        number=1,
        effective_from=dt.date(2024, 6, 1),
        form_fields=[
            *builders.NEWBORN_FORM,
            {"name": "unused", "label": "无用字段", "type": "text"},
        ],
        steps=[
            # birth_date of the certificate left unmapped; baby_name mapped to a date field
            StepData(1, items["certificate"].item, field_map={"baby_name": "baby_name"}),
            StepData(
                2,
                items["registration"].item,
                field_map={"baby_name": "child_name", "reason": "birth_date"},
                condition={"field": "baby_name", "values": ["x"]},
            ),
            StepData(3, items["card"].item, condition={"field": "card", "values": ["也许"]}),
            StepData(3, items["card"].item, field_map={"reason": "reason"}),
            StepData(4, offline.item, field_map={"reason": "reason"}),
        ],
        actor=ACTOR,
    )
    with pytest.raises(RuleViolation) as info:
        publish_bundle_version(version, actor=ACTOR)
    assert info.value.code == "bundle_version_invalid"
    messages = " / ".join(p.reason for p in info.value.problems)
    assert "变更说明" in messages
    assert "出生日期" in messages and "未对应" in messages
    assert "类型不同" in messages
    assert "选项字段" in messages
    assert "也许" in messages
    assert "会适用两次" in messages
    assert "不能网上申请" in messages
    assert "unused" in messages
    version.refresh_from_db()
    assert version.status == PublicationStatus.DRAFT
    assert not BundleStep.objects.filter(version=version, item_version__isnull=False).exists()


def test_too_few_steps_and_no_version_in_force():
    future = builders.item("未来事项", effective_from=dt.date(2030, 1, 1))
    bundle = save_bundle(code="tiny", name="小", audience="person", actor=ACTOR)
    version = create_bundle_version(
        bundle,
        number=1,
        effective_from=dt.date(2024, 6, 1),
        form_fields=[{"name": "reason", "label": "原因", "type": "text"}],
        steps=[StepData(1, future.item, field_map={"reason": "reason"})],
        actor=ACTOR,
        change_note="x",
    )
    with pytest.raises(RuleViolation) as info:
        publish_bundle_version(version, actor=ACTOR)
    messages = " / ".join(p.reason for p in info.value.problems)
    assert "至少应包含 2 个事项" in messages and "没有生效的版本" in messages


def test_conditions_choose_the_steps_and_an_item_applying_twice_is_refused():
    version = builders.newborn_bundle()
    answers = {"baby_name": "刘小宝", "birth_date": "2024-05-01", "reason": "新生儿", "card": "否"}
    chosen = applicable_steps(version, answers)
    assert [s.order for s in chosen] == [1, 2]
    assert item_answers(chosen[1], answers) == {"child_name": "刘小宝", "birth_date": "2024-05-01"}
    assert [s.order for s in applicable_steps(version, {**answers, "card": "是"})] == [1, 2, 3]

    # Two steps of one item on different questions pass the publication check (it cannot
    # prove them exclusive); the answer that makes both apply is refused.
    items = builders.newborn_items()
    bundle = save_bundle(code="twice", name="两次", audience="person", actor=ACTOR)
    form = [
        {"name": "reason", "label": "原因", "type": "text"},
        {"name": "a", "label": "甲", "type": "choice", "choices": ["是", "否"]},
        {"name": "b", "label": "乙", "type": "choice", "choices": ["是", "否"]},
    ]
    twice = create_bundle_version(
        bundle,
        number=1,
        effective_from=dt.date(2024, 6, 1),
        form_fields=form,
        steps=[
            StepData(1, items["card"].item, {"field": "a", "values": ["是"]}, {"reason": "reason"}),
            StepData(2, items["card"].item, {"field": "b", "values": ["是"]}, {"reason": "reason"}),
        ],
        actor=ACTOR,
        change_note="x",
    )
    twice = publish_bundle_version(twice, actor=ACTOR)
    assert len(applicable_steps(twice, {"a": "是", "b": "否"})) == 1
    with pytest.raises(RuleViolation) as info:
        applicable_steps(twice, {"a": "是", "b": "是"})
    assert info.value.code == "bundle_item_twice"
    with pytest.raises(RuleViolation) as info:
        applicable_steps(twice, {"a": "否", "b": "否"})
    assert info.value.code == "bundle_nothing_applies"


def test_materials_are_asked_once_and_licences_of_earlier_steps_pass_forward():
    version = builders.newborn_bundle()
    materials = {m.key: m for m in bundle_materials(list(version.steps.all()))}
    # 居民户口簿 of the certificate and the registration, by name, asked once; the card's
    # names the 居民户口簿 licence type, which the registration issues: passed forward.
    assert list(materials) == [
        "name:居民户口簿",
        "name:结婚证",
        "licence:11100000MB1967474G001",
        "licence:111000000000131244002",
    ]
    assert len(materials["name:居民户口簿"].requirements) == 2
    assert len(materials["name:结婚证"].requirements) == 3
    assert materials["name:居民户口簿"].produced_by is None
    assert materials["licence:11100000MB1967474G001"].produced_by.order == 1
    assert materials["licence:111000000000131244002"].produced_by.order == 2


def test_a_new_draft_copies_the_latest_version():
    version = builders.newborn_bundle()
    draft = draft_bundle_version(
        version.bundle, effective_from=dt.date(2025, 1, 1), actor=ACTOR, change_note="二版"
    )
    assert draft.number == 2 and draft.steps.count() == 3
    assert draft.status == PublicationStatus.DRAFT
    publish_bundle_version(draft, actor=ACTOR)


def test_the_api_lists_bundles_in_a_fixed_number_of_queries(client):
    builders.newborn_bundle()
    one = count_queries(client, "/api/v1/bundles")
    builders.newborn_bundle(code="newborn-2")
    assert count_queries(client, "/api/v1/bundles") == one
    body = get_json(client, "/api/v1/bundles/newborn")
    assert body["name"] == "新生儿出生一件事"
    assert [s["order"] for s in body["steps"]] == [1, 2, 3]
    assert body["steps"][2]["condition"] == {"field": "card", "values": ["是"]}
    assert body["steps"][0]["node"] == ""
    produced = {m["name"]: m["produced_by"] for m in body["materials"]}
    assert produced["出生医学证明"] == body["steps"][0]["code"]
    assert get_json(client, "/api/v1/bundles/newborn/versions")[0]["version"] == 1
    assert_problem(client, "/api/v1/bundles/none", 404, "bundle_not_found")
