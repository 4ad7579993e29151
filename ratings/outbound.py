"""Ratings between nodes, the sending half: the envelopes a rating sends and their
schemas. A rating given on the node where the citizen was served reaches the node of the
organisation that did the rated part (the handling half of a two-node case), which stores
it and opens the rectification there (谁办理、谁负责); when the fix is done, the rated node
tells the receiving one, which asks the citizen to rate it. Each envelope is written in
the transaction of what it reports (federation outbox). The evaluator travels only as the
masked label; the account stays on the sending node. The receiving half is
`ratings/inbound.py`.
"""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

from federation import services
from ratings.models import Rating

GIVEN = "rating.given"
FIXED = "rating.fixed"


class RatingGiven(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uid: uuid.UUID
    subject_kind: str = Field(max_length=16)
    reference: str = Field(max_length=40)
    event: str = Field(max_length=24)
    round: int = Field(ge=1, le=2)
    level: int = Field(ge=1, le=5)
    channel: str = Field(max_length=16)
    option_set: int = Field(ge=1)
    options: list[str] = Field(default_factory=list, max_length=20)
    text: str = Field(default="", max_length=500)
    organisation: str = Field(min_length=18, max_length=18)
    item: str = Field(default="", max_length=64)
    window: str = Field(default="", max_length=64)
    service_name: str = Field(max_length=200)
    served_at: dt.datetime
    evaluator_label: str = Field(default="", max_length=64)


def send_rating(rating: Rating) -> None:
    """Send a rating of another node's organisation to that node (in this transaction)."""
    services.send(
        rating.organisation.node,
        GIVEN,
        {
            "uid": str(rating.uid),
            "subject_kind": rating.subject_kind,
            "reference": rating.reference,
            "event": rating.event,
            "round": rating.round,
            "level": rating.level,
            "channel": rating.channel,
            "option_set": rating.option_set.version,
            "options": list(rating.options),
            "text": rating.text,
            "organisation": rating.organisation.uscc,
            "item": rating.item.code if rating.item_id else "",  # type: ignore[union-attr]
            "window": rating.window,
            "service_name": rating.service_name,
            "served_at": rating.served_at.isoformat(),
            "evaluator_label": rating.evaluator_label,
        },
    )


class RatingFixed(BaseModel):
    """The organisation rated has fixed what the bad rating `uid` was about."""

    model_config = ConfigDict(extra="forbid")

    uid: uuid.UUID
    measures: str = Field(default="", max_length=2000)


def send_fixed(rating: Rating, measures: str) -> None:
    """Tell the node where `rating` was given that its fix is done, so that it asks the
    citizen to rate the fix (in the rectification's transaction)."""
    services.send(rating.node, FIXED, {"uid": str(rating.uid), "measures": measures[:2000]})
