"""Workflow definitions as data, and the questions the engine asks of them.

A definition (`cases/workflows/<code>.json`) names its states, the initial one, and its
actions: from which states, to which state, who may take it (a role and the side of the
case it acts for: `handling` = 业务属地, `receiving` = 收件地; or `applicant`, or `system`),
what it does to the deadline clock (`start`, `pause:<reason>`, `resume`, `stop`), and
whether a note is required. States may carry a per-state deadline in working days and a
`finished` flag. A definition is validated as a whole when loaded: unknown states or
roles, unreachable states, non-finished dead ends and a missing finished state are errors.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from django.db import transaction
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from accounts.models import Role
from cases.models import WorkflowDefinition
from catalog.models import Mode
from core.exceptions import ProblemList, RuleViolation

DEFINITIONS_DIR = Path(__file__).resolve().parent / "workflows"
APPLICANT, SYSTEM = "applicant", "system"
PAUSE_REASONS = {"supplement", "special_procedure"}


class Actor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str
    scope: Literal["handling", "receiving"] | None = None


class StateSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str
    deadline_days: int | None = Field(default=None, ge=0, le=365)
    finished: bool = False


class ActionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z_]+$")
    label: str
    from_: list[str] = Field(alias="from", min_length=1)
    to: str
    by: list[Actor] = Field(min_length=1)
    clock: str | None = None
    note_required: bool = False


class Definition(BaseModel):
    """A parsed, validated workflow definition."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z_]+$")
    version: int = Field(ge=1)
    mode: str
    name: str
    initial: str
    states: dict[str, StateSpec]
    actions: list[ActionSpec]

    def actions_from(self, state: str) -> list[ActionSpec]:
        return [a for a in self.actions if state in a.from_]

    def action(self, name: str, state: str) -> ActionSpec | None:
        return next((a for a in self.actions_from(state) if a.name == name), None)

    def is_finished(self, state: str) -> bool:
        return self.states[state].finished

    def label(self, state: str) -> str:
        spec = self.states.get(state)
        return spec.label if spec else state


def validate_definition(raw: object) -> Definition:
    """Parse and check a definition; raise RuleViolation listing every problem."""
    problems = ProblemList()
    try:
        definition = Definition.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            problems.add(err["msg"], field=".".join(str(p) for p in err["loc"]))
        problems.raise_if_any("workflow_invalid", "流程定义格式错误")
        raise AssertionError("unreachable") from exc
    states = definition.states
    if definition.mode not in Mode.values:
        problems.add(f"未知的业务模式：{definition.mode}", field="mode")
    if definition.initial not in states:
        problems.add(f"初始状态 {definition.initial} 未定义", field="initial")
    known_roles = set(Role.values) | {APPLICANT, SYSTEM}
    for index, action in enumerate(definition.actions):
        where = f"actions[{index}]({action.name})"
        for state in [*action.from_, action.to]:
            if state not in states:
                problems.add(f"状态 {state} 未定义", field=where)
        for state in action.from_:
            if (
                state in states
                and states[state].finished
                and action.to in states
                and not states[action.to].finished
            ):
                problems.add(f"已办结状态 {state} 不能回到未办结状态", field=where)
        for who in action.by:
            if who.role not in known_roles:
                problems.add(f"未知角色：{who.role}", field=where)
            if who.role in Role.values and who.scope is None:
                problems.add(f"角色 {who.role} 须指明代表收件地还是业务属地", field=where)
        if action.clock is not None:
            kind, _, reason = action.clock.partition(":")
            if (
                kind not in {"start", "pause", "resume", "stop"}
                or ((kind == "pause") != bool(reason))
                or (reason and reason not in PAUSE_REASONS)
            ):
                problems.add(f"未知的计时操作：{action.clock}", field=where)
    duplicates = {(a.name, s) for a in definition.actions for s in a.from_}
    if len(duplicates) != sum(len(a.from_) for a in definition.actions):
        problems.add("同一状态下有重名操作", field="actions")
    if not any(s.finished for s in states.values()):
        problems.add("至少需要一个办结状态（finished）", field="states")
    if definition.initial in states and not problems:
        reachable = _reachable(definition)
        for name in states:
            if name not in reachable:
                problems.add(f"状态 {name} 不可达", field=f"states.{name}")
        for name, spec in states.items():
            if not spec.finished and not definition.actions_from(name):
                problems.add(f"状态 {name} 既非办结状态又没有后续操作", field=f"states.{name}")
    problems.raise_if_any("workflow_invalid", f"流程定义 {definition.code} 有误")
    return definition


def _reachable(definition: Definition) -> set[str]:
    seen = {definition.initial}
    queue = deque([definition.initial])
    while queue:
        state = queue.popleft()
        for action in definition.actions_from(state):
            if action.to not in seen:
                seen.add(action.to)
                queue.append(action.to)
    return seen


def _checksum(raw: object) -> str:
    return hashlib.sha256(json.dumps(raw, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@transaction.atomic
def store_definition(raw: object) -> WorkflowDefinition:
    """Store a validated definition, once. The same code and version with other content
    is refused: a changed workflow is a new version, so running cases keep theirs."""
    definition = validate_definition(raw)
    checksum = _checksum(raw)
    stored, created = WorkflowDefinition.objects.get_or_create(
        code=definition.code,
        version=definition.version,
        defaults={
            "mode": definition.mode,
            "name": definition.name,
            "definition": raw,
            "checksum": checksum,
        },
    )
    if not created and stored.checksum != checksum:
        raise RuleViolation(
            "workflow_version_changed",
            f"流程 {definition.code} 第 {definition.version} 版已载入且内容不同，请提高版本号",
        )
    return stored


def current_definition(mode: str) -> WorkflowDefinition:
    """The definition new cases of `mode` start under: the file shipped with this release,
    stored on first use."""
    path = DEFINITIONS_DIR / f"{mode}.json"
    if not path.exists():
        raise RuleViolation("workflow_missing", f"业务模式 {mode} 没有流程定义")
    return store_definition(json.loads(path.read_text(encoding="utf-8")))


@cache
def _parsed(pk: int, checksum: str) -> Definition:
    return Definition.model_validate(WorkflowDefinition.objects.get(pk=pk).definition)


def parsed(stored: WorkflowDefinition) -> Definition:
    """The parsed form of a stored definition (cached: stored definitions never change)."""
    return _parsed(stored.pk, stored.checksum)


@dataclass(frozen=True)
class ClockEffect:
    kind: str  # start | pause | resume | stop
    reason: str = ""


def clock_effect(action: ActionSpec) -> ClockEffect | None:
    if not action.clock:
        return None
    kind, _, reason = action.clock.partition(":")
    return ClockEffect(kind, reason)
