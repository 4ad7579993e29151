"""Ratings between nodes, the receiving half: the handlers of `rating.given` and
`rating.fixed`, registered in `RatingsConfig.ready()`, calling the ratings services. The
federation ignores a second copy of an envelope; the handler of `rating.given` also ignores
a rating whose `uid` it already holds, so the effect is exactly once whatever the path.
"""

from __future__ import annotations

from django.utils import timezone

from accounts.services import notify
from catalog.models import ServiceItem
from core.actors import NodeActor
from core.exceptions import RuleViolation
from core.models import Organisation
from federation import registry
from federation.registry import Message
from ratings.models import Channel, OptionSet, RatedService, Rating
from ratings.outbound import FIXED, GIVEN, RatingFixed, RatingGiven
from ratings.services import _store, after_rating


def _on_given(message: Message, payload: RatingGiven) -> None:
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


def _on_fixed(message: Message, payload: RatingFixed) -> None:
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
