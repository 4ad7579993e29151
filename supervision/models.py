"""Supervision (督查): figures kept from the operational data, the work ledger (工作台账),
warning cards and bulletins (通报).

Nothing here is typed in by a person except the ledger and the review of a bulletin: the
figures are facts derived from cases (`CaseFact`, one row per submitted case) and rollups
of those facts per month (`OrgMonth`, `ItemMonth`, `HandlingDays`), which the scheduled
worker keeps up to date from the cases that changed (`DirtyCase`, marked by a listener on
every case transition). A dashboard reads rollups only, so it answers in constant time
whatever the number of cases (docs/supervision.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cases.models import Case
from catalog.models import ServiceItem
from catalog.offers import MODE_CHOICES, SCOPE_CHOICES
from core.models import Organisation


class DirtyCase(models.Model):
    """A case that changed since the figures were last refreshed (a transition listener
    writes it in the transaction of the change; the refresh job consumes it)."""

    case_id = models.PositiveBigIntegerField("办件", unique=True)
    marked_at = models.DateTimeField("标记时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "待刷新办件"

    def __str__(self) -> str:
        return str(self.case_id)


class Counters(models.Model):
    """The additive counters every rollup keeps (sums of `CaseFact` flags)."""

    received = models.PositiveIntegerField("收件", default=0)
    accepted = models.PositiveIntegerField("受理", default=0)
    not_accepted = models.PositiveIntegerField("不予受理", default=0)
    decided = models.PositiveIntegerField("办结", default=0)
    approved = models.PositiveIntegerField("准予", default=0)
    on_time = models.PositiveIntegerField("按时办结", default=0)
    late = models.PositiveIntegerField("超期办结", default=0)
    finished = models.PositiveIntegerField("流程结束", default=0)
    paused = models.PositiveIntegerField("暂停计时", default=0)
    handled = models.PositiveIntegerField("有办理用时的办件", default=0)
    handling_days = models.PositiveBigIntegerField("办理用时合计（工作日）", default=0)
    limit_days = models.PositiveBigIntegerField("承诺时限合计（工作日）", default=0)
    legal_days = models.PositiveBigIntegerField("法定时限合计（工作日）", default=0)
    deficiency_used = models.PositiveIntegerField("容缺受理", default=0)
    deficiency_failed = models.PositiveIntegerField("容缺未履行", default=0)
    notification_used = models.PositiveIntegerField("告知承诺", default=0)
    notification_failed = models.PositiveIntegerField("告知承诺核查不实", default=0)
    licence_materials = models.PositiveIntegerField("以证照免提交材料", default=0)
    licence_cases = models.PositiveIntegerField("应入库（准予且结果为证照）", default=0)
    in_library = models.PositiveIntegerField("已入库", default=0)

    class Meta:
        abstract = True


COUNTER_FIELDS = [f.name for f in Counters._meta.local_fields]


class CaseFact(models.Model):
    """What the figures need to know about one submitted case, derived from it alone (no
    personal data: no applicant, no form). Rebuilt whenever the case changes."""

    # Derived rows, written in bulk from the rows they point to: no database-level foreign
    # keys, whose per-row checks would double a rebuild's time (decision 290).
    case = models.OneToOneField(
        Case,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="办件",
        db_constraint=False,
    )
    month = models.DateField("收件月份")
    received_on = models.DateField("收件日期")
    organisation = models.ForeignKey(
        Organisation,
        verbose_name="业务属地",
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    # The handling organisation's division code, copied so that a scope's filter needs no
    # join through organisations and divisions (decision 254).
    division_code = models.CharField("区划代码", max_length=12, default="")
    receiving_org = models.ForeignKey(
        Organisation,
        verbose_name="收件地",
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    item = models.ForeignKey(
        ServiceItem,
        verbose_name="事项",
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    scope = models.CharField("通办范围", max_length=16, choices=SCOPE_CHOICES, blank=True)
    mode = models.CharField("业务模式", max_length=16, choices=MODE_CHOICES)
    accepted = models.BooleanField(default=False)
    not_accepted = models.BooleanField(default=False)
    decided = models.BooleanField(default=False)
    decided_on = models.DateField(null=True, blank=True)
    approved = models.BooleanField(default=False)
    on_time = models.BooleanField(default=False)
    late = models.BooleanField(default=False)
    finished = models.BooleanField(default=False)
    paused = models.BooleanField(default=False)
    handling_days = models.PositiveIntegerField(null=True, blank=True)
    limit_days = models.PositiveIntegerField(default=0)
    legal_days = models.PositiveIntegerField(default=0)
    deficiency_used = models.BooleanField(default=False)
    deficiency_failed = models.BooleanField(default=False)
    notification_used = models.BooleanField(default=False)
    notification_failed = models.BooleanField(default=False)
    licence_materials = models.PositiveSmallIntegerField(default=0)
    # Approved with a licence as its result, and that licence in the library (decision 292).
    licence_cases = models.BooleanField(default=False)
    in_library = models.BooleanField(default=False)

    class Meta:
        verbose_name = verbose_name_plural = "办件统计事实"
        indexes = [
            models.Index(fields=["month", "organisation"], name="fact_month_org"),
            models.Index(fields=["item", "month"], name="fact_item_month"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}"


class OrgMonth(Counters):
    """Rollup: one organisation's cases received in one month, by scope and mode."""

    month = models.DateField("月份")
    organisation = models.ForeignKey(
        Organisation, verbose_name="业务属地", on_delete=models.PROTECT, related_name="+"
    )
    scope = models.CharField("通办范围", max_length=16, choices=SCOPE_CHOICES, blank=True)
    mode = models.CharField("业务模式", max_length=16, choices=MODE_CHOICES)

    # The handling organisation's division code, copied so that a scope's filter needs no
    # join through organisations and divisions (decision 254).
    division_code = models.CharField("区划代码", max_length=12, default="")

    class Meta:
        verbose_name = verbose_name_plural = "机构月度汇总"
        constraints = [
            models.UniqueConstraint(
                fields=["month", "organisation", "scope", "mode"], name="org_month_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.organisation_id} {self.scope} {self.mode}"


class ItemMonth(Counters):
    """Rollup: one item's cases handled by one organisation, received in one month."""

    month = models.DateField("月份")
    organisation = models.ForeignKey(
        Organisation,
        verbose_name="业务属地",
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    item = models.ForeignKey(
        ServiceItem,
        verbose_name="事项",
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )

    # The handling organisation's division code, copied so that a scope's filter needs no
    # join through organisations and divisions (decision 254).
    division_code = models.CharField("区划代码", max_length=12, default="")

    class Meta:
        verbose_name = verbose_name_plural = "事项月度汇总"
        constraints = [
            models.UniqueConstraint(
                fields=["month", "organisation", "item"], name="item_month_once"
            )
        ]
        indexes = [models.Index(fields=["item", "month"], name="item_month_item")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.item_id}"


class OrgTotal(Counters):
    """Rollup: one organisation's cases by scope and mode, all months together — what a
    view without a period sums (its summary and its breakdowns but the months) instead of
    every organisation-month (decision 291). Rebuilt from `OrgMonth` for the
    organisations a refresh touched."""

    organisation = models.ForeignKey(
        Organisation, verbose_name="业务属地", on_delete=models.PROTECT, related_name="+"
    )
    scope = models.CharField("通办范围", max_length=16, choices=SCOPE_CHOICES, blank=True)
    mode = models.CharField("业务模式", max_length=16, choices=MODE_CHOICES)
    # The organisation's division code when the row was written (decision 254).
    division_code = models.CharField("区划代码", max_length=12, default="")

    class Meta:
        verbose_name = verbose_name_plural = "机构累计汇总"
        constraints = [
            models.UniqueConstraint(fields=["organisation", "scope", "mode"], name="org_total_once")
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.scope} {self.mode}"


class DivisionMonth(Counters):
    """Rollup: the cases of one month received by the organisations of one division, all
    organisations, scopes and modes together — the month trend of a province's or a city's
    view (a few thousand rows instead of every organisation-month; decision 291). Rebuilt
    from `OrgMonth` for the (month, division) pairs a refresh touched."""

    month = models.DateField("月份")
    division_code = models.CharField("区划代码", max_length=12)

    class Meta:
        verbose_name = verbose_name_plural = "区划月度汇总"
        constraints = [
            models.UniqueConstraint(fields=["month", "division_code"], name="division_month_once")
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.division_code}"


class ItemTotal(Counters):
    """Rollup: one item's cases handled by one organisation, all months together — what
    chooses the busiest items of a view without a period without grouping every
    item-month (decision 291). Rebuilt from `ItemMonth` for the organisations a refresh
    touched."""

    organisation = models.ForeignKey(
        Organisation,
        verbose_name="业务属地",
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    item = models.ForeignKey(
        ServiceItem,
        verbose_name="事项",
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    # The organisation's division code when the row was written (decision 254).
    division_code = models.CharField("区划代码", max_length=12, default="")

    class Meta:
        verbose_name = verbose_name_plural = "事项累计汇总"
        constraints = [
            models.UniqueConstraint(fields=["organisation", "item"], name="item_total_once")
        ]
        indexes = [
            models.Index(fields=["division_code", "-received"], name="item_total_busiest"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.item_id}: {self.received}"


class HandlingDays(models.Model):
    """Rollup: how many decided cases took `days` working days, per organisation and
    month — the distribution the percentiles are read from."""

    month = models.DateField("月份")
    organisation = models.ForeignKey(
        Organisation, verbose_name="业务属地", on_delete=models.PROTECT, related_name="+"
    )
    days = models.PositiveIntegerField("办理用时（工作日）")
    count = models.PositiveIntegerField("件数")

    # The handling organisation's division code, copied so that a scope's filter needs no
    # join through organisations and divisions (decision 254).
    division_code = models.CharField("区划代码", max_length=12, default="")

    class Meta:
        verbose_name = verbose_name_plural = "办理用时分布"
        constraints = [
            models.UniqueConstraint(
                fields=["month", "organisation", "days"], name="handling_days_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.organisation_id} {self.days}: {self.count}"


class ListTarget(models.Model):
    """A stage a list must reach: how many of its items must be offered by a date (the
    plan's phases of the national 跨省通办 list: 58 items already, 74 more by the end of
    2021, the last 8 later — cumulative targets 58, 132, 140). `mode` blank: any mode."""

    list = models.ForeignKey(
        "catalog.ItemList", verbose_name="清单", on_delete=models.CASCADE, related_name="+"
    )
    phase = models.CharField("阶段", max_length=100)
    target = models.PositiveIntegerField("目标事项数（累计）")
    mode = models.CharField("业务模式", max_length=16, choices=MODE_CHOICES, blank=True)
    due_date = models.DateField("完成期限", null=True, blank=True)
    source = models.CharField("依据", max_length=200, blank=True)
    position = models.PositiveSmallIntegerField("顺序", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "清单目标"
        ordering = ["list", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["list", "phase"], name="list_target_once")]

    def __str__(self) -> str:
        return f"{self.phase}：{self.target}"


# The work ledger (工作台账) ------------------------------------------------------------------


class LedgerTask(models.Model):
    """One task or safeguard of the plan in the work ledger: who leads, who is responsible,
    by when, its milestones and progress reports, its status. Overdue when its deadline
    passed and it is not done."""

    class Kind(models.TextChoices):
        TASK = "task", "重点任务"
        SAFEGUARD = "safeguard", "保障措施"

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "未启动"
        IN_PROGRESS = "in_progress", "推进中"
        DONE = "done", "已完成"
        BLOCKED = "blocked", "受阻"

    kind = models.CharField("类别", max_length=16, choices=Kind.choices)
    number = models.PositiveSmallIntegerField("序号")
    title = models.CharField("名称", max_length=200)
    body = models.TextField("任务内容")
    lead_units = models.CharField("牵头单位", max_length=300, blank=True)
    responsible_units = models.CharField("责任单位", max_length=300, blank=True)
    lead = models.ForeignKey(
        Organisation,
        verbose_name="牵头机构",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    deadline = models.DateField("完成时限", null=True, blank=True)
    deadline_text = models.CharField("完成时限（原文）", max_length=100, blank=True)
    status = models.CharField(
        "状态", max_length=16, choices=Status.choices, default=Status.NOT_STARTED
    )
    progress = models.PositiveSmallIntegerField("完成进度（%）", default=0)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "工作台账任务"
        ordering = ["kind", "number"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "number"], name="ledger_task_once"),
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="ledger_progress_max"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}（{self.number}）{self.title}"


class Milestone(models.Model):
    """A step of a ledger task with its own date (the road map, 路线图)."""

    task = models.ForeignKey(LedgerTask, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField("节点", max_length=200)
    due_date = models.DateField("计划完成")
    done_on = models.DateField("实际完成", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "任务节点"
        ordering = ["task", "due_date", "id"]

    def __str__(self) -> str:
        return f"{self.task_id} {self.title}"


class ProgressReport(models.Model):
    """A progress report on a ledger task, with its attachments; append-only."""

    task = models.ForeignKey(LedgerTask, on_delete=models.CASCADE, related_name="reports")
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="报送人", on_delete=models.PROTECT, related_name="+"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name="报送单位", on_delete=models.PROTECT, related_name="+"
    )
    reported_at = models.DateTimeField("报送时间", auto_now_add=True)
    text = models.TextField("进展情况")
    progress = models.PositiveSmallIntegerField("完成进度（%）")
    status = models.CharField("状态", max_length=16, choices=LedgerTask.Status.choices)

    class Meta:
        verbose_name = verbose_name_plural = "进展报送"
        ordering = ["task", "-reported_at", "-id"]

    def __str__(self) -> str:
        return f"{self.task_id} {self.reported_at:%Y-%m-%d}"


class ReportAttachment(models.Model):
    """A file sent with a progress report, kept sealed by `core.blobs`."""

    report = models.ForeignKey(ProgressReport, on_delete=models.CASCADE, related_name="attachments")
    path = models.CharField("存储路径", max_length=200)
    sha256 = models.CharField("SHA-256", max_length=64)
    name = models.CharField("文件名", max_length=200)
    content_type = models.CharField("类型", max_length=64)
    size = models.PositiveIntegerField("大小")

    class Meta:
        verbose_name = verbose_name_plural = "进展附件"

    def __str__(self) -> str:
        return self.name


# Warning cards (黄牌、红牌) --------------------------------------------------------------------


class WarningCard(models.Model):
    """A yellow or red card: a case, rectification or 12345 ticket near or past its
    deadline, routed to the responsible organisation's admins and the supervisors over it,
    and escalated to the supervisors one level up when still red after
    `SUPERVISION_ESCALATION_HOURS`. Kept from the processes' own warnings by the job
    `supervision.route_warnings`; resolved when the warning goes."""

    class Subject(models.TextChoices):
        CASE = "case", "办件"
        RECTIFICATION = "rectification", "差评整改"
        TICKET = "ticket", "12345 工单"

    class Colour(models.TextChoices):
        YELLOW = "yellow", "黄牌"
        RED = "red", "红牌"

    subject = models.CharField("对象类别", max_length=16, choices=Subject.choices)
    reference = models.CharField("编号", max_length=40)
    title = models.CharField("事由", max_length=200)
    organisation = models.ForeignKey(
        Organisation, verbose_name="责任单位", on_delete=models.PROTECT, related_name="+"
    )
    colour = models.CharField("颜色", max_length=8, choices=Colour.choices)
    due_date = models.DateField("期限", null=True, blank=True)
    raised_at = models.DateTimeField("亮牌时间", auto_now_add=True)
    red_at = models.DateTimeField("转红时间", null=True, blank=True)
    escalated_at = models.DateTimeField("升级督办时间", null=True, blank=True)
    resolved_at = models.DateTimeField("解除时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "预警牌"
        ordering = ["resolved_at", "-colour", "due_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "reference"],
                condition=models.Q(resolved_at__isnull=True),
                name="warning_card_one_open",
            )
        ]
        indexes = [models.Index(fields=["organisation", "resolved_at"], name="card_org_open")]

    def __str__(self) -> str:
        return f"{self.get_colour_display()} {self.reference}"


# Bulletins (通报) -------------------------------------------------------------------------------


class Bulletin(models.Model):
    """通报: a monthly or quarterly report generated from the figures — rankings, praise and
    criticism, overdue and badly rated cases — kept as the snapshot it was generated from
    (`content`, no personal data), reviewed and published by a supervisor, then public.
    A published bulletin never changes."""

    class Period(models.TextChoices):
        MONTH = "month", "月度"
        QUARTER = "quarter", "季度"

    class Status(models.TextChoices):
        DRAFT = "draft", "待审核"
        PUBLISHED = "published", "已发布"

    period = models.CharField("周期", max_length=8, choices=Period.choices)
    starts_on = models.DateField("起始日期")
    ends_on = models.DateField("截止日期")
    prefix = models.CharField("区划范围", max_length=12)
    title = models.CharField("标题", max_length=200)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.DRAFT)
    content = models.JSONField("内容")
    generated_at = models.DateTimeField("生成时间", auto_now=True)
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="生成人", on_delete=models.PROTECT, related_name="+"
    )
    review_note = models.CharField("审核意见", max_length=500, blank=True)
    published_at = models.DateTimeField("发布时间", null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="发布人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = verbose_name_plural = "通报"
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "starts_on", "prefix"], name="bulletin_period_once"
            )
        ]

    def __str__(self) -> str:
        return self.title


class RegionalFigures(models.Model):
    """The latest aggregates a member node of the region (东北三省一区) answered to
    `supervision.figures` — counts only, never a case or a person — and when it was
    last asked; a node that cannot be reached keeps its last answer."""

    node = models.CharField("节点", max_length=32, unique=True)
    name = models.CharField("名称", max_length=64)
    division = models.CharField("区划代码", max_length=12, blank=True)
    figures = models.JSONField("汇总数据", default=dict)
    fetched_at = models.DateTimeField("获取时间", null=True, blank=True)
    attempted_at = models.DateTimeField("最近尝试", null=True, blank=True)
    last_error = models.CharField("最近错误", max_length=500, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "区域汇总"
        ordering = ["division", "node"]

    def __str__(self) -> str:
        return self.name


class RegionalMonth(Counters):
    """One member node's aggregates for one month of receipt, as it answered
    `supervision.figures` — counters and the open cases now red or yellow, never a case or
    a person — so that the regional page can sum any period (decision 293)."""

    node = models.CharField("节点", max_length=32)
    month = models.DateField("月份")
    red = models.PositiveIntegerField("超期未办结", default=0)
    yellow = models.PositiveIntegerField("临近期限", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "区域月度汇总"
        ordering = ["node", "month"]
        constraints = [
            models.UniqueConstraint(fields=["node", "month"], name="regional_month_once")
        ]

    def __str__(self) -> str:
        return f"{self.node} {self.month:%Y-%m}"
