"""Workflow definitions are validated as a whole when loaded, and stored versions never
change under running cases."""

import copy
import json

import pytest

from cases.engine import PROCESS, current_definition
from cases.workflow import DEFINITIONS_DIR
from core.exceptions import RuleViolation


def _online() -> dict:
    return json.loads((DEFINITIONS_DIR / "online.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("mode", ["online", "proxy", "joint"])
def test_shipped_definitions_are_valid(mode):
    definition = PROCESS.validate(
        json.loads((DEFINITIONS_DIR / f"{mode}.json").read_text(encoding="utf-8"))
    )
    assert definition.code == mode and definition.kind == "case"
    assert any(s.finished for s in definition.states.values())


def _problems(raw) -> str:
    with pytest.raises(RuleViolation) as info:
        PROCESS.validate(raw)
    assert info.value.code == "workflow_invalid"
    return " ".join(p.reason for p in info.value.problems)


def test_unreachable_state_is_an_error():
    raw = _online()
    raw["states"]["orphan"] = {"label": "孤立状态", "finished": True}
    assert "状态 orphan 不可达" in _problems(raw)


def test_missing_finished_state_is_an_error():
    raw = _online()
    for spec in raw["states"].values():
        spec["finished"] = False
    assert "至少需要一个办结状态" in _problems(raw)


def test_unknown_role_state_and_clock_are_errors():
    raw = _online()
    raw["actions"][0]["by"] = [{"role": "janitor"}]
    raw["actions"][1]["to"] = "nowhere"
    raw["actions"][5]["clock"] = "pause:lunch"
    text = _problems(raw)
    assert "未知角色：janitor" in text
    assert "状态 nowhere 未定义" in text
    assert "未知的计时操作：pause:lunch" in text


def test_staff_role_without_side_and_dead_end_are_errors():
    raw = _online()
    raw["actions"][1]["by"] = [{"role": "window_clerk"}]
    assert "角色 window_clerk 须指明代表哪一方" in _problems(raw)
    raw = _online()
    raw["actions"] = [a for a in raw["actions"] if "denied" not in a["from"]]
    assert "状态 denied 既非办结状态又没有后续操作" in _problems(raw)


def test_a_stored_version_cannot_change():
    stored = current_definition("online")
    assert current_definition("online").pk == stored.pk
    changed = copy.deepcopy(_online())
    changed["states"]["draft"]["label"] = "草稿（改）"
    with pytest.raises(RuleViolation) as info:
        PROCESS.store(changed)
    assert info.value.code == "workflow_version_changed"
    changed["version"] = stored.version + 1
    assert PROCESS.store(changed).version == stored.version + 1
    # New cases would start under the file's version; stored v1 is untouched.
    stored.refresh_from_db()
    assert stored.definition["states"]["draft"]["label"] == "草稿"


def test_unknown_tag_effect_and_payload_are_errors():
    """A definition may only use what the case vocabulary knows: a tag no code reads, an
    effect no app registered or a payload without a schema is refused when loaded."""
    raw = _online()
    raw["states"]["draft"]["tags"].append("testing_lab")
    raw["states"]["submitted"]["tags"].append("post:pigeon")
    raw["actions"][0]["effects"].append("send_flowers")
    raw["actions"][0]["payload"] = "poem"
    raw["actions"][0]["tags"] = ["rate:weather"]
    text = _problems(raw)
    assert "未知的状态标签：testing_lab" in text
    assert "未知的状态标签：post:pigeon" in text
    assert "未知的操作效果：send_flowers" in text
    assert "未知的操作数据格式：poem" in text
    assert "未知的操作标签：rate:weather" in text


def test_a_definition_of_another_kind_or_mode_is_an_error():
    raw = _online()
    raw["kind"] = "ticket"
    raw["code"] = "teleport"
    text = _problems(raw)
    assert "流程类别应为 case" in text
    assert "未知的流程代码：teleport" in text


def test_steps_and_forwarding_rules_of_case_definitions():
    raw = json.loads((DEFINITIONS_DIR / "joint.json").read_text(encoding="utf-8"))
    for spec in raw["states"].values():
        spec["tags"] = [t for t in spec.get("tags", []) if t != "steps_running"]
    assert "须进入 steps_running 状态" in _problems(raw)
    raw = _online()
    accept = next(a for a in raw["actions"] if a["name"] == "accept")
    accept["effects"] = ["forward_to_handling_node"]
    assert "只能从提交前的状态出发" in _problems(raw)


def test_every_registered_effect_is_used_and_every_named_one_registered():
    """No effect is registered for nothing, and the shipped definitions name only
    registered ones (a missing one would fail loudly when loaded)."""
    used = {e for d in PROCESS.shipped() for a in d.actions for e in a.effects}
    assert used == set(PROCESS.vocabulary.effects.names())
