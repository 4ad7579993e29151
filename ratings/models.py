"""好差评 (GB/T 39734, 国办发〔2019〕51号): ratings of service events and the rectification
(差评整改) every bad rating opens.

A `Rating` rates one service event of one subject — a case at one of its rated events, a
12345 ticket, … (the kinds are a strict registry, `ratings.registry`) — at a level from 5
(非常满意) to 1 (非常不满意); 1 and 2 are bad ratings. Each event has one first rating and
at most one follow-up (assessNumber 1 and 2 of the national exchange). The evaluator is
recorded for the platform and supervisors and never shown to the rated party.

A bad rating opens a `Rectification`, a process on the shared engine
(`ratings/workflows/rectification.json`, `ratings/engine.py`), owned by the organisation
that did the rated part (谁办理、谁负责).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalog.models import ServiceItem
from core.models import (
    Division,
    Organisation,
    ProcessEvent,
    ProcessFields,
    StoredDefinition,
    division_code_prefix,
)

BAD_LEVELS = (1, 2)


class Level(models.IntegerChoices):
    VERY_SATISFIED = 5, "非常满意"
    SATISFIED = 4, "满意"
    BASICALLY_SATISFIED = 3, "基本满意"
    UNSATISFIED = 2, "不满意"
    VERY_UNSATISFIED = 1, "非常不满意"


class Channel(models.TextChoices):
    """评价渠道. `PF_CODES` gives the national exchange's `pf` code of each (reference §2);
    the default rating has none in the main list and is sent as the channel `default`."""

    PC = "pc", "PC 端"
    MOBILE = "mobile", "移动端"
    QR = "qr", "窗口二维码"
    TABLET = "tablet", "政务大厅平板电脑"
    PHONE = "phone", "电话"
    SMS = "sms", "短信"
    DEFAULT = "default", "系统默认评价"


PF_CODES = {"pc": "1", "mobile": "2", "qr": "3", "tablet": "4", "phone": "6", "sms": "7"}
# Channels a citizen rates through themselves; the others are recorded by staff or the system.
CITIZEN_CHANNELS = frozenset({"pc", "mobile", "qr", "tablet"})
STAFF_CHANNELS = frozenset({"phone", "sms"})


@dataclass(frozen=True)
class RatedService:
    """What a subject kind's resolver answers about one rated event: the organisation that
    did the rated part (it owns a rectification), the place, what was served, who may rate
    (the account that received the service; None when nobody has one, e.g. a phone caller
    whose rating an agent records), when, and — where known — the item, the window and the
    clerk who served."""

    reference: str
    event: str
    organisation_id: int
    division: str
    service_name: str
    rater_user_id: int | None
    served_at: dt.datetime
    # Further accounts that received the service too (the agents of a company applicant).
    rater_user_ids: tuple[int, ...] = ()
    item_id: int | None = None
    window: str = ""
    clerk_id: int | None = None
    # How the person served is named to supervisors (masked), when they have no account.
    rater_label: str = ""

    def may_rate(self, user_id: int) -> bool:
        return user_id == self.rater_user_id or user_id in self.rater_user_ids


class OptionSet(models.Model):
    """A version of the content options offered per level (评价选项, GB/T 39734 annex). The
    one in force is the latest whose effective date has come; a rating pins the version it
    was given under, so later edits never change what a rating meant."""

    version = models.PositiveIntegerField("版本号", unique=True)
    effective_from = models.DateField("生效日期")
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "评价选项版本"
        ordering = ["-effective_from", "-version"]

    def __str__(self) -> str:
        return f"评价选项第 {self.version} 版"


class RatingOption(models.Model):
    """One content option of a version, offered for one level."""

    option_set = models.ForeignKey(
        OptionSet, verbose_name="版本", on_delete=models.CASCADE, related_name="options"
    )
    level = models.PositiveSmallIntegerField("评价等级", choices=Level.choices)
    code = models.SlugField("代码", max_length=40)
    label = models.CharField("内容", max_length=100)
    position = models.PositiveSmallIntegerField("顺序", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "评价选项"
        ordering = ["option_set", "-level", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["option_set", "level", "code"], name="rating_option_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()}：{self.label}"


class RatingQuerySet(models.QuerySet["Rating"]):
    def counted(self) -> RatingQuerySet:
        """The ratings the public results count: not annulled by an upheld appeal."""
        return self.filter(annulled=False)


class Rating(models.Model):
    """好差评: one rating of one service event (see the module docstring)."""

    class Round(models.IntegerChoices):
        FIRST = 1, "首次评价"
        FOLLOW_UP = 2, "追加评价"

    subject_kind = models.CharField("评价对象类别", max_length=16)
    reference = models.CharField("评价对象编号", max_length=40)
    event = models.CharField("服务环节", max_length=24)
    round = models.PositiveSmallIntegerField("评价次数", choices=Round.choices, default=1)
    level = models.PositiveSmallIntegerField("评价等级", choices=Level.choices)
    bad = models.BooleanField("差评", default=False, editable=False)
    channel = models.CharField("评价渠道", max_length=16, choices=Channel.choices)
    option_set = models.ForeignKey(
        OptionSet, verbose_name="评价选项版本", on_delete=models.PROTECT, related_name="+"
    )
    options = models.JSONField("评价选项", default=list, blank=True)
    text = models.CharField("评价内容", max_length=500, blank=True)
    # What was rated: who did it, where, what, when (RatedService, copied at rating time).
    organisation = models.ForeignKey(
        Organisation, verbose_name="被评价单位", on_delete=models.PROTECT, related_name="ratings"
    )
    division = models.ForeignKey(
        Division, verbose_name="区划", on_delete=models.PROTECT, related_name="+"
    )
    item = models.ForeignKey(
        ServiceItem,
        verbose_name="事项",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    window = models.CharField("窗口", max_length=64, blank=True, default="")
    clerk = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="服务人员",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ratings_received",
    )
    service_name = models.CharField("服务名称", max_length=200)
    served_at = models.DateTimeField("服务时间")
    # The evaluator: known to the platform and supervisors, never to the rated party.
    evaluator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="评价人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ratings_given",
    )
    evaluator_label = models.CharField("评价人（脱敏）", max_length=64, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="代录人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # A rating given on another node (the organisation rated works here): its node and id.
    node = models.CharField("评价所在节点", max_length=32, blank=True, default="")
    uid = models.UUIDField("评价标识", unique=True)
    # A bad rating of another node's organisation: when that node reported the fix done
    # (`rating.fixed`); until then the follow-up — the rating of the fix — waits.
    fix_reported_at = models.DateTimeField("整改完成通知时间", null=True, blank=True)
    annulled = models.BooleanField("申诉成立已撤销", default=False)
    created_at = models.DateTimeField("评价时间", auto_now_add=True)

    objects = RatingQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "好差评"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_kind", "reference", "event", "round"],
                name="rating_once_per_event_round",
            ),
            models.CheckConstraint(condition=Q(level__gte=1, level__lte=5), name="rating_level"),
            models.CheckConstraint(
                condition=Q(bad=True, level__lte=2) | Q(bad=False, level__gte=3),
                name="rating_bad_is_level_1_or_2",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "annulled"], name="rating_org"),
            models.Index(fields=["item", "annulled"], name="rating_item"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.event} {self.get_level_display()}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.bad = self.level in BAD_LEVELS
        super().save(*args, **kwargs)


class Invitation(models.Model):
    """邀评: a rated event the citizen is asked to rate, until `due_at`; then the default
    rating is given (the periodic job `ratings.give_default_ratings`). Its `token` opens
    the rating page (the notification's link, the QR code on the hand-over receipt)."""

    subject_kind = models.CharField("评价对象类别", max_length=16)
    reference = models.CharField("评价对象编号", max_length=40)
    event = models.CharField("服务环节", max_length=24)
    # The account asked; none for an applicant served at a window without an account of
    # their own: the rating code on the hand-over receipt is then what proves they were
    # served (whoever holds the receipt received the service).
    rater = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="受邀人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rating_invitations",
    )
    token = models.CharField("评价码", max_length=32, unique=True)
    service_name = models.CharField("服务名称", max_length=200)
    created_at = models.DateTimeField("邀评时间", auto_now_add=True)
    due_at = models.DateTimeField("评价截止时间", db_index=True)
    rating = models.OneToOneField(
        Rating,
        verbose_name="评价",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invitation",
    )

    class Meta:
        verbose_name = verbose_name_plural = "邀请评价"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_kind", "reference", "event"], name="invitation_once_per_event"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.event}"


class RectificationDeadline(models.Model):
    """整改时限: working days a province gives a rectification. The row without a province
    is the default the migration seeds (5 working days, as in 德州; reference §2 marks the
    value local); a province's own row wins. Edit the default rather than adding a second
    row without a province (the first one found wins)."""

    province = models.OneToOneField(
        Division,
        verbose_name="省份",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    working_days = models.PositiveSmallIntegerField("整改时限（工作日）")

    class Meta:
        verbose_name = verbose_name_plural = "整改时限"
        ordering = ["province__code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(working_days__gt=0), name="rectification_deadline_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.province or '默认'} {self.working_days} 个工作日"


class RectificationDefinition(StoredDefinition):
    """A stored version of the rectification workflow (ratings/workflows/*.json)."""

    class Meta(StoredDefinition.Meta):
        verbose_name = verbose_name_plural = "整改流程定义"


class RectificationQuerySet(models.QuerySet["Rectification"]):
    def for_user(self, user: Any) -> RectificationQuerySet:
        """The one scoping primitive of rectification reads: the staff of the owning
        organisation (reviewers, approvers, admins, window clerks) and supervisors of a
        division containing it. Nobody else — not the citizen, not another organisation."""
        from accounts.models import Role, StaffRole

        if user is None or not getattr(user, "is_authenticated", False):
            return self.none()
        roles = list(
            StaffRole.objects.filter(user=user).values_list(
                "role", "organisation_id", "division__code"
            )
        )
        scope = Q(organisation_id__in=[o for r, o, _ in roles if r in OWNER_ROLES])
        for role, _org, code in roles:
            if role == Role.SUPERVISOR:
                scope |= Q(organisation__division__code__startswith=division_code_prefix(code))
        return self.filter(scope)


# Staff of an organisation who answer for its rectifications.
OWNER_ROLES = ("reviewer", "approver", "org_admin", "window_clerk")


class Classification(models.TextChoices):
    """差评分类 and how it is dealt with (reference §2)."""

    AT_ONCE = "at_once", "立行立改"
    WITH_DEADLINE = "with_deadline", "限期整改（列入台账）"
    EXPLAINED = "explained", "无法律依据，解释说明"
    APPEAL = "appeal", "申诉复核"


class CallbackOutcome(models.TextChoices):
    SATISFIED = "satisfied", "满意"
    BASICALLY_SATISFIED = "basically_satisfied", "基本满意"
    UNSATISFIED = "unsatisfied", "不满意"
    UNREACHABLE = "unreachable", "联系不上"


class Rectification(ProcessFields):
    """差评整改: the follow-up of one bad rating, owned by the organisation that did the
    rated part, due in the province's working days; callback, classification, fix, the
    citizen's rating of the fix, closing (`ratings/workflows/rectification.json`)."""

    number = models.CharField("整改编号", max_length=32, unique=True)
    workflow = models.ForeignKey(
        RectificationDefinition,
        verbose_name="流程定义",
        on_delete=models.PROTECT,
        related_name="rectifications",
    )
    rating = models.OneToOneField(
        Rating, verbose_name="差评", on_delete=models.PROTECT, related_name="rectification"
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name="整改责任单位",
        on_delete=models.PROTECT,
        related_name="rectifications",
    )
    limit_days = models.PositiveSmallIntegerField("整改时限（工作日）")
    callback_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="回访人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    callback_by_name = models.CharField("回访人姓名", max_length=64, blank=True)
    callback_at = models.DateTimeField("回访时间", null=True, blank=True)
    callback_outcome = models.CharField(
        "回访结果", max_length=24, choices=CallbackOutcome.choices, blank=True, default=""
    )
    callback_note = models.CharField("回访记录", max_length=500, blank=True)
    classification = models.CharField(
        "差评分类", max_length=16, choices=Classification.choices, blank=True, default=""
    )
    measures = models.TextField("整改措施或解释说明", blank=True)
    fix_due_date = models.DateField("限期整改日期", null=True, blank=True)
    appeal_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="申诉复核人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    fixed_at = models.DateTimeField("整改完成时间", null=True, blank=True)
    fix_rating = models.OneToOneField(
        Rating,
        verbose_name="群众对整改的评价",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rectification_rated",
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    objects = RectificationQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "差评整改"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "closed_at", "due_date"], name="rectif_org_due"),
        ]

    def __str__(self) -> str:
        return self.number


class LedgerEntry(models.Model):
    """整改台账: a fix that needs time, with its deadline — the ledger supervisors follow."""

    rectification = models.OneToOneField(
        Rectification, verbose_name="整改", on_delete=models.CASCADE, related_name="ledger"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name="责任单位", on_delete=models.PROTECT, related_name="+"
    )
    problem = models.CharField("问题", max_length=300)
    measures = models.TextField("整改措施")
    due_date = models.DateField("整改期限")
    done_at = models.DateTimeField("完成时间", null=True, blank=True)
    created_at = models.DateTimeField("列入台账时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "整改台账"
        ordering = ["due_date", "id"]

    def __str__(self) -> str:
        return f"{self.rectification} 至 {self.due_date}"


class RectificationEvent(ProcessEvent):
    """One entry of a rectification's timeline (fields: `core.models.ProcessEvent`)."""

    rectification = models.ForeignKey(
        Rectification, verbose_name="整改", on_delete=models.CASCADE, related_name="events"
    )

    class Meta(ProcessEvent.Meta):
        verbose_name = verbose_name_plural = "整改时间线"
