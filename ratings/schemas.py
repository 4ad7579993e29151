"""The JSON shapes of the ratings API. No schema carries the evaluator."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ninja import Schema
from pydantic import Field

from ratings.engine import PROCESS
from ratings.models import Rectification


class RatingIn(Schema):
    """评价: the case number (or 12345 ticket number) and event, the level 1–5, the
    options of that level, free text, the channel; `follow_up` for the one follow-up."""

    case: str | None = Field(default=None, max_length=40)
    ticket: str | None = Field(default=None, max_length=40)
    event: str = Field(max_length=24)
    level: int
    options: list[str] = Field(default_factory=list, max_length=20)
    text: str = Field(default="", max_length=500)
    channel: str = Field(default="pc", max_length=16)
    follow_up: bool = False


class RatingOut(Schema):
    uid: uuid.UUID
    subject_kind: str
    reference: str
    event: str
    round: int
    level: int
    level_label: str
    bad: bool
    channel: str
    options: list[str]
    text: str
    organisation: str
    created_at: dt.datetime
    rectification: str | None


class OptionOut(Schema):
    code: str
    label: str


class LevelOptionsOut(Schema):
    level: int
    label: str
    bad: bool
    options: list[OptionOut]


class OptionSetOut(Schema):
    version: int
    effective_from: dt.date
    levels: list[LevelOptionsOut]


class StatsRowOut(Schema):
    key: str
    name: str
    counts: dict[str, int]
    total: int
    satisfaction_rate: float | None
    bad: int
    rectified: int
    rectification_rate: float | None
    rectification_days: float | None


class StatsOut(Schema):
    group: str
    rows: list[StatsRowOut]


class RectificationOut(Schema):
    """A rectification as its owner and supervisors see it: the rating's content, never
    the evaluator."""

    number: str
    state: str
    state_label: str
    organisation: str
    service_name: str
    reference: str
    event: str
    level: int
    options: list[str]
    text: str
    due_date: dt.date | None
    warning: str
    classification: str
    callback_by_name: str
    callback_outcome: str
    fix_due_date: dt.date | None
    created_at: dt.datetime
    closed_at: dt.datetime | None
    outcome: str
    actions: list[str]

    @staticmethod
    def resolve_state_label(obj: Rectification) -> str:
        return PROCESS.state_label(obj)

    @staticmethod
    def resolve_organisation(obj: Rectification) -> str:
        return obj.organisation.name

    @staticmethod
    def resolve_service_name(obj: Rectification) -> str:
        return obj.rating.service_name

    @staticmethod
    def resolve_reference(obj: Rectification) -> str:
        return obj.rating.reference

    @staticmethod
    def resolve_event(obj: Rectification) -> str:
        return obj.rating.event

    @staticmethod
    def resolve_level(obj: Rectification) -> int:
        return obj.rating.level

    @staticmethod
    def resolve_options(obj: Rectification) -> list[str]:
        return list(obj.rating.options)

    @staticmethod
    def resolve_text(obj: Rectification) -> str:
        return obj.rating.text

    @staticmethod
    def resolve_actions(obj: Rectification) -> list[str]:
        return list(getattr(obj, "allowed_actions", []))


class ActionIn(Schema):
    note: str = Field(default="", max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict)
