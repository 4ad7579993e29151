"""Workflow definitions as data: the format, its validation, and the questions asked of it.

Every process of the platform — a case (办件), a 12345 ticket, a rating's rectification, a
data-sharing request — moves through a definition kept as JSON beside the app that owns
it. A definition names its states and actions; all knowledge of the process lives there:

- a **state** has a label (and labels per item category, so a certificate never reads
  准予许可), an optional hint for whoever acts in it, an optional deadline of its own in the
  process's unit, `finished`, and **tags** — what the state means to the rest of the code
  (`materials_open`, `decided`, `post:result`, `outcome:approved` …). Code asks "which
  states are decided?", never "is it `denied` or `closed`?".
- an **action** names the states it leaves, the state it enters, who may take it (a role
  and, for staff, the side they act for), what it does to the clock
  (`start`, `pause:<reason>`, `resume`, `stop`), whether a note is required, the pydantic
  **payload** schema of its input, and the **effects** the engine runs with it.

Which roles, sides, tags, pause reasons, payloads and effects exist is the owning app's
`Vocabulary`; a definition using anything else is refused when loaded, as are unreachable
states, dead ends and a missing finished state. The engine that runs definitions is
`core/process.py`.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.exceptions import ProblemList, RuleViolation
from core.registry import Registry

CLOCK_KINDS = {"start", "pause", "resume", "stop"}


class ActorSpec(BaseModel):
    """Who may take an action: a role and, for staff roles, the side they act for."""

    model_config = ConfigDict(extra="forbid")

    role: str
    scope: str | None = None


class StateSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str
    # The label per item category code (GB 事项类型: "01" 行政许可 …) where it differs.
    labels: dict[str, str] = Field(default_factory=dict)
    hint: str = ""
    deadline_days: int | None = Field(default=None, ge=0, le=365)
    finished: bool = False
    tags: list[str] = Field(default_factory=list)


class ActionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z_]+$")
    label: str
    labels: dict[str, str] = Field(default_factory=dict)
    # What the action means for the applicant, shown beside its button.
    hint: str = ""
    from_: list[str] = Field(alias="from", min_length=1)
    to: str
    by: list[ActorSpec] = Field(min_length=1)
    clock: str | None = None
    note_required: bool = False
    payload: str | None = None
    effects: list[str] = Field(default_factory=list)
    # What the action means to other parts (`rate:application`: it completes a service
    # event the applicant is asked to rate).
    tags: list[str] = Field(default_factory=list)
    # "grave" actions end or refuse something; pages make that visible.
    tone: Literal["normal", "grave"] = "normal"

    @property
    def grave(self) -> bool:
        return self.tone == "grave"


class Definition(BaseModel):
    """A parsed, validated workflow definition."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(pattern=r"^[a-z_]+$")
    code: str = Field(pattern=r"^[a-z_]+$")
    version: int = Field(ge=1)
    name: str
    initial: str
    states: dict[str, StateSpec]
    actions: list[ActionSpec]

    # Questions about actions --------------------------------------------------------------

    def actions_from(self, state: str) -> list[ActionSpec]:
        return [a for a in self.actions if state in a.from_]

    def action(self, name: str, state: str) -> ActionSpec | None:
        return next((a for a in self.actions_from(state) if a.name == name), None)

    def any_action(self, name: str) -> ActionSpec | None:
        """The first action called `name`, from whichever state (for labels of the past)."""
        return next((a for a in self.actions if a.name == name), None)

    def action_with_effect(self, state: str, effect: str) -> ActionSpec | None:
        """The action leaving `state` that runs `effect` (e.g. the one that submits)."""
        return next((a for a in self.actions_from(state) if effect in a.effects), None)

    def action_into(self, state: str, tag: str) -> ActionSpec | None:
        """The action leaving `state` for a state tagged `tag` (e.g. the one that ends a
        case as `outcome:terminated`)."""
        return next((a for a in self.actions_from(state) if self.has_tag(a.to, tag)), None)

    def action_tag_values(self, action: ActionSpec, prefix: str) -> list[str]:
        return [t.split(":", 1)[1] for t in action.tags if t.startswith(prefix + ":")]

    def action_with_payload(self, state: str, payload: str) -> ActionSpec | None:
        return next((a for a in self.actions_from(state) if a.payload == payload), None)

    # Questions about states ---------------------------------------------------------------

    def is_finished(self, state: str) -> bool:
        return self.states[state].finished

    def has_tag(self, state: str, tag: str) -> bool:
        spec = self.states.get(state)
        return spec is not None and tag in spec.tags

    def tagged(self, tag: str) -> list[str]:
        """The states carrying `tag`, in definition order."""
        return [name for name, spec in self.states.items() if tag in spec.tags]

    def tag_values(self, state: str, prefix: str) -> list[str]:
        """The parameters of `prefix:<value>` tags on `state` (`post:result` → `result`)."""
        spec = self.states.get(state)
        if spec is None:
            return []
        return [t.split(":", 1)[1] for t in spec.tags if t.startswith(prefix + ":")]

    def label(self, state: str, category: str = "") -> str:
        spec = self.states.get(state)
        if spec is None:
            return state
        return spec.labels.get(category, spec.label)

    def action_label(self, action: ActionSpec, category: str = "") -> str:
        return action.labels.get(category, action.label)


@dataclass(frozen=True)
class Vocabulary:
    """What one kind of process knows: the roles and sides that may act, the state tags,
    the pause reasons, the payload schemas and the effects. `staff_roles` need a side;
    `parties` (the applicant, the system) do not."""

    kind: str
    staff_roles: frozenset[str]
    parties: frozenset[str]
    scopes: frozenset[str]
    tags: frozenset[str]
    payloads: Registry[type[BaseModel]]
    effects: Registry[Any]
    # Tags with a parameter (`post:result`): the prefix and its allowed values.
    tag_params: dict[str, frozenset[str]] = field(default_factory=dict)
    # Tags of actions, all with a parameter (`rate:application`).
    action_tag_params: dict[str, frozenset[str]] = field(default_factory=dict)
    pause_reasons: frozenset[str] = frozenset()
    codes: frozenset[str] | None = None
    # Checks of this kind's own (e.g. every state with an effect's tag exists).
    check: Callable[[Definition, ProblemList], None] | None = None

    def knows_tag(self, tag: str) -> bool:
        prefix, sep, value = tag.partition(":")
        if not sep:
            return tag in self.tags
        return value in self.tag_params.get(prefix, frozenset())

    def knows_action_tag(self, tag: str) -> bool:
        prefix, _, value = tag.partition(":")
        return value in self.action_tag_params.get(prefix, frozenset())


def validate_definition(raw: object, vocabulary: Vocabulary) -> Definition:
    """Parse and check a definition against `vocabulary`; raise RuleViolation listing every
    problem (code `workflow_invalid`)."""
    problems = ProblemList()
    try:
        definition = Definition.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            problems.add(err["msg"], field=".".join(str(p) for p in err["loc"]))
        problems.raise_if_any("workflow_invalid", "流程定义格式错误")
        raise AssertionError("unreachable") from exc
    _check_names(definition, vocabulary, problems)
    for index, action in enumerate(definition.actions):
        _check_action(definition, vocabulary, action, f"actions[{index}]({action.name})", problems)
    pairs = [(a.name, s) for a in definition.actions for s in a.from_]
    if len(set(pairs)) != len(pairs):
        problems.add("同一状态下有重名操作", field="actions")
    if not any(s.finished for s in definition.states.values()):
        problems.add("至少需要一个办结状态（finished）", field="states")
    if definition.initial in definition.states and not problems:
        _check_graph(definition, problems)
    if vocabulary.check is not None and not problems:
        vocabulary.check(definition, problems)
    problems.raise_if_any("workflow_invalid", f"流程定义 {definition.code} 有误")
    return definition


def _check_names(definition: Definition, vocabulary: Vocabulary, problems: ProblemList) -> None:
    if definition.kind != vocabulary.kind:
        problems.add(f"流程类别应为 {vocabulary.kind}，不是 {definition.kind}", field="kind")
    if vocabulary.codes is not None and definition.code not in vocabulary.codes:
        problems.add(f"未知的流程代码：{definition.code}", field="code")
    if definition.initial not in definition.states:
        problems.add(f"初始状态 {definition.initial} 未定义", field="initial")
    for name, spec in definition.states.items():
        for tag in spec.tags:
            if not vocabulary.knows_tag(tag):
                problems.add(f"未知的状态标签：{tag}", field=f"states.{name}.tags")


def _check_action(
    definition: Definition,
    vocabulary: Vocabulary,
    action: ActionSpec,
    where: str,
    problems: ProblemList,
) -> None:
    states = definition.states
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
        if who.role in vocabulary.staff_roles:
            if who.scope not in vocabulary.scopes:
                problems.add(
                    f"角色 {who.role} 须指明代表哪一方（{'、'.join(sorted(vocabulary.scopes))}）",
                    field=where,
                )
        elif who.role in vocabulary.parties:
            if who.scope is not None:
                problems.add(f"{who.role} 不代表任何一方，不能指明 scope", field=where)
        else:
            problems.add(f"未知角色：{who.role}", field=where)
    if action.clock is not None:
        kind, _, reason = action.clock.partition(":")
        if (
            kind not in CLOCK_KINDS
            or ((kind == "pause") != bool(reason))
            or (reason and reason not in vocabulary.pause_reasons)
        ):
            problems.add(f"未知的计时操作：{action.clock}", field=where)
    if action.payload is not None and action.payload not in vocabulary.payloads:
        problems.add(f"未知的操作数据格式：{action.payload}", field=where)
    for effect in action.effects:
        if effect not in vocabulary.effects:
            problems.add(f"未知的操作效果：{effect}", field=where)
    for tag in action.tags:
        if not vocabulary.knows_action_tag(tag):
            problems.add(f"未知的操作标签：{tag}", field=where)
    if len(set(action.effects)) != len(action.effects):
        problems.add("操作效果重复", field=where)


def _check_graph(definition: Definition, problems: ProblemList) -> None:
    seen = {definition.initial}
    queue = deque([definition.initial])
    while queue:
        for action in definition.actions_from(queue.popleft()):
            if action.to not in seen:
                seen.add(action.to)
                queue.append(action.to)
    for name, spec in definition.states.items():
        if name not in seen:
            problems.add(f"状态 {name} 不可达", field=f"states.{name}")
        if not spec.finished and not definition.actions_from(name):
            problems.add(f"状态 {name} 既非办结状态又没有后续操作", field=f"states.{name}")


def checksum(raw: object) -> str:
    """The digest a stored definition is known by: its canonical JSON."""
    return hashlib.sha256(json.dumps(raw, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def read_file(path: Path) -> dict[str, Any]:
    """A definition file as data; refused with a clear message if it is not there."""
    if not path.exists():
        raise RuleViolation("workflow_missing", f"没有流程定义 {path.stem}")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


_PARSED: dict[str, Definition] = {}


class Stored(Protocol):
    """A stored definition row (`core.models.StoredDefinition`): its checksum and JSON."""

    checksum: str
    definition: Any


def parse_stored(stored: Stored) -> Definition:
    """The parsed form of a stored definition, cached by its checksum: stored definitions
    never change, so each is parsed once per process. Its JSON is read only then, so a
    listing may defer that column (`cases.selectors.listing_rows`)."""
    definition = _PARSED.get(stored.checksum)
    if definition is None:
        definition = _PARSED[stored.checksum] = Definition.model_validate(stored.definition)
    return definition
