"""Every change of the ratings app: giving a rating (`rate`), inviting after a rated
event (`invite`), the default rating when none is given in time, opening a rectification
for a bad rating, and the effects the rectification workflow names.

A rating is accepted only from the person who received the service (the subject kind's
resolver says who that is), once per event plus one follow-up, at a level 1–5 with
options of that level from the option set in force. A bad first rating of an
organisation of this node opens a rectification; a rating of an organisation of another
node (the handling half of a two-node case) is sent to it (`ratings/outbound.py`).
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import StaffRole
from accounts.services import notify
from core.actors import Actor, NodeActor, SystemActor
from core.exceptions import ProblemList, RuleViolation
from core.models import AuditEvent, Division, Organisation
from core.personal_data import mask_name
from core.process import Transition
from ratings import engine, outbound, registry
from ratings.models import (
    CITIZEN_CHANNELS,
    STAFF_CHANNELS,
    Channel,
    Classification,
    Invitation,
    LedgerEntry,
    OptionSet,
    RatedService,
    Rating,
    RatingOption,
    Rectification,
    RectificationDeadline,
)
from ratings.payloads import CallbackIn, DeadlineFixIn

SYSTEM = SystemActor("好差评")


@dataclass
class RatingIn:
    """What a rating says: which event of which subject, the level, options and text."""

    subject_kind: str
    reference: str
    event: str
    level: int
    options: list[str] = field(default_factory=list)
    text: str = ""
    channel: str = Channel.PC
    follow_up: bool = False


# Reading what is in force ---------------------------------------------------------------------


def option_set_in_force(today: dt.date | None = None) -> OptionSet:
    today = today or timezone.localdate()
    found = (
        OptionSet.objects.filter(effective_from__lte=today)
        .order_by("-effective_from", "-version")
        .first()
    )
    if found is None:
        raise RuleViolation("rating_options_missing", "尚未发布评价选项", status=409)
    return found


def rectification_days(division_code: str) -> int:
    """The working days a rectification in `division_code`'s province may take."""
    rows = {
        r.province.code if r.province else "": r.working_days
        for r in RectificationDeadline.objects.select_related("province")
    }
    return rows.get(division_code[:2] + "0000") or rows.get("") or 5


def evaluator_label(user: User | None) -> str:
    if user is None:
        return ""
    person = getattr(user, "person", None)
    if person is not None:
        return mask_name(person.name)
    return mask_name(user.get_full_name() or user.get_username())


# Rating ------------------------------------------------------------------------------------


def _check(
    data: RatingIn,
    rated: RatedService,
    actor: Actor,
    option_set: OptionSet,
    invitation: Invitation | None = None,
) -> None:
    problems = ProblemList()
    codes: list[str] = []
    if data.level not in (1, 2, 3, 4, 5):
        codes.append("rating_level_invalid")
        problems.add("评价等级应为 1–5（非常不满意至非常满意）", field="level")
    if data.channel not in Channel.values or data.channel == Channel.DEFAULT:
        codes.append("rating_channel_invalid")
        problems.add(f"未知的评价渠道：{data.channel}", field="channel")
    if len(data.text) > 500:
        codes.append("rating_text_too_long")
        problems.add("评价内容不超过 500 字", field="text")
    if data.level in (1, 2, 3, 4, 5):
        offered = set(
            RatingOption.objects.filter(option_set=option_set, level=data.level).values_list(
                "code", flat=True
            )
        )
        foreign = [o for o in data.options if o not in offered]
        if foreign or len(set(data.options)) != len(data.options):
            codes.append("rating_options_invalid")
            problems.add(
                f"评价选项不属于所选等级：{'、'.join(foreign) or '重复的选项'}", field="options"
            )
    if problems:
        code = codes[0] if len(set(codes)) == 1 else "rating_invalid"
        raise RuleViolation(code, problems.problems[0].reason, problems=problems.problems)
    # Who may rate: the person who received the service — their account, or, for one served
    # at a window without an account, the rating code on the receipt they were handed; for
    # a phone caller without an account, staff record the rating by phone or SMS.
    if _by_receipt(data, rated, invitation):
        if data.channel not in CITIZEN_CHANNELS:
            raise RuleViolation(
                "rating_channel_invalid",
                "本人评价请通过网上、移动端、二维码或平板",
                field="channel",
            )
        return
    if isinstance(actor, User) and rated.may_rate(actor.pk):
        if data.channel not in CITIZEN_CHANNELS:
            raise RuleViolation(
                "rating_channel_invalid",
                "本人评价请通过网上、移动端、二维码或平板",
                field="channel",
            )
        return
    if (
        rated.rater_user_id is None
        and not rated.rater_user_ids
        and isinstance(actor, User)
        and StaffRole.objects.filter(user=actor).exists()
        and data.channel in STAFF_CHANNELS
    ):
        return
    raise RuleViolation(
        "rating_not_recipient", "只有接受该项服务的本人才能评价", status=403, field="reference"
    )


def _by_receipt(data: RatingIn, rated: RatedService, invitation: Invitation | None) -> bool:
    """Whether `invitation` — opened by its rating code — is the receipt of this event for
    someone without an account."""
    return (
        invitation is not None
        and invitation.rater_id is None
        and rated.rater_user_id is None
        and not rated.rater_user_ids
        and (invitation.subject_kind, invitation.reference, invitation.event)
        == (data.subject_kind, rated.reference, data.event)
    )


@transaction.atomic
def rate(data: RatingIn, *, actor: Actor, invitation: Invitation | None = None) -> Rating:
    """Rate one service event (一次一评、一事一评), or add the one follow-up rating.
    `invitation` is the one whose rating code opened the page (the QR code on a receipt)."""
    rated = registry.resolve(data.subject_kind, data.reference, data.event)
    option_set = option_set_in_force()
    _check(data, rated, actor, option_set, invitation)
    existing = list(
        Rating.objects.select_for_update()
        .filter(subject_kind=data.subject_kind, reference=rated.reference, event=data.event)
        .order_by("round")
    )
    if not data.follow_up and existing:
        raise RuleViolation(
            "rating_already_given", "该服务环节已评价，如需补充请追加评价", status=409
        )
    if data.follow_up:
        if not existing:
            raise RuleViolation("rating_follow_up_without_first", "请先作首次评价", status=409)
        if len(existing) > 1:
            raise RuleViolation(
                "rating_follow_up_already_given", "该服务环节已追加评价，不能再次评价", status=409
            )
        first = existing[0]
        rectification = Rectification.objects.filter(rating=first).first()
        # A bad rating of another node's organisation waits for `rating.fixed` from there.
        elsewhere = first.bad and first.organisation.node and first.fix_reported_at is None
        if elsewhere or (
            rectification is not None
            and not engine.PROCESS.definition_of(rectification).has_tag(
                rectification.state, "awaiting_rerating"
            )
        ):
            raise RuleViolation(
                "rating_follow_up_before_fix", "差评正在整改，整改完成后再评价整改结果", status=409
            )
    user = actor if isinstance(actor, User) and rated.may_rate(actor.pk) else None
    rating = _store(
        rated,
        subject_kind=data.subject_kind,
        round=2 if data.follow_up else 1,
        level=data.level,
        channel=data.channel,
        option_set=option_set,
        options=data.options,
        text=data.text.strip(),
        evaluator=user or (existing[0].evaluator if existing else None),
        evaluator_label=None if user else rated.rater_label,
        recorded_by=(
            None
            if user or _by_receipt(data, rated, invitation)
            else actor
            if isinstance(actor, User)
            else None
        ),
    )
    Invitation.objects.filter(
        subject_kind=data.subject_kind, reference=rated.reference, event=data.event, rating=None
    ).update(rating=rating)
    after_rating(rating, actor=actor)
    return rating


def _store(rated: RatedService, **fields: Any) -> Rating:
    organisation = Organisation.objects.select_related("division").get(pk=rated.organisation_id)
    evaluator = fields.get("evaluator")
    try:
        with transaction.atomic():
            rating = Rating(
                reference=rated.reference,
                event=rated.event,
                organisation=organisation,
                division=Division.objects.get(code=rated.division),
                item_id=rated.item_id,
                window=rated.window,
                clerk_id=rated.clerk_id,
                service_name=rated.service_name[:200],
                served_at=rated.served_at,
                evaluator_label=fields.pop("evaluator_label", None) or evaluator_label(evaluator),
                uid=fields.pop("uid", None) or uuid.uuid4(),
                **fields,
            )
            rating.save()
    except IntegrityError as exc:
        raise RuleViolation(
            "rating_already_given", "该服务环节已评价，如需补充请追加评价", status=409
        ) from exc
    AuditEvent.objects.create(
        actor=evaluator if isinstance(evaluator, User) else None,
        actor_label="评价人" if evaluator else "系统",
        action="rate",
        object_type="rating",
        object_id=str(rating.uid),
        summary=f"{rating.reference} {rating.event} {rating.get_level_display()}",
    )
    return rating


def after_rating(rating: Rating, *, actor: Actor) -> None:
    """What a new rating sets off: a bad first rating opens the rectification of a local
    organisation; a follow-up rates the fix; a rating of another node's organisation is
    sent there."""
    if rating.organisation.node:
        outbound.send_rating(rating)
        return
    if rating.round == 1 and rating.bad:
        open_rectification(rating, actor=actor)
    elif rating.round == 2:
        rectification = Rectification.objects.filter(rating__reference=rating.reference).filter(
            rating__subject_kind=rating.subject_kind, rating__event=rating.event
        )
        found = rectification.first()
        if found is not None and engine.PROCESS.definition_of(found).has_tag(
            found.state, "awaiting_rerating"
        ):
            rate_fix(found, rating, actor=actor)


def rate_fix(rectification: Rectification, rating: Rating, *, actor: Actor) -> Rectification:
    """The citizen's rating of the fix closes the rectification. The rating service has
    checked the rater; a rating relayed by another node acts as that node."""
    process = engine.PROCESS
    locked = process.lock(rectification)
    definition = process.definition_of(locked)
    spec = process.spec_for(definition, locked, "rate_fix")
    if not isinstance(actor, (User, NodeActor)):
        actor = SYSTEM
    return process.transition(
        locked,
        definition,
        spec,
        actor=actor,
        organisation=None,
        note=f"群众对整改结果的评价：{rating.get_level_display()}",
        data=None,
    )


def _next_number(today: dt.date) -> str:
    prefix = f"ZG-{settings.NODE_ID}-{today:%Y%m%d}-"
    count = Rectification.objects.filter(number__startswith=prefix).count()
    return f"{prefix}{count + 1:04d}"


@transaction.atomic
def open_rectification(rating: Rating, *, actor: Actor) -> Rectification:
    """差评整改: opened for a bad rating, owned by the organisation that did the rated part
    (谁办理、谁负责), due in the province's working days."""
    if not rating.bad or rating.round != 1:
        raise RuleViolation("rectification_not_needed", "只有首次差评需要整改")
    organisation = rating.organisation
    rectification = Rectification.objects.create(
        number=_next_number(timezone.localdate()),
        workflow=engine.current_definition(),
        rating=rating,
        organisation=organisation,
        limit_days=rectification_days(organisation.division.code),
        state="new",
    )
    rectification = engine.take_action(rectification, "open", actor=SYSTEM)
    for role in StaffRole.objects.filter(
        organisation=organisation, role__in=("reviewer", "approver", "org_admin")
    ).select_related("user"):
        notify(
            role.user,
            title=f"差评待整改 {rectification.number}",
            body=f"{rating.service_name}：{rating.get_level_display()}，请于 {rectification.due_date} 前回访整改",
            link=f"/ratings/rectifications/{rectification.number}/",
        )
    return rectification


# Invitations and the default rating --------------------------------------------------------


@transaction.atomic
def invite(
    subject_kind: str, reference: str, event: str, *, rater: User | None, service_name: str
) -> Invitation | None:
    """Ask `rater` to rate an event that has just happened: an invitation with a rating
    code (the page and the QR code open it) and a notification. Once per event. Without
    an account (served at a window) the code on the hand-over receipt is the invitation."""
    if Invitation.objects.filter(
        subject_kind=subject_kind, reference=reference, event=event
    ).exists():
        return None
    invitation = Invitation.objects.create(
        subject_kind=subject_kind,
        reference=reference,
        event=event,
        rater=rater,
        token=secrets.token_urlsafe(12),
        service_name=service_name[:200],
        due_at=timezone.now() + dt.timedelta(days=settings.RATINGS_WINDOW_DAYS),
    )
    if rater is None:
        return invitation
    notify(
        rater,
        title=f"请您评价：{service_name[:60]}",
        body=f"请在 {timezone.localtime(invitation.due_at):%Y-%m-%d} 前评价，逾期视为“满意”。",
        link=f"/ratings/rate/{invitation.token}/",
    )
    return invitation


def give_default_ratings(now: dt.datetime | None = None) -> int:
    """系统默认评价: every invitation past its date without a rating gets the default
    level (settings.RATINGS_DEFAULT_LEVEL) through the channel `default`. Each in its own
    transaction, so one refusal (the event no longer resolvable) does not stop the rest."""
    now = now or timezone.now()
    given = 0
    for invitation in Invitation.objects.filter(due_at__lt=now, rating=None).order_by("pk")[:500]:
        try:
            with transaction.atomic():
                rated = registry.resolve(
                    invitation.subject_kind, invitation.reference, invitation.event
                )
                if Rating.objects.filter(
                    subject_kind=invitation.subject_kind,
                    reference=invitation.reference,
                    event=invitation.event,
                ).exists():
                    continue
                rating = _store(
                    rated,
                    subject_kind=invitation.subject_kind,
                    round=1,
                    level=settings.RATINGS_DEFAULT_LEVEL,
                    channel=Channel.DEFAULT,
                    option_set=option_set_in_force(),
                    options=[],
                    text="",
                    evaluator=invitation.rater,
                    evaluator_label=None if invitation.rater else rated.rater_label,
                    recorded_by=None,
                )
                Invitation.objects.filter(pk=invitation.pk).update(rating=rating)
                after_rating(rating, actor=SYSTEM)
                given += 1
        except RuleViolation:
            continue
    return given


def close_unrated(today: dt.date | None = None) -> int:
    """Rectifications whose citizen did not rate the fix within the state's days close."""
    today = today or timezone.localdate()
    closed = 0
    for rectification in Rectification.objects.filter(
        state__in=engine.PROCESS.shipped()[0].tagged("awaiting_rerating"),
        state_due_date__lt=today,
        closed_at=None,
    ):
        with transaction.atomic():
            engine.take_action(rectification, "close", actor=SYSTEM, note="群众逾期未评价整改结果")
            closed += 1
    return closed


# Effects of the rectification workflow ------------------------------------------------------


def record_callback(t: Transition[Rectification]) -> None:
    """回访: the named person who called the evaluator back, and the outcome."""
    assert isinstance(t.payload, CallbackIn)
    r = t.process
    r.callback_by = t.actor if isinstance(t.actor, User) else None
    r.callback_by_name = t.payload.caller_name
    r.callback_outcome = t.payload.outcome
    r.callback_note = t.note[:500]
    r.callback_at = timezone.now()
    t.changed |= {
        "callback_by",
        "callback_by_name",
        "callback_outcome",
        "callback_note",
        "callback_at",
    }
    t.event_data["callback_outcome"] = t.payload.outcome.label


def _classify(t: Transition[Rectification], classification: str, *, fixed: bool) -> None:
    r = t.process
    if r.callback_at is None:
        raise RuleViolation("callback_required", "须先回访评价人并记录回访结果")
    r.classification = classification
    r.measures = t.note
    t.changed |= {"classification", "measures"}
    if fixed:
        r.fixed_at = timezone.now()
        t.changed.add("fixed_at")


def classify_at_once(t: Transition[Rectification]) -> None:
    _classify(t, Classification.AT_ONCE, fixed=True)


def classify_explained(t: Transition[Rectification]) -> None:
    _classify(t, Classification.EXPLAINED, fixed=True)


def classify_appeal(t: Transition[Rectification]) -> None:
    _classify(t, Classification.APPEAL, fixed=False)


def classify_with_deadline(t: Transition[Rectification]) -> None:
    """限期整改: the fix and its date go into the ledger (台账)."""
    assert isinstance(t.payload, DeadlineFixIn)
    if t.payload.due_date < t.today:
        raise RuleViolation("fix_due_date_past", "整改期限不能早于今天", field="due_date")
    _classify(t, Classification.WITH_DEADLINE, fixed=False)
    r = t.process
    r.fix_due_date = t.payload.due_date
    t.changed.add("fix_due_date")
    LedgerEntry.objects.create(
        rectification=r,
        organisation=r.organisation,
        problem=(r.rating.text or r.rating.service_name)[:300],
        measures=t.note,
        due_date=t.payload.due_date,
    )
    t.event_data["fix_due_date"] = t.payload.due_date.isoformat()


def finish_ledger(t: Transition[Rectification]) -> None:
    r = t.process
    now = timezone.now()
    LedgerEntry.objects.filter(rectification=r).update(done_at=now)
    r.fixed_at = now
    r.measures = f"{r.measures}\n整改完成：{t.note}".strip()
    t.changed |= {"fixed_at", "measures"}


def annul_rating(t: Transition[Rectification]) -> None:
    """申诉成立: the rating was mistaken or malicious; it no longer counts."""
    r = t.process
    Rating.objects.filter(pk=r.rating_id).update(annulled=True)
    r.appeal_decided_by = t.actor if isinstance(t.actor, User) else None
    t.changed.add("appeal_decided_by")


def reject_appeal(t: Transition[Rectification]) -> None:
    r = t.process
    r.appeal_decided_by = t.actor if isinstance(t.actor, User) else None
    r.classification = ""
    t.changed |= {"appeal_decided_by", "classification"}


def record_fix_rating(t: Transition[Rectification]) -> None:
    r = t.process
    follow_up = Rating.objects.filter(
        subject_kind=r.rating.subject_kind,
        reference=r.rating.reference,
        event=r.rating.event,
        round=2,
    ).first()
    if follow_up is None:
        raise RuleViolation("rerating_required", "群众尚未评价整改结果")
    r.fix_rating = follow_up
    t.changed.add("fix_rating")
    t.event_data["level"] = follow_up.level


def check_closing(t: Transition[Rectification]) -> None:
    """办结 without the citizen's rating of the fix: only after the callback, the fix, and
    the days the citizen had to rate it (the system closes it then)."""
    r = t.process
    if r.callback_at is None:
        raise RuleViolation(
            "callback_required", "实名差评须先回访并记录回访结果，才能办结（回访整改率 100%）"
        )
    if not t.definition.has_tag(t.from_state, "awaiting_rerating"):
        raise RuleViolation("rectification_unfinished", "须先定性并完成整改，才能办结")
    if not isinstance(t.actor, SystemActor) and (
        r.state_due_date is None or r.state_due_date >= t.today
    ):
        raise RuleViolation(
            "rerating_pending",
            f"群众可在 {r.state_due_date} 前评价整改结果；评价后自动办结，逾期未评价方可办结",
            status=409,
        )


EFFECTS = {
    "record_callback": record_callback,
    "classify_at_once": classify_at_once,
    "classify_with_deadline": classify_with_deadline,
    "classify_explained": classify_explained,
    "classify_appeal": classify_appeal,
    "finish_ledger": finish_ledger,
    "annul_rating": annul_rating,
    "reject_appeal": reject_appeal,
    "record_fix_rating": record_fix_rating,
    "check_closing": check_closing,
}
