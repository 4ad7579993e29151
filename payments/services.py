"""Every state change of payments: opening one, paying online, the gateway's notice,
paying at the window, refunding.

Rules: a payment's amount is the sum of its lines, fixed when it is opened; a case has one
open payment at most. A notice settles a payment only if its signature is the gateway's
(`payment_notice_bad_signature`), it names a payment we opened (`payment_unknown`), it
carries exactly the amount due (`payment_amount_mismatch`) and neither it nor any other
notice has settled that payment before (`payment_notice_duplicate`): a repeated notice has
no second effect. Every change is audited; a settlement is reported to the callbacks of
`payments.registry` inside its own transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from core.actors import Actor, SystemActor
from core.exceptions import ProblemList, RuleViolation
from core.models import Organisation
from core.services import record_audit
from payments import registry
from payments.gateways import (
    GatewayUnavailable,
    NoticeRefused,
    OrderRequest,
    RefundRequest,
    gateway,
)
from payments.models import OPEN_STATUSES, Payment, PaymentMethod, PaymentNotice, PaymentStatus

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
# Where the gateway posts its notices (payments/api.py).
NOTICE_PATH = "/api/v1/payments/notices/{gateway}"
MAX_AMOUNT = Decimal("99999999.99")
# The actor named in audit rows of changes the gateway reported.
GATEWAY_ACTOR = SystemActor("payment_gateway")


class LineKind:
    FEE = "fee"
    POSTAGE = "postage"


@dataclass(frozen=True)
class Line:
    """One thing paid for: a fee of the item (工本费 …) or the postage of the result."""

    kind: str
    name: str
    amount: Decimal
    basis: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "name": self.name,
            "amount": str(self.amount.quantize(CENT)),
            "basis": self.basis,
        }


def open_payment(
    *,
    case_number: str,
    payee: Organisation,
    subject: str,
    lines: list[Line],
    actor: Actor,
) -> Payment:
    """Open the payment of case `case_number`: what is owed, line by line, to `payee`.

    Refused (`payment_invalid`) with no line, a line that is not a positive amount in
    yuan and fen, or a total of nothing; `payment_exists` if the case already has an open
    payment."""
    problems = ProblemList()
    if not lines:
        problems.add("没有缴费项目", field="lines")
    for index, line in enumerate(lines):
        if line.kind not in (LineKind.FEE, LineKind.POSTAGE) or not line.name.strip():
            problems.add("缴费项目须有类别和名称", field=f"lines[{index}]")
        if (
            not line.amount.is_finite()
            or line.amount <= 0
            or line.amount != line.amount.quantize(CENT)
        ):
            problems.add(f"“{line.name}”的金额须为大于零的元、角、分", field=f"lines[{index}]")
    problems.raise_if_any("payment_invalid", "缴费信息有误，未开单")
    total = sum((line.amount for line in lines), Decimal("0")).quantize(CENT)
    if total > MAX_AMOUNT:
        raise RuleViolation("payment_invalid", "缴费金额超出上限", field="lines")
    with transaction.atomic():
        if Payment.objects.filter(case_number=case_number, status__in=OPEN_STATUSES).exists():
            raise RuleViolation(
                "payment_exists", f"办件 {case_number} 已有未结的缴费单", status=409
            )
        payment = Payment.objects.create(
            case_number=case_number,
            payee=payee,
            subject=subject[:200],
            lines=[line.as_dict() for line in lines],
            amount=total,
        )
        record_audit(
            actor=actor,
            action="open_payment",
            obj=payment,
            summary=f"办件 {case_number} 开具缴费单 {payment.order_number}，{total} 元",
            data={"case_number": case_number, "amount": str(total), "lines": payment.lines},
        )
    return payment


def start_online_payment(payment: Payment, *, base_url: str, return_url: str, actor: Actor) -> str:
    """Open the order at the gateway and return the page where the applicant pays it.

    Refused with `payment_not_due` unless the payment is still due, and with
    `payment_gateway_unavailable` (503) if the gateway cannot be asked. Nothing is stored
    but the gateway's code: the order number is ours, the notice brings the rest. The
    gateway posts its notice to this node's API at `base_url` (`NOTICE_PATH`)."""
    if not payment.is_due:
        raise RuleViolation(
            "payment_not_due",
            f"缴费单 {payment.order_number} 已{payment.get_status_display()}",
            status=409,
        )
    adapter = gateway()
    request = OrderRequest(
        order_number=payment.order_number,
        amount=payment.amount_text,
        subject=payment.subject,
        payee_uscc=payment.payee.uscc,
        notify_url=base_url.rstrip("/") + NOTICE_PATH.format(gateway=adapter.code),
        return_url=return_url,
    )
    try:
        order = adapter.create_order(request)
    except GatewayUnavailable as exc:
        raise RuleViolation("payment_gateway_unavailable", str(exc), status=503) from exc
    with transaction.atomic():
        updated = Payment.objects.filter(pk=payment.pk, status=PaymentStatus.DUE).update(
            gateway=adapter.code
        )
        if updated:
            payment.gateway = adapter.code
            record_audit(
                actor=actor,
                action="start_online_payment",
                obj=payment,
                summary=f"缴费单 {payment.order_number} 在{adapter.code}支付渠道下单",
                data={"gateway": adapter.code},
            )
    return order.pay_url


def receive_notice(body: bytes, signature: str, *, gateway_code: str) -> Payment:
    """Settle a payment from the gateway's signed notice (支付结果通知).

    Checked in this order, each refusal changing nothing: the gateway is the configured
    one (`payment_gateway_unknown`), the signature is its own over exactly these bytes
    (`payment_notice_bad_signature`), the document is well formed
    (`payment_notice_invalid`), it names one of our payments (`payment_unknown`), neither
    this notice nor another settled the payment before (`payment_notice_duplicate`, 409:
    the gateway may stop resending), the payment was not cancelled or refunded meanwhile
    (`payment_not_due`) and the amount is exactly the amount due
    (`payment_amount_mismatch`)."""
    adapter = gateway()
    if gateway_code != adapter.code:
        raise RuleViolation(
            "payment_gateway_unknown", f"未知的支付渠道：{gateway_code}", status=404
        )
    try:
        notice = adapter.read_notice(body, signature)
    except NoticeRefused as exc:
        logger.warning("payment notice refused (%s): %s", adapter.code, exc.code)
        raise RuleViolation(exc.code, exc.message, status=400) from exc
    except GatewayUnavailable as exc:
        raise RuleViolation("payment_gateway_unavailable", str(exc), status=503) from exc
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update()
            .select_related("payee")
            .filter(order_number=notice.order_number)
            .first()
        )
        if payment is None:
            raise RuleViolation(
                "payment_unknown", f"没有订单号为 {notice.order_number} 的缴费单", status=404
            )
        repeated = PaymentNotice.objects.filter(gateway=adapter.code, notice_id=notice.notice_id)
        if repeated.exists() or payment.status == PaymentStatus.PAID:
            logger.info("payment notice repeated: order %s", payment.order_number)
            raise RuleViolation(
                "payment_notice_duplicate",
                f"缴费单 {payment.order_number} 已缴费，重复的支付结果通知不再处理",
                status=409,
            )
        if payment.status != PaymentStatus.DUE:
            raise RuleViolation(
                "payment_not_due",
                f"缴费单 {payment.order_number} 已{payment.get_status_display()}，不能再缴费",
                status=409,
            )
        if notice.amount != payment.amount:
            logger.warning("payment notice amount mismatch: order %s", payment.order_number)
            raise RuleViolation(
                "payment_amount_mismatch",
                f"支付结果通知的金额 {notice.amount} 元与应缴金额 {payment.amount_text} 元不符，不予处理",
                status=400,
            )
        payment.status = PaymentStatus.PAID
        payment.method = PaymentMethod.ONLINE
        payment.gateway = adapter.code
        payment.trade_number = notice.trade_number
        payment.paid_at = notice.paid_at
        payment.save(update_fields=["status", "method", "gateway", "trade_number", "paid_at"])
        PaymentNotice.objects.create(
            notice_id=notice.notice_id,
            gateway=adapter.code,
            payment=payment,
            body=body.decode("utf-8"),
            signature=signature.strip()[:400],
        )
        record_audit(
            actor=GATEWAY_ACTOR,
            action="receive_payment_notice",
            obj=payment,
            summary=f"缴费单 {payment.order_number} 网上缴费 {payment.amount_text} 元",
            data={"notice_id": notice.notice_id, "trade_number": notice.trade_number},
        )
        registry.paid(payment)
    return payment


def record_counter_payment(
    payment: Payment, *, method: str, reference: str = "", actor: Actor
) -> Payment:
    """The window took the payment in cash or by POS (窗口收费): `reference` is the POS
    slip's number (required for POS, `payment_reference_missing`). Callers authorise the
    clerk first; `payment_not_due` if it is no longer due."""
    reference = reference.strip()
    if method not in (PaymentMethod.CASH, PaymentMethod.POS):
        raise RuleViolation("payment_method_invalid", "请选择现金或 POS 刷卡", field="method")
    if method == PaymentMethod.POS and not reference:
        raise RuleViolation(
            "payment_reference_missing", "POS 刷卡须填写凭证号（参考号）", field="reference"
        )
    if len(reference) > 64:
        raise RuleViolation(
            "payment_reference_invalid", "凭证号不能超过64个字符", field="reference"
        )
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("payee").get(pk=payment.pk)
        if not payment.is_due:
            raise RuleViolation(
                "payment_not_due",
                f"缴费单 {payment.order_number} 已{payment.get_status_display()}",
                status=409,
            )
        payment.status = PaymentStatus.PAID
        payment.method = method
        payment.gateway = "counter"
        payment.trade_number = reference
        payment.paid_at = timezone.now()
        payment.recorded_by = actor if isinstance(actor, AbstractBaseUser) else None
        payment.save(
            update_fields=["status", "method", "gateway", "trade_number", "paid_at", "recorded_by"]
        )
        record_audit(
            actor=actor,
            action="record_counter_payment",
            obj=payment,
            summary=(
                f"缴费单 {payment.order_number} 窗口收费 {payment.amount_text} 元"
                f"（{payment.get_method_display()}）"
            ),
            data={"method": method, "reference": reference},
        )
        registry.paid(payment)
    return payment


def refund_payment(payment: Payment, *, reason: str, actor: Actor) -> Payment:
    """Give back what was paid (退费), or cancel what is still due.

    A payment made online is refunded through the gateway it was paid with (asked inside
    the transaction, so a gateway that refuses leaves the payment paid and the caller's
    change undone: `payment_gateway_unavailable`); one made at the window is recorded as
    refunded there. A payment already refunded or cancelled is left as it is."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status not in OPEN_STATUSES:
            return payment
        was = payment.status
        if was == PaymentStatus.PAID and payment.method == PaymentMethod.ONLINE:
            adapter = gateway()
            if adapter.code != payment.gateway:
                raise RuleViolation(
                    "payment_gateway_unavailable",
                    f"缴费单 {payment.order_number} 经 {payment.gateway} 支付，当前支付渠道无法退款",
                    status=503,
                )
            try:
                payment.refund_number = adapter.refund(
                    RefundRequest(
                        order_number=payment.order_number,
                        trade_number=payment.trade_number,
                        amount=payment.amount_text,
                        reason=reason[:200],
                    )
                )
            except GatewayUnavailable as exc:
                raise RuleViolation("payment_gateway_unavailable", str(exc), status=503) from exc
        payment.status = (
            PaymentStatus.REFUNDED if was == PaymentStatus.PAID else PaymentStatus.CANCELLED
        )
        payment.refunded_at = timezone.now()
        payment.refund_reason = reason[:200]
        payment.save(update_fields=["status", "refund_number", "refunded_at", "refund_reason"])
        record_audit(
            actor=actor,
            action="refund_payment" if was == PaymentStatus.PAID else "cancel_payment",
            obj=payment,
            summary=(
                f"缴费单 {payment.order_number} "
                f"{'退款 ' + payment.amount_text + ' 元' if was == PaymentStatus.PAID else '取消'}：{reason[:100]}"
            ),
            data={"refund_number": payment.refund_number, "was": was},
        )
    return payment
