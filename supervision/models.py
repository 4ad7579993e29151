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

    class Meta:
        abstract = True


COUNTER_FIELDS = [f.name for f in Counters._meta.local_fields]


class CaseFact(models.Model):
    """What the figures need to know about one submitted case, derived from it alone (no
    personal data: no applicant, no form). Rebuilt whenever the case changes."""

    case = models.OneToOneField(
        Case, primary_key=True, on_delete=models.CASCADE, related_name="+", verbose_name="办件"
    )
    month = models.DateField("收件月份")
    received_on = models.DateField("收件日期")
    organisation = models.ForeignKey(
        Organisation, verbose_name="业务属地", on_delete=models.PROTECT, related_name="+"
    )
    receiving_org = models.ForeignKey(
        Organisation, verbose_name="收件地", on_delete=models.PROTECT, related_name="+"
    )
    item = models.ForeignKey(
        ServiceItem, verbose_name="事项", on_delete=models.PROTECT, related_name="+"
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
        Organisation, verbose_name="业务属地", on_delete=models.PROTECT, related_name="+"
    )
    item = models.ForeignKey(
        ServiceItem, verbose_name="事项", on_delete=models.PROTECT, related_name="+"
    )

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


class HandlingDays(models.Model):
    """Rollup: how many decided cases took `days` working days, per organisation and
    month — the distribution the percentiles are read from."""

    month = models.DateField("月份")
    organisation = models.ForeignKey(
        Organisation, verbose_name="业务属地", on_delete=models.PROTECT, related_name="+"
    )
    days = models.PositiveIntegerField("办理用时（工作日）")
    count = models.PositiveIntegerField("件数")

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
    """A list's target: how many items it must make available (the plan's split of the
    national 跨省通办 list: 58 全程网办, 74 异地代收代办, 8 多地联办)."""

    list = models.ForeignKey(
        "catalog.ItemList", verbose_name="清单", on_delete=models.CASCADE, related_name="+"
    )
    mode = models.CharField("业务模式", max_length=16, choices=MODE_CHOICES)
    target = models.PositiveIntegerField("目标事项数")
    due_date = models.DateField("完成期限", null=True, blank=True)
    source = models.CharField("依据", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "清单目标"
        constraints = [models.UniqueConstraint(fields=["list", "mode"], name="list_target_once")]

    def __str__(self) -> str:
        return f"{self.list_id} {self.mode} {self.target}"
