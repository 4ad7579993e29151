"""Ratings between nodes: a rating given on the node where the citizen was served reaches
the node of the organisation that did the rated part (the handling half of a two-node
case), which stores it and opens the rectification there (谁办理、谁负责).

One envelope kind, `rating.given`, written in the rating's transaction (federation
outbox). The federation ignores a second copy of an envelope; the receiver also ignores
a rating whose `uid` it already holds, so the effect is exactly once whatever the path.
The evaluator travels only as the masked label; the account stays on the sending node.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field

from catalog.models import ServiceItem
from core.actors import NodeActor
from core.exceptions import RuleViolation
from core.models import Organisation
from federation import registry, services
from federation.registry import Message
from ratings.models import Channel, OptionSet, RatedService, Rating

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


def _on_given(message: Message, payload: RatingGiven) -> None:
    from ratings.services import _store, after_rating

    if Rating.objects.filter(uid=payload.uid).exists():
        return
    organisation = (
        Organisation.objects.select_related("division").filter(uscc=payload.organisation).first()
    )
    if organisation is None or organisation.node:
        raise RuleViolation(
            "rating_organisation_unknown", f"本节点没有被评价单位 {payload.organisation}"
        )
    if payload.channel not in Channel.values:
        raise RuleViolation("rating_channel_invalid", f"未知的评价渠道：{payload.channel}")
    option_set = (
        OptionSet.objects.filter(version=payload.option_set).first()
        or OptionSet.objects.order_by("-effective_from", "-version").first()
    )
    if option_set is None:
        raise RuleViolation("rating_options_missing", "尚未发布评价选项")
    item = ServiceItem.objects.filter(code=payload.item).first() if payload.item else None
    rated = RatedService(
        reference=payload.reference,
        event=payload.event,
        organisation_id=organisation.pk,
        division=organisation.division.code,
        service_name=payload.service_name,
        rater_user_id=None,
        served_at=payload.served_at,
        item_id=item.pk if item else None,
        window=payload.window,
    )
    rating = _store(
        rated,
        subject_kind=payload.subject_kind,
        round=payload.round,
        level=payload.level,
        channel=payload.channel,
        option_set=option_set,
        options=payload.options,
        text=payload.text,
        evaluator=None,
        evaluator_label=payload.evaluator_label,
        recorded_by=None,
        node=message.sender,
        uid=payload.uid,
    )
    after_rating(rating, actor=NodeActor(message.sender, f"{message.sender} 节点"))


class RatingFixed(BaseModel):
    """The organisation rated has fixed what the bad rating `uid` was about."""

    model_config = ConfigDict(extra="forbid")

    uid: uuid.UUID
    measures: str = Field(default="", max_length=2000)


def send_fixed(rating: Rating, measures: str) -> None:
    """Tell the node where `rating` was given that its fix is done, so that it asks the
    citizen to rate the fix (in the rectification's transaction)."""
    services.send(rating.node, FIXED, {"uid": str(rating.uid), "measures": measures[:2000]})


def _on_fixed(message: Message, payload: RatingFixed) -> None:
    from accounts.services import notify

    rating = (
        Rating.objects.select_related("organisation", "evaluator")
        .filter(uid=payload.uid, organisation__node=message.sender)
        .first()
    )
    if rating is None:
        raise RuleViolation(
            "rating_unknown", f"本节点没有发往 {message.sender} 的评价 {payload.uid}"
        )
    Rating.objects.filter(pk=rating.pk).update(fix_reported_at=timezone.now())
    invitation = getattr(rating, "invitation", None)
    if rating.evaluator is not None and rating.evaluator.is_active:
        notify(
            rating.evaluator,
            title=f"您的差评已整改，请评价整改结果（{rating.service_name[:40]}）",
            body=payload.measures or f"{rating.organisation.name}已完成整改",
            link=f"/ratings/rate/{invitation.token}/" if invitation else "/",
        )


def register() -> None:
    """Called once from `RatingsConfig.ready()`."""
    registry.register(GIVEN, RatingGiven, _on_given)
    registry.register(FIXED, RatingFixed, _on_fixed)
