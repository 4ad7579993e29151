"""Service halls (政务服务中心 / 便民服务中心) and their 通办 windows (专窗) as data: where a
window is, which organisation receives cases at it, what it receives (入驻: the items of
whole 通办 lists in force, and single items), who staffs it, and the counter consultations
(咨询辅导) recorded at it.

A window receives an item when the item is named on it, or stands on the version in force
of a list the window receives (`halls.selectors.window_receives`); intake is only at such a
window (`halls.services.check_intake`, asked by `cases.services.start_case`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from catalog.models import ItemList, ServiceItem
from core.models import Division, Organisation
from core.personal_data import EncryptedTextField


class ServiceHall(models.Model):
    """A service hall: a 政务服务中心 of a province, city or county, or a 便民服务中心 of a
    乡镇/街道 (a 便民服务站 of a 村/社区), with its public face — address, opening hours,
    phone. Its windows (`Window`) say what it handles."""

    class Kind(models.TextChoices):
        CENTRE = "centre", "政务服务中心"
        TOWNSHIP = "township", "便民服务中心"
        VILLAGE = "village", "便民服务站"

    code = models.SlugField("代码", max_length=48, unique=True, help_text="页面地址中的代码")
    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=16, choices=Kind.choices, default=Kind.CENTRE)
    organisation = models.ForeignKey(
        Organisation,
        verbose_name="运行机构",
        on_delete=models.PROTECT,
        related_name="halls",
        help_text="负责大厅运行的机构，通常为政务服务中心（政务服务管理办公室）",
    )
    division = models.ForeignKey(
        Division, verbose_name="所在区划", on_delete=models.PROTECT, related_name="halls"
    )
    address = models.CharField("地址", max_length=200)
    opening_hours = models.TextField("办公时间", help_text="每行一条，如“周一至周五 9:00—17:00”")
    phone = models.CharField("咨询电话", max_length=64)
    directions = models.CharField("交通指引", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "政务服务大厅"
        ordering = ["division__code", "code"]

    def __str__(self) -> str:
        return self.name

    def hours_lines(self) -> list[str]:
        return [line.strip() for line in self.opening_hours.splitlines() if line.strip()]


class Window(models.Model):
    """A window (窗口) of a hall — a 通办专窗 or a department's counter. Cases taken in at
    it are received by its `organisation` (the hall's, unless a department staffs it); it
    receives the items of the lists and the single items named here (入驻), and only its
    assigned clerks take cases in at it."""

    hall = models.ForeignKey(
        ServiceHall, verbose_name="所在大厅", on_delete=models.PROTECT, related_name="windows"
    )
    number = models.CharField("窗口号", max_length=16)
    name = models.CharField("名称", max_length=64, help_text="如“跨省通办专窗”")
    organisation = models.ForeignKey(
        Organisation,
        verbose_name="受理机构",
        on_delete=models.PROTECT,
        related_name="windows",
        help_text="在本窗口收件的办件由该机构受理；窗口人员须持有该机构的窗口人员角色",
    )
    lists = models.ManyToManyField(
        ItemList,
        verbose_name="入驻清单",
        blank=True,
        related_name="windows",
        help_text="收取清单现行版本中的全部事项",
    )
    items = models.ManyToManyField(
        ServiceItem, verbose_name="入驻事项", blank=True, related_name="windows"
    )
    clerks = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name="窗口人员", blank=True, related_name="windows"
    )

    class Meta:
        verbose_name = verbose_name_plural = "窗口"
        ordering = ["hall", "number"]
        constraints = [
            models.UniqueConstraint(fields=["hall", "number"], name="window_number_once"),
        ]

    def __str__(self) -> str:
        return f"{self.hall.name} {self.label}"

    @property
    def label(self) -> str:
        return f"{self.number}号窗口（{self.name}）"


class Consultation(models.Model):
    """A counter consultation (咨询辅导): who asked at which window about which item, what
    they were told, and how it ended. The asker's name and contact are personal data:
    encrypted, with masked copies for screens; the question and the answer are scrubbed of
    ID and mobile numbers when recorded."""

    class Outcome(models.TextChoices):
        ANSWERED = "answered", "当场解答"
        APPLIED = "applied", "当场受理"
        REFERRED = "referred", "引导至其他窗口或部门"
        FOLLOW_UP = "follow_up", "需后续答复"

    window = models.ForeignKey(
        Window, verbose_name="窗口", on_delete=models.PROTECT, related_name="consultations"
    )
    clerk = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="接待人员",
        on_delete=models.PROTECT,
        related_name="consultations",
    )
    at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    item = models.ForeignKey(
        ServiceItem,
        verbose_name="咨询事项",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consultations",
    )
    item_name = models.CharField("事项名称", max_length=200, blank=True)
    asker_name = EncryptedTextField("咨询人姓名（加密）", blank=True)
    asker_name_masked = models.CharField("咨询人", max_length=64, blank=True, editable=False)
    asker_contact = EncryptedTextField("联系电话（加密）", blank=True)
    asker_contact_masked = models.CharField("联系电话", max_length=20, blank=True, editable=False)
    question = models.CharField("咨询内容", max_length=500)
    answer = models.TextField("答复", blank=True)
    outcome = models.CharField("结果", max_length=16, choices=Outcome.choices)
    case_number = models.CharField("受理办件", max_length=40, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "窗口咨询"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["window", "-at"], name="consultation_window_at")]

    def __str__(self) -> str:
        return f"{self.window} {self.at:%Y-%m-%d %H:%M} {self.question[:20]}"
