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
from django.utils import timezone

from core.models import Organisation


class PaymentStatus(models.TextChoices):
    DUE = "due", "待缴费"
    PAID = "paid", "已缴费"
    # The case ended and a refund is owed, but the gateway has not confirmed it yet: the
    # refund (`Refund`, pending) is retried by the worker until it does.
    REFUNDING = "refunding", "退款中"
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


class RefundCause(models.TextChoices):
    CASE = "case", "办件未得结果"
    DUPLICATE = "duplicate", "重复缴费"


class RefundStatus(models.TextChoices):
    PENDING = "pending", "待退款"
    DONE = "done", "已退款"


class Refund(models.Model):
    """A refund asked of the gateway (退款), kept until the gateway confirms it.

    `request_number` (退款请求号) is derived from the gateway's trade number, so the same
    money is never asked back twice: the gateway answers a repeated request with the
    refund it already made, and our unique constraint refuses a second row. A refund the
    gateway refused or could not be asked stays `pending` and is retried by the worker
    (`payments.retry_refunds`) at `next_attempt_at`."""

    Cause = RefundCause
    Status = RefundStatus

    payment = models.ForeignKey(
        Payment, verbose_name="支付", on_delete=models.PROTECT, related_name="refunds"
    )
    gateway = models.CharField("支付渠道", max_length=32)
    trade_number = models.CharField("支付流水号", max_length=64)
    request_number = models.CharField("退款请求号", max_length=40, unique=True)
    amount = models.DecimalField("金额（元）", max_digits=10, decimal_places=2)
    cause = models.CharField("退款原因类别", max_length=16, choices=RefundCause.choices)
    reason = models.CharField("退款原因", max_length=200)
    status = models.CharField(
        "状态", max_length=16, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    refund_number = models.CharField("退款单号", max_length=64, blank=True)
    attempts = models.PositiveIntegerField("尝试次数", default=0)
    next_attempt_at = models.DateTimeField("下次尝试时间", null=True, blank=True)
    last_error = models.CharField("最近一次失败原因", max_length=200, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    done_at = models.DateTimeField("退款时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "退款"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="refund_due_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive"),
            models.UniqueConstraint(
                fields=["gateway", "trade_number"], name="refund_once_per_trade"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request_number} {self.amount} 元（{self.get_status_display()}）"


class DiscrepancyKind(models.TextChoices):
    DOUBLE_PAYMENT = "double_payment", "重复缴费（已退款或退款中）"
    UNKNOWN_ORDER = "unknown_order", "对账单有、本节点无此订单"
    NOTICE_MISSING = "notice_missing", "平台已收款、本节点未收到支付通知"
    AMOUNT_MISMATCH = "amount_mismatch", "金额不符"
    MISSING_AT_GATEWAY = "missing_at_gateway", "本节点记为网上已缴、对账单无此交易"


class Reconciliation(models.Model):
    """One run of 对账 for one gateway and one day: the statement compared with our
    payments. Run again for the same day, it is updated; its discrepancies are not
    repeated."""

    gateway = models.CharField("支付渠道", max_length=32)
    day = models.DateField("对账日期")
    entries = models.PositiveIntegerField("对账单笔数", default=0)
    matched = models.PositiveIntegerField("相符笔数", default=0)
    discrepancies = models.PositiveIntegerField("差异笔数", default=0)
    run_at = models.DateTimeField("对账时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "对账"
        ordering = ["-day", "gateway"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "day"], name="reconciliation_once_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.day}"


class Discrepancy(models.Model):
    """A difference 对账 found between the gateway's statement and our payments."""

    Kind = DiscrepancyKind

    reconciliation = models.ForeignKey(
        Reconciliation,
        verbose_name="对账",
        on_delete=models.PROTECT,
        related_name="found",
    )
    kind = models.CharField("差异类别", max_length=24, choices=DiscrepancyKind.choices)
    order_number = models.CharField("订单号", max_length=64)
    trade_number = models.CharField("支付流水号", max_length=64, blank=True)
    amount = models.DecimalField("金额（元）", max_digits=10, decimal_places=2)
    refund = models.ForeignKey(
        Refund,
        verbose_name="退款",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    found_at = models.DateTimeField("发现时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "对账差异"
        ordering = ["-found_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "order_number", "trade_number"], name="discrepancy_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.order_number}"


class LocalTrade(models.Model):
    """The local gateway's own ledger (the demo's stand-in for the platform's books): each
    payment taken at its cashier and each refund it made. Its daily statement is read
    from here, so 对账 runs on the demo as against the real platform."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", "收款"
        REFUND = "refund", "退款"

    kind = models.CharField("类别", max_length=16, choices=Kind.choices)
    order_number = models.CharField("订单号", max_length=64)
    trade_number = models.CharField("支付流水号", max_length=64)
    amount = models.DecimalField("金额（元）", max_digits=10, decimal_places=2)
    # For a refund: the merchant's request number (a repeated request gets the same
    # refund) and the refund's own number.
    request_number = models.CharField("退款请求号", max_length=40, blank=True)
    refund_number = models.CharField("退款单号", max_length=64, blank=True)
    at = models.DateTimeField("时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "本地支付渠道流水"
        ordering = ["at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["request_number"],
                condition=~models.Q(request_number=""),
                name="local_trade_refund_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.order_number} {self.amount}"
