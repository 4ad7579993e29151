"""The engine that moves any process through its workflow definition (core/workflow.py).

A kind of process — cases, 12345 tickets, rectifications of bad ratings, sharing requests —
is a `Process` subclass in the app that owns it: its model (which inherits
`core.models.ProcessFields` and has a `workflow` foreign key to its own
`StoredDefinition` table), its `Vocabulary`, the folder of its definition files, and the
few answers only it knows: who may act for which side, the clock's limit and calendar,
how a timeline row is written, and what follows a change (a notification, an envelope).

`Process.act` is the whole of a transition, in one transaction:

1. lock the row and find the action in the pinned definition (404 unknown, 409 not now);
2. authorise the actor (403), require the note, parse the payload with its schema (422);
3. enter the new state: its own deadline, the effects that run *before* the change;
4. the clock (start, pause, resume, stop) and the due date, the warning, the outcome;
5. a conditional UPDATE on `row_version` — of two people acting at once, exactly one wins;
6. the timeline row, then the effects that run *after* the change, then `after()`.

Effects are named in the definition and registered by the app in `AppConfig.ready()`; a
definition naming an effect nobody registered is refused when it is loaded.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.utils import timezone
from pydantic import BaseModel, ValidationError

from core import clock
from core.actors import Actor, actor_label, user_of
from core.exceptions import ProblemList, RuleViolation
from core.models import (
    ClockState,
    DeadlineWarning,
    Organisation,
    ProcessEvent,
    ProcessFields,
    StoredDefinition,
)
from core.registry import Registry
from core.workflow import (
    ActionSpec,
    Definition,
    Vocabulary,
    checksum,
    parse_stored,
    read_file,
    validate_definition,
)

P = TypeVar("P", bound=ProcessFields)

# The fields the engine itself changes on every transition.
ENGINE_FIELDS = [
    "state",
    "state_due_date",
    "started_on",
    "started_at",
    "due_date",
    "due_at",
    "due_provisional",
    "paused_days",
    "clock_state",
    "warning",
    "closed_at",
    "outcome",
]


@dataclass
class Transition(Generic[P]):
    """One action being taken: what effects see and may add to."""

    process: P
    definition: Definition
    action: ActionSpec
    actor: Actor
    organisation: Organisation | None
    note: str
    payload: BaseModel | None
    from_state: str
    today: dt.date
    node: str = ""
    # Model fields the effects changed, saved with the state.
    changed: set[str] = field(default_factory=set)
    # Plain data for the timeline row.
    event_data: dict[str, Any] = field(default_factory=dict)
    event: Any = None
    # What effects did that later steps ask about ("forwarded", …).
    done: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Effect:
    """Code an action runs, by name. `after` effects run once the state has changed and its
    timeline row is written (to start follow-up work, to send an envelope); the others run
    before, and may refuse the action or change the process with it."""

    run: Callable[[Transition[Any]], None]
    after: bool = False


def effects_registry(kind: str) -> Registry[Effect]:
    return Registry(f"{kind} effect")


def payloads_registry(kind: str) -> Registry[type[BaseModel]]:
    return Registry(f"{kind} payload")


class Process(ABC, Generic[P]):
    """One kind of process and its engine. Subclasses set the class attributes and answer
    `authorise`, `limit` and `division`; the rest has working defaults."""

    # Concrete models (abstract bases have no manager, hence `Any`): the process model
    # (inheriting ProcessFields), its StoredDefinition, ProcessEvent and ProcessPause tables.
    model: ClassVar[type[Any]]
    definition_model: ClassVar[type[Any]]
    event_model: ClassVar[type[Any]]
    event_owner: ClassVar[str]
    pause_model: ClassVar[type[Any] | None] = None
    pause_owner: ClassVar[str] = ""
    vocabulary: ClassVar[Vocabulary]
    definitions_dir: ClassVar[Path]
    # The division whose calendar counts the days, as a lookup path from the model (for
    # the set-based warning refresh).
    division_path: ClassVar[str]
    # What a person calls one such process (办件, 工单 …), for messages.
    noun: ClassVar[str] = ""
    # The refusal when someone else changed the process first: code and message.
    conflict: ClassVar[tuple[str, str]] = ("process_conflict", "已被他人处理，请刷新后重试")

    # What only the kind knows --------------------------------------------------------------

    @abstractmethod
    def authorise(self, process: P, action: ActionSpec, actor: Actor) -> Organisation | None:
        """The organisation `actor` acts for in taking `action` (None for a party such as
        the applicant or the system); raise RuleViolation (403) if they may not."""

    @abstractmethod
    def limit(self, process: P) -> clock.Limit:
        """How long the process may take once its clock starts."""

    @abstractmethod
    def division(self, process: P) -> str:
        """The division code whose working-day calendar counts this process's days."""

    def category(self, process: P) -> str:
        """The item category whose labels apply (empty: the plain labels)."""
        return ""

    def after(self, transition: Transition[P]) -> None:
        """What follows every committed change (inside its transaction): announce it."""

    def today(self) -> dt.date:
        """The day the clock counts from (the node's local date)."""
        return timezone.localdate()

    # Definitions --------------------------------------------------------------------------

    def validate(self, raw: object) -> Definition:
        return validate_definition(raw, self.vocabulary)

    @transaction.atomic
    def store(self, raw: object) -> StoredDefinition:
        """Store a validated definition, once. The same code and version with other content
        is refused: a changed workflow is a new version, so running processes keep theirs."""
        definition = self.validate(raw)
        digest = checksum(raw)
        stored, created = self.definition_model.objects.get_or_create(
            code=definition.code,
            version=definition.version,
            defaults={**self.stored_fields(definition), "definition": raw, "checksum": digest},
        )
        if not created and stored.checksum != digest:
            raise RuleViolation(
                "workflow_version_changed",
                f"流程 {definition.code} 第 {definition.version} 版已载入且内容不同，请提高版本号",
            )
        return stored

    def stored_fields(self, definition: Definition) -> dict[str, Any]:
        return {"name": definition.name}

    def current(self, code: str) -> StoredDefinition:
        """The definition new processes of `code` start under: the file shipped with this
        release (validated once per process), stored on first use."""
        if code not in self._files:
            raise RuleViolation("workflow_missing", f"没有流程定义 {code}")
        raw, definition, digest = self._files[code]
        stored = self.definition_model.objects.filter(code=code, version=definition.version).first()
        if stored is None or stored.checksum != digest:
            stored = self.store(raw)
        return stored

    @cached_property
    def _files(self) -> dict[str, tuple[dict[str, Any], Definition, str]]:
        """The shipped definition files, read, validated and digested once per process."""
        files = {}
        for path in sorted(self.definitions_dir.glob("*.json")):
            raw = read_file(path)
            definition = self.validate(raw)
            files[definition.code] = (raw, definition, checksum(raw))
        return files

    def codes(self) -> list[str]:
        return list(self._files)

    def shipped(self) -> list[Definition]:
        """Every definition shipped with this release, validated."""
        return [definition for _, definition, _ in self._files.values()]

    def parsed(self, stored: StoredDefinition) -> Definition:
        return parse_stored(stored)

    def definition_of(self, process: P) -> Definition:
        return self.parsed(process.workflow)  # type: ignore[attr-defined]

    def state_label(self, process: P, state: str | None = None) -> str:
        return self.definition_of(process).label(state or process.state, self.category(process))

    # The engine ---------------------------------------------------------------------------

    def lock(self, process: P) -> P:
        locked: P = self.model.objects.select_for_update().get(pk=process.pk)
        return locked

    def spec_for(self, definition: Definition, process: P, name: str) -> ActionSpec:
        spec = definition.action(name, process.state)
        if spec is None:
            known = definition.any_action(name)
            if known is not None:
                raise RuleViolation(
                    "action_not_allowed_in_state",
                    f"{self.noun}当前状态为“{definition.label(process.state, self.category(process))}”，"
                    f"不能{definition.action_label(known, self.category(process))}",
                    status=409,
                )
            raise RuleViolation("action_unknown", f"未知的操作：{name}", status=404)
        return spec

    def allowed(self, process: P, actor: Actor) -> list[ActionSpec]:
        """The actions of the current state `actor` may take, in definition order."""
        out = []
        for spec in self.definition_of(process).actions_from(process.state):
            try:
                self.authorise(process, spec, actor)
            except RuleViolation:
                continue
            out.append(spec)
        return out

    def parse_payload(self, spec: ActionSpec, data: dict[str, Any] | None) -> BaseModel | None:
        """The action's input, checked against its schema. A field may name the stable
        `error_code` and Chinese `error` it is refused with (json_schema_extra)."""
        data = dict(data or {})
        if spec.payload is None:
            if data:
                raise RuleViolation(
                    "payload_unexpected", f"“{spec.label}”不需要附加数据：{'、'.join(sorted(data))}"
                )
            return None
        schema = self.vocabulary.payloads[spec.payload]
        try:
            return schema.model_validate(data)
        except ValidationError as exc:
            problems = ProblemList()
            codes = []
            for err in exc.errors():
                name = str(err["loc"][0]) if err["loc"] else ""
                info = schema.model_fields.get(name)
                extra = info.json_schema_extra if info is not None else None
                extra = extra if isinstance(extra, dict) else {}
                codes.append(str(extra.get("error_code", "payload_invalid")))
                title = (info.title or info.description or name) if info is not None else name
                reason = str(extra.get("error") or f"{title}格式不对")
                problems.add(reason, field=".".join(str(p) for p in err["loc"]))
            code = codes[0] if len(set(codes)) == 1 else "payload_invalid"
            raise RuleViolation(
                code, problems.problems[0].reason, problems=problems.problems
            ) from exc

    @transaction.atomic
    def act(
        self,
        process: P,
        name: str,
        *,
        actor: Actor,
        note: str = "",
        data: dict[str, Any] | None = None,
    ) -> P:
        """Take action `name` on `process` as `actor` (see the module docstring)."""
        process = self.lock(process)
        definition = self.definition_of(process)
        spec = self.spec_for(definition, process, name)
        organisation = self.authorise(process, spec, actor)
        return self.transition(
            process, definition, spec, actor=actor, organisation=organisation, note=note, data=data
        )

    def transition(
        self,
        process: P,
        definition: Definition,
        spec: ActionSpec,
        *,
        actor: Actor,
        organisation: Organisation | None,
        note: str,
        data: dict[str, Any] | None,
        node: str = "",
    ) -> P:
        """Steps 2–6 of `act` on a locked, authorised process; callers that authorise
        differently (an action reported by another node) call it directly."""
        if spec.note_required and not note.strip():
            raise RuleViolation(
                "note_required",
                f"“{definition.action_label(spec, self.category(process))}”须填写说明",
                field="note",
            )
        payload = self.parse_payload(spec, data)
        today = self.today()
        t: Transition[P] = Transition(
            process=process,
            definition=definition,
            action=spec,
            actor=actor,
            organisation=organisation,
            note=note,
            payload=payload,
            from_state=process.state,
            today=today,
            node=node,
        )
        before = process.row_version
        process.state = spec.to
        state_days = definition.states[spec.to].deadline_days
        process.state_due_date = (
            self._days_after(process, today, state_days) if state_days is not None else None
        )
        effects = [self.vocabulary.effects[name] for name in spec.effects]
        for effect in effects:
            if not effect.after:
                effect.run(t)
        self._apply_clock(t)
        if definition.is_finished(spec.to) and process.closed_at is None:
            process.closed_at = timezone.now()
        outcomes = definition.tag_values(spec.to, "outcome")
        if outcomes:
            process.outcome = outcomes[0]
        process.warning = self.warning(process, today)
        fields = [*ENGINE_FIELDS, *sorted(t.changed - set(ENGINE_FIELDS))]
        updated = self.model.objects.filter(pk=process.pk, row_version=before).update(
            row_version=before + 1, **{f: getattr(process, f) for f in fields}
        )
        if updated != 1:
            raise RuleViolation(*self.conflict, status=409)
        process.row_version = before + 1
        t.event = self.record(t)
        for effect in effects:
            if effect.after:
                effect.run(t)
        self.after(t)
        return process

    # The clock ----------------------------------------------------------------------------

    def _days_after(self, process: P, start: dt.date, days: int) -> dt.date:
        unit = self.limit(process).unit
        if unit == clock.LimitUnit.HOURS:
            unit = clock.LimitUnit.CALENDAR_DAYS
        return clock.after(start, days, unit, self.division(process)).date

    def days_after(self, process: P, start: dt.date, days: int) -> clock.Due:
        """`days` after `start` in the process's unit and on its calendar."""
        return clock.after(start, days, self.limit(process).unit, self.division(process))

    def _apply_clock(self, t: Transition[P]) -> None:
        if not t.action.clock:
            return
        kind, _, reason = t.action.clock.partition(":")
        process = t.process
        if kind == "start":
            process.started_on, process.started_at = t.today, timezone.now()
            process.clock_state = ClockState.RUNNING
        elif kind == "pause":
            self.open_pause(t, reason)
            process.clock_state = ClockState.PAUSED
        else:
            process.paused_days += self.close_pauses(t)
            process.clock_state = ClockState.RUNNING if kind == "resume" else ClockState.STOPPED
        self.set_due(process)

    def set_due(self, process: P) -> None:
        due = clock.due_of(
            started_on=process.started_on,
            started_at=process.started_at,
            limit=self.limit(process),
            paused=process.paused_days,
            division=self.division(process),
        )
        if due is not None:
            process.due_date, process.due_provisional, process.due_at = (
                due.date,
                due.provisional,
                due.at,
            )

    def open_pause(self, t: Transition[P], reason: str) -> None:
        if self.pause_model is None:
            raise RuleViolation("pause_unsupported", "该流程不能暂停计时")
        self.pause_model.objects.create(
            **{self.pause_owner: t.process},
            reason=reason,
            started_on=t.today,
            detail=t.note[:200],
        )

    def close_pauses(self, t: Transition[P]) -> int:
        """End the open pauses today; the paused units they add up to."""
        if self.pause_model is None:
            return 0
        total = 0
        unit = self.limit(t.process).unit
        for pause in self.pause_model.objects.filter(
            **{self.pause_owner: t.process}, ended_on__isnull=True
        ):
            pause.ended_on = t.today
            pause.days = max(
                clock.between(pause.started_on, t.today, unit, self.division(t.process)), 0
            )
            pause.save(update_fields=["ended_on", "days"])
            total += pause.days
        return total

    def warning(self, process: P, today: dt.date) -> str:
        return clock.warning_of(
            due_date=process.due_date,
            due_at=process.due_at,
            running=process.clock_state == ClockState.RUNNING,
            today=today,
            now=timezone.now(),
            division=self.division(process),
            warn_days=settings.DEADLINE_WARNING_DAYS,
            warn_hours=settings.DEADLINE_WARNING_HOURS,
        )

    def refresh_warnings(self, today: dt.date | None = None) -> dict[str, int]:
        """Recompute the yellow/red warning of every process in one pass of set-based
        updates (a handful per province, whatever the number of rows); return how many of
        each there are now."""
        today = today or self.today()
        now = timezone.now()
        rows = self.model.objects
        running = rows.filter(clock_state=ClockState.RUNNING)
        rows.exclude(clock_state=ClockState.RUNNING).exclude(warning=DeadlineWarning.NONE).update(
            warning=DeadlineWarning.NONE
        )
        by_hour = running.filter(due_at__isnull=False)
        soon = now + dt.timedelta(hours=settings.DEADLINE_WARNING_HOURS)
        by_hour.filter(due_at__lt=now).update(warning=DeadlineWarning.RED)
        by_hour.filter(due_at__gte=now, due_at__lte=soon).update(warning=DeadlineWarning.YELLOW)
        by_hour.filter(due_at__gt=soon).update(warning=DeadlineWarning.NONE)
        by_day = running.filter(due_at__isnull=True)
        by_day.filter(due_date__isnull=True).update(warning=DeadlineWarning.NONE)
        by_day.filter(due_date__lt=today).update(warning=DeadlineWarning.RED)
        provinces = (
            by_day.filter(due_date__gte=today)
            .annotate(province=Substr(self.division_path, 1, 2))
            .order_by()
            .values_list("province", flat=True)
            .distinct()
        )
        for province in list(provinces):
            here = by_day.filter(
                due_date__gte=today, **{f"{self.division_path}__startswith": province}
            )
            limit = clock.yellow_before(today, settings.DEADLINE_WARNING_DAYS, province + "0000")
            here.filter(due_date__lt=limit).update(warning=DeadlineWarning.YELLOW)
            here.filter(due_date__gte=limit).update(warning=DeadlineWarning.NONE)
        counts = rows.aggregate(
            yellow=Count("pk", filter=Q(warning=DeadlineWarning.YELLOW)),
            red=Count("pk", filter=Q(warning=DeadlineWarning.RED)),
        )
        return {"yellow": counts["yellow"], "red": counts["red"]}

    # The timeline -------------------------------------------------------------------------

    def record(self, t: Transition[P]) -> ProcessEvent:
        """The timeline row of a transition."""
        return self.record_event(
            t.process,
            actor=t.actor,
            action=t.action.name,
            from_state=t.from_state,
            to_state=t.action.to,
            note=t.note,
            organisation=t.organisation,
            data=t.event_data,
            node=t.node,
        )

    def record_event(
        self,
        process: P,
        *,
        actor: Actor,
        action: str,
        from_state: str = "",
        to_state: str = "",
        note: str = "",
        organisation: Organisation | None = None,
        data: dict[str, Any] | None = None,
        node: str = "",
    ) -> ProcessEvent:
        """Append one timeline row to `process` (a transition, or news that is not one)."""
        return record_event(
            self.event_model,
            {self.event_owner: process},
            actor=actor,
            action=action,
            from_state=from_state,
            to_state=to_state,
            note=note,
            organisation=organisation,
            data=data,
            node=node,
        )


def record_event(
    event_model: type[Any],
    owner: dict[str, Any],
    *,
    actor: Actor,
    action: str,
    from_state: str = "",
    to_state: str = "",
    note: str = "",
    organisation: Organisation | None = None,
    data: dict[str, Any] | None = None,
    node: str = "",
    at: dt.datetime | None = None,
) -> ProcessEvent:
    """Append one row to a timeline table; `owner` names the process (`{"case": case}`).
    `at` back-dates a row copied from another node's timeline."""
    event = event_model.objects.create(
        **owner,
        actor=user_of(actor),
        actor_label=actor_label(actor),
        organisation=organisation,
        action=action,
        from_state=from_state,
        to_state=to_state,
        note=note,
        data=data or {},
        node=node,
    )
    if at is not None:
        event_model.objects.filter(pk=event.pk).update(at=at)
        event.at = at
    return event


def state_choices(process: Process[Any]) -> list[tuple[str, str]]:
    """Every state of the shipped definitions of a kind with its label (the first label
    wins: definitions of one kind agree on the meaning of a state name)."""
    labels: dict[str, str] = {}
    for definition in process.shipped():
        for name, spec in definition.states.items():
            labels.setdefault(name, spec.label)
    return list(labels.items())
