"""Two envelope kinds of the exchange itself: `federation.ping`, a one-way message whose
only effect is its log entry and receipt (to check that a route works, end to end), and
`federation.status`, a question answered with the node's id, time and directory serial."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field

from federation import directory, registry


class Ping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=200)


class StatusQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _pinged(message: registry.Message, payload: Ping) -> None:
    """Nothing to do: the stored envelope and receipt are the effect."""


def _status(message: registry.Message, payload: StatusQuestion) -> dict[str, Any]:
    return {
        "node": settings.NODE_ID,
        "time": directory.utc_text(timezone.now()),
        "directory": directory.current().serial,
    }


def register() -> None:
    registry.register("federation.ping", Ping, _pinged)
    registry.register_query("federation.status", StatusQuestion, _status)
