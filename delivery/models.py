"""Postal shipments (寄递) of 异地代收代办 and their tracking events.

A shipment carries paper materials from the receiving window (region A) to the handling
organisation (region B), or a result from B to the applicant or to A's window. It names
its case by number only: `cases` is a higher floor (DESIGN.md §4.3).

Names, mobile numbers, addresses and the signer are personal data: they are stored
encrypted and shown masked (DESIGN.md §4.4).
"""

from __future__ import annotations

import uuid

from django.db import models

from core.personal_data import EncryptedTextField, mask_address, mask_mobile, mask_name
from core.validators import validate_uscc


class ShipmentStatus(models.TextChoices):
    CREATED = "created", "待揽收"
    PICKED_UP = "picked_up", "已揽收"
    IN_TRANSIT = "in_transit", "运输中"
    DELIVERING = "delivering", "派送中"
    DELIVERED = "delivered", "已签收"
    RETURNED = "returned", "已退回"
    FAILED = "failed", "投递失败"


class ShipmentPurpose(models.TextChoices):
    MATERIALS = "materials", "申请材料"
    RESULT = "result", "办理结果"
    SUPPLEMENT = "supplement", "补正材料"


class Shipment(models.Model):
    """One parcel booked with a carrier for a case: who sends it, who receives it, what is
    inside, and how far it has got. State changes go through `delivery.services`."""

    Purpose = ShipmentPurpose
    Status = ShipmentStatus

    public_id = models.UUIDField("公开标识", default=uuid.uuid4, unique=True, editable=False)
    case_number = models.CharField("办件编号", max_length=40)
    purpose = models.CharField("寄递用途", max_length=16, choices=ShipmentPurpose.choices)
    carrier = models.CharField("承运方", max_length=32)
    tracking_number = models.CharField("运单号", max_length=40, blank=True)

    sender_name = EncryptedTextField("寄件人（加密）")
    sender_mobile = EncryptedTextField("寄件人手机号码（加密）")
    sender_address = EncryptedTextField("寄件地址（加密）")
    sender_org_uscc = models.CharField(
        "寄件机构统一社会信用代码", max_length=18, blank=True, validators=[validate_uscc]
    )
    recipient_name = EncryptedTextField("收件人（加密）")
    recipient_mobile = EncryptedTextField("收件人手机号码（加密）")
    recipient_address = EncryptedTextField("收件地址（加密）")
    recipient_org_uscc = models.CharField(
        "收件机构统一社会信用代码", max_length=18, blank=True, validators=[validate_uscc]
    )

    contents = models.CharField("内件", max_length=200)
    status = models.CharField(
        "状态", max_length=16, choices=ShipmentStatus.choices, default=ShipmentStatus.CREATED
    )
    fee = models.DecimalField("资费（元）", max_digits=8, decimal_places=2, default=0)
    booked_at = models.DateTimeField("下单时间", null=True, blank=True)
    delivered_at = models.DateTimeField("签收时间", null=True, blank=True)
    signed_by = EncryptedTextField("签收人（加密）", blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "寄递邮件"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["case_number"], name="shipment_case"),
            models.Index(fields=["carrier", "tracking_number"], name="shipment_tracking"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["carrier", "tracking_number"],
                condition=~models.Q(tracking_number=""),
                name="shipment_tracking_number_once",
            ),
            models.CheckConstraint(
                condition=models.Q(purpose__in=ShipmentPurpose.values),
                name="shipment_purpose_known",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ShipmentStatus.values),
                name="shipment_status_known",
            ),
            models.CheckConstraint(
                condition=models.Q(fee__gte=0), name="shipment_fee_not_negative"
            ),
            models.CheckConstraint(
                condition=~models.Q(status=ShipmentStatus.DELIVERED)
                | models.Q(delivered_at__isnull=False),
                name="shipment_delivered_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tracking_number or '未下单'}（{self.case_number}）"

    # Masked views of the personal data, for pages, the admin and logs.

    @property
    def sender_name_masked(self) -> str:
        return mask_name(self.sender_name)

    @property
    def sender_mobile_masked(self) -> str:
        return mask_mobile(self.sender_mobile)

    @property
    def sender_address_masked(self) -> str:
        return mask_address(self.sender_address)

    @property
    def recipient_name_masked(self) -> str:
        return mask_name(self.recipient_name)

    @property
    def recipient_mobile_masked(self) -> str:
        return mask_mobile(self.recipient_mobile)

    @property
    def recipient_address_masked(self) -> str:
        return mask_address(self.recipient_address)

    @property
    def signed_by_masked(self) -> str:
        return mask_name(self.signed_by or "")

    @property
    def is_open(self) -> bool:
        """Still on its way: the carrier may report more."""
        return self.status not in FINAL_STATUSES


# A shipment in one of these has arrived or come back; nothing moves it again.
FINAL_STATUSES = frozenset({ShipmentStatus.DELIVERED, ShipmentStatus.RETURNED})


class ShipmentEvent(models.Model):
    """One tracking event of a shipment, as the carrier reported it or as window staff
    recorded it. Append-only: polling the carrier twice never stores an event twice
    (`carrier_event_id` is unique per shipment), and no event is edited."""

    class Source(models.TextChoices):
        CARRIER = "carrier", "承运方"
        STAFF = "staff", "窗口人员"

    shipment = models.ForeignKey(
        Shipment, verbose_name="邮件", on_delete=models.PROTECT, related_name="events"
    )
    carrier_event_id = models.CharField("事件标识", max_length=64)
    at = models.DateTimeField("时间")
    status = models.CharField("状态", max_length=16, choices=ShipmentStatus.choices)
    location = models.CharField("地点", max_length=100, blank=True)
    description = models.CharField("说明", max_length=200, blank=True)
    source = models.CharField("来源", max_length=16, choices=Source.choices)
    recorded_at = models.DateTimeField("记录时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "寄递轨迹"
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "carrier_event_id"], name="shipment_event_once"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ShipmentStatus.values),
                name="shipment_event_status_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_status_display()} {self.location}"
