"""Workflow definitions are validated as a whole when loaded, and stored versions never
change under running cases."""

import copy
import json

import pytest

from cases.workflow import (
    DEFINITIONS_DIR,
    current_definition,
    store_definition,
    validate_definition,
)
from core.exceptions import RuleViolation


def _online() -> dict:
    return json.loads((DEFINITIONS_DIR / "online.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("mode", ["online", "proxy"])
def test_shipped_definitions_are_valid(mode):
    definition = validate_definition(
        json.loads((DEFINITIONS_DIR / f"{mode}.json").read_text(encoding="utf-8"))
    )
    assert definition.mode == mode
    assert any(s.finished for s in definition.states.values())


def _problems(raw) -> str:
    with pytest.raises(RuleViolation) as info:
        validate_definition(raw)
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
    assert "须指明代表收件地还是业务属地" in _problems(raw)
    raw = _online()
    raw["actions"] = [a for a in raw["actions"] if "denied" not in a["from"]]
    assert "状态 denied 既非办结状态又没有后续操作" in _problems(raw)


def test_a_stored_version_cannot_change():
    stored = current_definition("online")
    assert current_definition("online").pk == stored.pk
    changed = copy.deepcopy(_online())
    changed["states"]["draft"]["label"] = "草稿（改）"
    with pytest.raises(RuleViolation) as info:
        store_definition(changed)
    assert info.value.code == "workflow_version_changed"
    changed["version"] = stored.version + 1
    assert store_definition(changed).version == stored.version + 1
    # New cases would start under the file's version; stored v1 is untouched.
    stored.refresh_from_db()
    assert stored.definition["states"]["draft"]["label"] == "草稿"
