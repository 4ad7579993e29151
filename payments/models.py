"""Payments (支付) of a case's fees and postage, and the payment notices that settled them.

A payment names its case by number only: `cases` is a higher floor (DESIGN.md §4.3). Its
amount is the sum of its lines (each fee of the item version, the postage), fixed when it
is opened; a notice from the gateway must carry exactly that amount.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models

from core.models import Organisation


class PaymentStatus(models.TextChoices):
    DUE = "due", "待缴费"
    PAID = "paid", "已缴费"
    REFUNDED = "refunded", "已退款"
    CANCELLED = "cancelled", "已取消"


class PaymentMethod(models.TextChoices):
    ONLINE = "online", "网上支付"
    CASH = "cash", "现金"
    POS = "pos", "POS 刷卡"


# A payment in one of these holds the case: there is one at most per case.
OPEN_STATUSES = (PaymentStatus.DUE, PaymentStatus.PAID)


def new_order_number() -> str:
    """Our order number (商户订单号), sent to the gateway and echoed in its notices."""
    return "TB" + uuid.uuid4().hex[:24].upper()


class Payment(models.Model):
    """What a case's applicant owes (fees of the item version, postage of the result), to
    which organisation, and how and when it was paid or refunded. State changes go
    through `payments.services`."""

    Status = PaymentStatus
    Method = PaymentMethod

    order_number = models.CharField(
        "订单号", max_length=32, unique=True, default=new_order_number, editable=False
    )
    case_number = models.CharField("办件编号", max_length=40)
    payee = models.ForeignKey(
        Organisation, verbose_name="收款单位", on_delete=models.PROTECT, related_name="+"
    )
    subject = models.CharField("缴费事项", max_length=200)
    # [{"kind": "fee"|"postage", "name": ..., "amount": "20.00", "basis": ...}]
    lines = models.JSONField("缴费明细", default=list)
    amount = models.DecimalField("金额（元）", max_digits=10, decimal_places=2)
    status = models.CharField(
        "状态", max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.DUE
    )
    method = models.CharField("支付方式", max_length=16, choices=PaymentMethod.choices, blank=True)
    gateway = models.CharField("支付渠道", max_length=32, blank=True)
    # The gateway's own number of the settled transaction (支付流水号), or the POS slip's.
    trade_number = models.CharField("支付流水号", max_length=64, blank=True)
    created_at = models.DateTimeField("开单时间", auto_now_add=True)
    paid_at = models.DateTimeField("缴费时间", null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="收款人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    refund_number = models.CharField("退款单号", max_length=64, blank=True)
    refunded_at = models.DateTimeField("退款/取消时间", null=True, blank=True)
    refund_reason = models.CharField("退款原因", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "支付"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["case_number"], name="payment_case_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="payment_amount_positive"
            ),
            models.UniqueConstraint(
                fields=["case_number"],
                condition=models.Q(status__in=["due", "paid"]),
                name="payment_one_open_per_case",
            ),
            models.UniqueConstraint(
                fields=["gateway", "trade_number"],
                condition=~models.Q(trade_number=""),
                name="payment_trade_number_unique",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="paid") | models.Q(paid_at__isnull=False),
                name="payment_paid_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_number} {self.amount} 元（{self.get_status_display()}）"

    @property
    def is_due(self) -> bool:
        return self.status == PaymentStatus.DUE

    @property
    def amount_text(self) -> str:
        return f"{self.amount.quantize(Decimal('0.01'))}"


class PaymentNotice(models.Model):
    """A payment notice (支付结果通知) the gateway sent and we accepted: the signed bytes
    exactly as received, so the evidence can be checked again later. Append-only; a
    notice refused (bad signature, other amount, repeated) is not stored."""

    notice_id = models.CharField("通知编号", max_length=64)
    gateway = models.CharField("支付渠道", max_length=32)
    payment = models.ForeignKey(
        Payment, verbose_name="支付", on_delete=models.PROTECT, related_name="notices"
    )
    body = models.TextField("通知原文")
    signature = models.CharField("签名", max_length=400)
    received_at = models.DateTimeField("接收时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "支付结果通知"
        constraints = [
            models.UniqueConstraint(fields=["gateway", "notice_id"], name="payment_notice_once"),
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.notice_id}"
