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

import datetime as dt
import hashlib
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
from payments.models import (
    OPEN_STATUSES,
    Discrepancy,
    DiscrepancyKind,
    Payment,
    PaymentMethod,
    PaymentNotice,
    PaymentStatus,
    Reconciliation,
    Refund,
    RefundCause,
    RefundStatus,
)

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
# Where the gateway posts its notices (payments/api.py).
NOTICE_PATH = "/api/v1/payments/notices/{gateway}"
MAX_AMOUNT = Decimal("99999999.99")
# The actor named in audit rows of changes the gateway reported.
GATEWAY_ACTOR = SystemActor("payment_gateway")
# The actor of refunds retried and of 对账 run by the worker.
REFUND_ACTOR = SystemActor("payment_reconciliation")


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

    A payment made online is refunded through the gateway it was paid with: a `Refund` is
    written and asked at once; if the gateway refuses or cannot be reached, the payment
    stays 退款中 (`refunding`) and the worker retries (`retry_refunds`) — the caller's
    action is never refused for it (decision 273). One made at the window is recorded as
    refunded there. A payment already refunded, refunding or cancelled is left as it is."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status not in OPEN_STATUSES:
            return payment
        was = payment.status
        payment.refunded_at = timezone.now()
        payment.refund_reason = reason[:200]
        refund = None
        if was == PaymentStatus.PAID and payment.method == PaymentMethod.ONLINE:
            payment.status = PaymentStatus.REFUNDING
            refund = Refund.objects.create(
                payment=payment,
                gateway=payment.gateway,
                trade_number=payment.trade_number,
                request_number=refund_request_number(payment.gateway, payment.trade_number),
                amount=payment.amount,
                cause=RefundCause.CASE,
                reason=reason[:200],
            )
        else:
            payment.status = (
                PaymentStatus.REFUNDED if was == PaymentStatus.PAID else PaymentStatus.CANCELLED
            )
        payment.save(update_fields=["status", "refunded_at", "refund_reason"])
        record_audit(
            actor=actor,
            action="refund_payment" if was == PaymentStatus.PAID else "cancel_payment",
            obj=payment,
            summary=(
                f"缴费单 {payment.order_number} "
                f"{'退款 ' + payment.amount_text + ' 元' if was == PaymentStatus.PAID else '取消'}：{reason[:100]}"
            ),
            data={"was": was, "refund": refund.request_number if refund else ""},
        )
        if refund is not None:
            _attempt(refund, actor=actor)
            payment.refresh_from_db()
    return payment


def refund_request_number(gateway_code: str, trade_number: str) -> str:
    """Our request number for refunding one trade: the same for the same trade, always,
    so the gateway and our unique constraint both see a second request as the first."""
    digest = hashlib.sha256(f"{gateway_code}:{trade_number}".encode()).hexdigest()
    return "RF" + digest[:30].upper()


# Seconds before the n-th retry of a refund: 5 minutes, doubling, at most 6 hours.
RETRY_FIRST_SECONDS = 300
RETRY_MAX_SECONDS = 6 * 3600


def _attempt(refund: Refund, *, actor: Actor) -> Refund:
    """Ask the gateway for `refund` (locked by the caller's transaction). Done: the refund
    and its payment are marked refunded. Refused or unreachable: the next attempt is
    scheduled with a growing delay, and the reason kept (no personal data in it)."""
    adapter = gateway()
    refund.attempts += 1
    try:
        if adapter.code != refund.gateway:
            raise GatewayUnavailable(
                f"经 {refund.gateway} 支付，当前支付渠道 {adapter.code} 无法退款"
            )
        number = adapter.refund(
            RefundRequest(
                order_number=refund.payment.order_number,
                trade_number=refund.trade_number,
                amount=str(refund.amount.quantize(CENT)),
                reason=refund.reason,
                request_number=refund.request_number,
            )
        )
    except GatewayUnavailable as exc:
        delay = min(RETRY_FIRST_SECONDS * 2 ** (refund.attempts - 1), RETRY_MAX_SECONDS)
        refund.next_attempt_at = timezone.now() + dt.timedelta(seconds=delay)
        refund.last_error = str(exc)[:200]
        refund.save(update_fields=["attempts", "next_attempt_at", "last_error"])
        logger.warning(
            "refund %s not made (attempt %s): %s",
            refund.request_number,
            refund.attempts,
            type(exc).__name__,
        )
        record_audit(
            actor=actor,
            action="refund_queued",
            obj=refund.payment,
            summary=f"退款 {refund.request_number} 未成功，将于稍后重试：{refund.last_error[:100]}",
            data={"request_number": refund.request_number, "attempts": refund.attempts},
        )
        return refund
    now = timezone.now()
    refund.status = RefundStatus.DONE
    refund.refund_number = number
    refund.done_at = now
    refund.next_attempt_at = None
    refund.last_error = ""
    refund.save(
        update_fields=[
            "attempts",
            "status",
            "refund_number",
            "done_at",
            "next_attempt_at",
            "last_error",
        ]
    )
    if refund.cause == RefundCause.CASE:
        Payment.objects.filter(pk=refund.payment_id, status=PaymentStatus.REFUNDING).update(
            status=PaymentStatus.REFUNDED, refund_number=number, refunded_at=now
        )
    record_audit(
        actor=actor,
        action="refund_done",
        obj=refund.payment,
        summary=f"退款 {refund.request_number} 已退回 {refund.amount} 元（{refund.get_cause_display()}）",
        data={"request_number": refund.request_number, "refund_number": number},
    )
    return refund


def retry_refunds(now: dt.datetime | None = None) -> dict[str, int]:
    """The worker's job `payments.retry_refunds`: ask again for every pending refund whose
    time has come. Each is locked and re-read first, so two workers (or a retry racing a
    reconciliation) never ask twice for the same refund; the request number makes a
    repeated request harmless at the gateway as well."""
    now = now or timezone.now()
    done = failed = 0
    due = Refund.objects.filter(status=RefundStatus.PENDING, next_attempt_at__lte=now).values_list(
        "pk", flat=True
    )
    for pk in list(due[:200]):
        with transaction.atomic():
            refund = (
                Refund.objects.select_for_update()
                .select_related("payment")
                .filter(pk=pk, status=RefundStatus.PENDING)
                .first()
            )
            if refund is None:
                continue
            refund = _attempt(refund, actor=REFUND_ACTOR)
        if refund.status == RefundStatus.DONE:
            done += 1
        else:
            failed += 1
    return {"done": done, "failed": failed}


def retry_refunds_job() -> None:
    result = retry_refunds()
    if result["done"] or result["failed"]:
        logger.info("refund retries: %s done, %s still pending", result["done"], result["failed"])


# 对账 -----------------------------------------------------------------------------------------


def reconcile(day: dt.date, *, actor: Actor | None = None) -> Reconciliation:
    """Compare the gateway's statement (对账单) of `day` with our payments (对账).

    A payment line of the statement matches the payment of its order paid online with
    that trade. Otherwise it is a difference, recorded once (`Discrepancy`):
    - the order's payment was settled another way (at the window) or no longer wants the
      money (cancelled, refunded): a double payment (重复缴费) — the trade is refunded
      (a `Refund` of cause `duplicate`, retried like any other);
    - the order is still due: the notice was lost (`notice_missing`, for a person to look
      at: the case stays held until it is settled);
    - an order we never opened (`unknown_order`), or another amount (`amount_mismatch`).
    And a payment we hold as paid online that day but the statement lacks is
    `missing_at_gateway`. Running it again for the same day finds nothing new and refunds
    nothing twice. `payment_gateway_unavailable` (503) if the statement cannot be read."""
    actor = actor or REFUND_ACTOR
    adapter = gateway()
    try:
        entries = adapter.statement(day)
    except GatewayUnavailable as exc:
        raise RuleViolation("payment_gateway_unavailable", str(exc), status=503) from exc
    payments_made = [e for e in entries if e.kind == "payment"]
    orders = {e.order_number for e in payments_made}
    by_order = {p.order_number: p for p in Payment.objects.filter(order_number__in=orders)}
    matched = 0
    refunds: list[Refund] = []
    with transaction.atomic():
        run, _ = Reconciliation.objects.update_or_create(
            gateway=adapter.code, day=day, defaults={"entries": len(entries)}
        )

        def found(kind: str, order: str, trade: str, amount: Decimal) -> Discrepancy:
            row, created = Discrepancy.objects.get_or_create(
                kind=kind,
                order_number=order,
                trade_number=trade,
                defaults={"reconciliation": run, "amount": amount},
            )
            if created:
                logger.warning("reconciliation %s %s: %s", adapter.code, day, kind)
            return row

        seen_trades = set()
        for entry in payments_made:
            seen_trades.add(entry.trade_number)
            payment = by_order.get(entry.order_number)
            if payment is None:
                found(
                    DiscrepancyKind.UNKNOWN_ORDER,
                    entry.order_number,
                    entry.trade_number,
                    entry.amount,
                )
            elif (
                payment.method == PaymentMethod.ONLINE
                and payment.trade_number == entry.trade_number
            ):
                if entry.amount == payment.amount:
                    matched += 1
                else:
                    found(
                        DiscrepancyKind.AMOUNT_MISMATCH,
                        entry.order_number,
                        entry.trade_number,
                        entry.amount,
                    )
            elif payment.status == PaymentStatus.DUE:
                found(
                    DiscrepancyKind.NOTICE_MISSING,
                    entry.order_number,
                    entry.trade_number,
                    entry.amount,
                )
            else:
                row = found(
                    DiscrepancyKind.DOUBLE_PAYMENT,
                    entry.order_number,
                    entry.trade_number,
                    entry.amount,
                )
                if row.refund_id is None:
                    refund, created = Refund.objects.get_or_create(
                        gateway=adapter.code,
                        trade_number=entry.trade_number,
                        defaults={
                            "payment": payment,
                            "request_number": refund_request_number(
                                adapter.code, entry.trade_number
                            ),
                            "amount": entry.amount,
                            "cause": RefundCause.DUPLICATE,
                            "reason": "重复缴费，原路退回",
                        },
                    )
                    row.refund = refund
                    row.save(update_fields=["refund"])
                    if created:
                        record_audit(
                            actor=actor,
                            action="refund_duplicate",
                            obj=payment,
                            summary=(
                                f"对账发现缴费单 {payment.order_number} 重复缴费 {entry.amount} 元，原路退回"
                            ),
                            data={"trade_number": entry.trade_number, "day": day.isoformat()},
                        )
                        refunds.append(refund)
        start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        ours = Payment.objects.filter(
            gateway=adapter.code,
            method=PaymentMethod.ONLINE,
            paid_at__gte=start,
            paid_at__lt=start + dt.timedelta(days=1),
        ).exclude(trade_number__in=seen_trades)
        for payment in ours:
            found(
                DiscrepancyKind.MISSING_AT_GATEWAY,
                payment.order_number,
                payment.trade_number,
                payment.amount,
            )
        run.matched = matched
        run.discrepancies = run.found.count()
        run.save(update_fields=["matched", "discrepancies", "run_at"])
    for refund in refunds:
        with transaction.atomic():
            locked = (
                Refund.objects.select_for_update()
                .select_related("payment")
                .filter(pk=refund.pk, status=RefundStatus.PENDING)
                .first()
            )
            if locked is not None:
                _attempt(locked, actor=actor)
    return run


def reconcile_job() -> None:
    """The worker's job `payments.reconcile`: yesterday's statement (Beijing time), once
    it is complete; repeated runs of the same day change nothing."""
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    try:
        run = reconcile(yesterday)
    except RuleViolation as exc:
        logger.warning("reconciliation of %s not run: %s", yesterday, exc.code)
        return
    logger.info(
        "reconciliation %s %s: %s entries, %s matched, %s discrepancies",
        run.gateway,
        run.day,
        run.entries,
        run.matched,
        run.discrepancies,
    )
