"""Reference data every other app stands on: divisions, organisations, the working-day
calendar, and the audit trail."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.validators import validate_division_code_format, validate_uscc


class Division(models.Model):
    """An administrative division (行政区划, GB/T 2260), or a functional zone the province
    manages like one (沈抚示范区), identified by a 6-character code; a 乡镇/街道 or a
    村/社区 below a county by its 9- or 12-digit statistical code.

    Statutory codes come from GB/T 2260; a functional zone without one gets a
    platform-local code and says so in `code_kind`, so nothing mistakes it for a legal
    division when data leave the platform.
    """

    class Level(models.TextChoices):
        PROVINCE = "province", "省级"
        PREFECTURE = "prefecture", "市级"
        COUNTY = "county", "县级"
        FUNCTIONAL_ZONE = "functional_zone", "功能区"
        # Below the county, with the statistical codes (统计用区划代码) that extend its
        # code: 9 digits for a 乡镇/街道, 12 for a 村/社区. Service halls sit down there
        # (便民服务中心, 便民服务站), as the plan asks 通办 windows to reach.
        TOWNSHIP = "township", "乡镇/街道"
        VILLAGE = "village", "村/社区"

    class CodeKind(models.TextChoices):
        STATUTORY = "statutory", "法定区划代码"
        STATISTICAL = "statistical", "统计用区划代码"
        PLATFORM_LOCAL = "platform_local", "平台自定义代码"

    code = models.CharField(
        "区划代码", max_length=12, unique=True, validators=[validate_division_code_format]
    )
    name = models.CharField("名称", max_length=64)
    level = models.CharField("层级", max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name="上级区划",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    code_kind = models.CharField(
        "代码类型", max_length=16, choices=CodeKind.choices, default=CodeKind.STATUTORY
    )

    class Meta:
        verbose_name = verbose_name_plural = "行政区划"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def code_prefix(self) -> str:
        return division_code_prefix(self.code)

    @property
    def province_code(self) -> str:
        """The code of the province this division belongs to (its first two digits + 0000)."""
        return self.code[:2] + "0000"


def division_code_prefix(code: str) -> str:
    """The prefix every code inside a division starts with: 210000 → 21, 210200 → 2102;
    a township's 9 digits and a village's 12 are their own prefix."""
    if len(code) != 6:
        return code
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


class Organisation(models.Model):
    """A government department or other body that implements items (部门/机构),
    identified by its 统一社会信用代码."""

    class Kind(models.TextChoices):
        DEPARTMENT = "department", "政府部门"
        SERVICE_CENTRE = "service_centre", "政务服务中心"
        PUBLIC_INSTITUTION = "public_institution", "事业单位"
        OTHER = "other", "其他"

    uscc = models.CharField(
        "统一社会信用代码", max_length=18, unique=True, validators=[validate_uscc]
    )
    name = models.CharField("名称", max_length=128)
    short_name = models.CharField("简称", max_length=64, blank=True)
    kind = models.CharField(
        "机构类型", max_length=32, choices=Kind.choices, default=Kind.DEPARTMENT
    )
    division = models.ForeignKey(
        Division, verbose_name="所属区划", on_delete=models.PROTECT, related_name="organisations"
    )
    # The federation node the organisation works on; empty for this node. Organisations of
    # other nodes arrive with their catalog (the regional zone) or with a case they handle.
    node = models.CharField("所在节点", max_length=32, blank=True, default="", db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = "部门机构"
        ordering = ["division__code", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_local(self) -> bool:
        return not self.node


class CalendarYear(models.Model):
    """A year whose official schedule of holidays and 调休 working days is loaded.

    `province` empty means the national schedule (国务院办公厅 notice); a province row means
    that province has reviewed and loaded its local adjustments for that year. A year
    without a national row is computed Monday–Friday and every date from it is provisional.
    """

    year = models.PositiveSmallIntegerField("年份")
    province = models.ForeignKey(
        Division,
        verbose_name="省级区划（空为全国）",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    source = models.CharField("来源", max_length=200)
    loaded_at = models.DateTimeField("载入时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "工作日历年度"
        constraints = [
            models.UniqueConstraint(fields=["year", "province"], name="calendar_year_once"),
            models.UniqueConstraint(
                fields=["year"],
                condition=models.Q(province=None),
                name="calendar_national_year_once",
            ),
        ]
        ordering = ["-year"]

    def __str__(self) -> str:
        return f"{self.year} {'全国' if self.province_id is None else self.province}"


class CalendarDay(models.Model):
    """A day that breaks the Monday–Friday rule: a holiday on a weekday, or a weekend day
    that is worked (调休上班). National rows have no province; a province's rows override
    the national ones for divisions inside it."""

    date = models.DateField("日期")
    province = models.ForeignKey(
        Division,
        verbose_name="省级区划（空为全国）",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    is_working_day = models.BooleanField("是否工作日")
    name = models.CharField("说明", max_length=64, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "工作日历调整"
        constraints = [
            models.UniqueConstraint(fields=["date", "province"], name="calendar_day_once"),
            models.UniqueConstraint(
                fields=["date"],
                condition=models.Q(province=None),
                name="calendar_national_day_once",
            ),
        ]
        indexes = [models.Index(fields=["province", "date"], name="calendar_day_lookup")]
        ordering = ["date"]

    def __str__(self) -> str:
        kind = "上班" if self.is_working_day else "休息"
        return f"{self.date} {kind} {self.name}"


class AuditEvent(models.Model):
    """Append-only record of a state change: who did what to which object, and when.

    Services write it themselves inside their transaction. `summary` must never contain
    personal data in clear (mask it first)."""

    at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="操作人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    actor_label = models.CharField("操作方", max_length=128)
    action = models.CharField("操作", max_length=64)
    object_type = models.CharField("对象类型", max_length=64)
    object_id = models.CharField("对象标识", max_length=64)
    summary = models.CharField("摘要", max_length=500)
    data = models.JSONField("详情", default=dict, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "审计记录"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.summary}"


class PersonalDataAccess(models.Model):
    """A read of another person's personal data in clear, with its purpose (DESIGN.md
    §4.4: every such read is logged). Append-only."""

    at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="查看人", on_delete=models.PROTECT, related_name="+"
    )
    subject = models.CharField("信息主体（脱敏）", max_length=64)
    context = models.CharField("业务对象", max_length=64)
    purpose = models.CharField("用途", max_length=200)
    fields = models.JSONField("查看的字段", default=list)

    class Meta:
        verbose_name = verbose_name_plural = "个人信息访问记录"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.context} {self.purpose}"


# The parts every process shares (core/process.py runs them) -------------------------------


class LimitUnit(models.TextChoices):
    WORKING_DAYS = "working_days", "工作日"
    CALENDAR_DAYS = "calendar_days", "自然日"
    HOURS = "hours", "小时"


class ClockState(models.TextChoices):
    NOT_STARTED = "not_started", "未起算"
    RUNNING = "running", "计时中"
    PAUSED = "paused", "暂停计时"
    STOPPED = "stopped", "已停止"


class DeadlineWarning(models.TextChoices):
    NONE = "none", "正常"
    YELLOW = "yellow", "临近期限"
    RED = "red", "已超期"


class StoredDefinition(models.Model):
    """One version of a workflow definition, stored as the data it was loaded from
    (core/workflow.py has the format). Immutable once stored: what a running process
    pinned never changes under it. Each kind of process keeps its own table."""

    code = models.CharField("代码", max_length=32)
    version = models.PositiveIntegerField("版本")
    name = models.CharField("名称", max_length=64)
    definition = models.JSONField("定义")
    checksum = models.CharField("摘要", max_length=64)
    loaded_at = models.DateTimeField("载入时间", auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "version"], name="%(app_label)s_%(class)s_version_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class ProcessFields(models.Model):
    """What the engine keeps on any process it moves (a case, a ticket, a rectification):
    the state, the optimistic-lock counter, the deadline clock and its warning, and how it
    ended. The model that inherits it adds its own domain fields and its definition FK."""

    state = models.CharField("状态", max_length=32, db_index=True)
    row_version = models.PositiveIntegerField("并发版本", default=0)
    clock_state = models.CharField(
        "计时状态", max_length=16, choices=ClockState.choices, default=ClockState.NOT_STARTED
    )
    started_on = models.DateField("计时起算日", null=True, blank=True)
    started_at = models.DateTimeField("计时起算时间", null=True, blank=True)
    due_date = models.DateField("办结期限", null=True, blank=True, db_index=True)
    due_at = models.DateTimeField("办结时刻（按小时计时）", null=True, blank=True)
    due_provisional = models.BooleanField("期限为暂定", default=False)
    state_due_date = models.DateField("本环节期限", null=True, blank=True)
    paused_days = models.PositiveIntegerField("累计暂停（按时限单位）", default=0)
    warning = models.CharField(
        "预警",
        max_length=8,
        choices=DeadlineWarning.choices,
        default=DeadlineWarning.NONE,
        db_index=True,
    )
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)
    outcome = models.CharField("办理结论", max_length=24, blank=True, default="")

    class Meta:
        abstract = True


class ProcessEvent(models.Model):
    """One entry of a process's timeline: who did what, from which state to which, and when.
    Append-only; it is also the process's audit trail."""

    at = models.DateTimeField("时间", auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="操作人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField("操作方", max_length=128)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name="所在机构",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField("操作", max_length=48)
    from_state = models.CharField("原状态", max_length=32, blank=True)
    to_state = models.CharField("新状态", max_length=32, blank=True)
    note = models.TextField("说明", blank=True)
    data = models.JSONField("详情", default=dict, blank=True)
    # Where it happened: empty for this node, else the node that reported it.
    node = models.CharField("节点", max_length=32, blank=True, default="")

    class Meta:
        abstract = True
        ordering = ["at", "id"]


class ProcessPause(models.Model):
    """A stretch during which a process's clock stood still, and why."""

    reason = models.CharField("原因", max_length=24)
    detail = models.CharField("说明", max_length=200, blank=True)
    started_on = models.DateField("开始日期")
    ended_on = models.DateField("结束日期", null=True, blank=True)
    days = models.PositiveIntegerField("暂停天数（按时限单位）", default=0)

    class Meta:
        abstract = True
        ordering = ["started_on", "id"]
