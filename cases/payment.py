"""Fees and postage of a case (缴费): what is due, the hold until it is paid, refunds.

Nothing here decides *when* a case waits for payment: the workflow definition does
(cases/workflows/online.json and joint.json, version 6; proxy.json, version 5). Their
submit actions (proxy: the formal check) run `hold_for_payment`, which moves a case that
owes something, once the change is committed, into the state tagged `awaiting_payment`
through the definition's own system action (the one running `open_payment`); the settled
payment (`payments.registry.on_paid`) takes the system action leaving that state, which
runs `require_paid`. Acceptance (proxy: the forward) also runs `require_paid`, and the
actions that end a case without a result run `refund_payment` — where the definition
says so (docs/payments.md).

What is due at submission: the fee of the pinned item version when it lists one fee with
a fixed amount in yuan, and the postage of the result when the applicant chose delivery
by post (`delivery.services.result_postage`). Several fees (alternatives, charged on
demand) or a fee without an amount (按页计) are assessed by the department: the reviewer's
`assess_fee` action runs `open_payment` with the lines of its `fee_assessment` payload,
checked here (`assessed_lines`, decision 270).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from django.db import transaction

from accounts.models import Role
from accounts.selectors import staff_user
from cases.models import Case
from cases.payloads import FeeAssessment
from cases.selectors import is_applicant
from cases.workflow import SYSTEM, definition_of
from catalog.models import ItemVersion
from core.actors import Actor, SystemActor
from core.exceptions import RuleViolation
from core.process import Transition
from delivery.services import result_postage
from payments import selectors as payment_selectors
from payments import services as payment_services
from payments.models import Payment
from payments.services import Line, LineKind

PAYMENT_ACTOR = SystemActor("payment")
HOLD_TAG = "awaiting_payment"


def _yuan(value: object) -> Decimal | None:
    """A fee amount as yuan and fen, or None if it is not a fixed positive amount."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        return None
    return amount.quantize(Decimal("0.01"))


def listed_fees(version: ItemVersion) -> list[dict[str, Any]]:
    """The fees the item version lists (name, amount, basis), if it charges any."""
    fees = (version.fees or []) if version.fee_charged else []
    return [fee for fee in fees if isinstance(fee, dict)]


def fee_unit(fee: dict[str, Any]) -> Decimal | None:
    """A listed fee's fixed amount in yuan, or None if it has none (按页计 …)."""
    return _yuan(fee.get("amount"))


def fixed_fee(version: ItemVersion) -> Line | None:
    """The item version's fee when it lists exactly one with a fixed amount in yuan."""
    fees = (version.fees or []) if version.fee_charged else []
    if len(fees) == 1 and isinstance(fees[0], dict):
        fee = fees[0]
        amount = _yuan(fee.get("amount"))
        if amount is not None:
            return Line(LineKind.FEE, str(fee.get("name", "")), amount, str(fee.get("basis", "")))
    return None


def needs_assessment(version: ItemVersion) -> bool:
    """Whether the department assesses the fee (核定收费): the version charges fees but
    does not list exactly one with a fixed amount — alternatives (住宅 / 非住宅), fees
    charged on demand (翻译费（按需）) or by quantity (按页计) (decision 270)."""
    return bool(version.fee_charged and version.fees) and fixed_fee(version) is None


def _postage(case: Case) -> list[Line]:
    if case.delivery_method == Case.DeliveryMethod.POST:
        postage = result_postage()
        if postage > 0:
            return [Line(LineKind.POSTAGE, "办理结果邮寄费", postage)]
    return []


def lines_due(case: Case) -> list[Line]:
    """What the applicant of `case` owes at submission: the item version's one fixed fee
    and the postage of a result sent by post. Nothing for an item whose fee the
    department assesses: its payment, postage included, is opened by the assessment."""
    version = case.item_version
    if needs_assessment(version):
        return []
    fee = fixed_fee(version)
    return ([fee] if fee is not None else []) + _postage(case)


def fee_assessable(case: Case) -> bool:
    """Whether 核定收费 is offered on `case`: its fee is assessed by the department, this
    node collects it, and no payment is open yet (what pages ask before showing the form;
    the effect checks it all again)."""
    return (
        needs_assessment(case.item_version)
        and collects_here(case)
        and payment_selectors.open_payment_of(case.number) is None
    )


def assessed_lines(case: Case, assessment: FeeAssessment) -> list[Line]:
    """The lines of a fee assessment (核定收费), checked against the pinned item version:
    each line one of its listed fees (`fee_not_listed`), each at most once
    (`fee_assessed_twice`); a fee with a fixed amount is charged that amount per unit
    (an amount given must be that total), one without is charged the amount assessed,
    which must be a positive sum in yuan and fen (`fee_amount_invalid`); at least one
    line (`fee_assessment_empty`). The postage of a result by post is added."""
    listed = {str(fee.get("name", "")): fee for fee in listed_fees(case.item_version)}
    if not assessment.fees:
        raise RuleViolation("fee_assessment_empty", "请至少选择一项适用的收费项目", field="fees")
    lines: list[Line] = []
    seen: set[str] = set()
    for index, row in enumerate(assessment.fees):
        field = f"fees[{index}]"
        fee = listed.get(row.fee)
        if fee is None:
            raise RuleViolation(
                "fee_not_listed", f"“{row.fee}”不是该事项版本所列的收费项目", field=field
            )
        if row.fee in seen:
            raise RuleViolation("fee_assessed_twice", f"“{row.fee}”重复核定", field=field)
        seen.add(row.fee)
        unit = fee_unit(fee)
        given = _yuan(row.amount) if row.amount is not None else None
        if row.amount is not None and given is None:
            raise RuleViolation(
                "fee_amount_invalid", f"“{row.fee}”的金额须为大于零的元、角、分", field=field
            )
        if unit is not None:
            amount = (unit * row.quantity).quantize(Decimal("0.01"))
            if given is not None and given != amount:
                raise RuleViolation(
                    "fee_amount_invalid",
                    f"“{row.fee}”的收费标准为每项 {unit} 元，{row.quantity} 项应为 {amount} 元",
                    field=field,
                )
        elif given is None:
            raise RuleViolation(
                "fee_amount_invalid", f"“{row.fee}”没有固定金额，请填写核定金额", field=field
            )
        else:
            amount = given
        basis = str(fee.get("basis", ""))
        if row.quantity > 1:
            basis = f"{row.quantity} 项；{basis}" if basis else f"{row.quantity} 项"
        lines.append(Line(LineKind.FEE, row.fee, amount, basis[:200]))
    return lines + _postage(case)


def collects_here(case: Case) -> bool:
    """Whether this node collects the case's payment. The node that handles the case and
    that the applicant applied on; and for 异地代收代办, the receiving window's node,
    when the definition holds the case for payment before it is forwarded (a state both
    `awaiting_payment` and `before_submission`, proxy v5: decision 271). An online case
    forwarded to or from another node is not held (decision 229)."""
    if not case.counterpart_node and case.handling_org.is_local:
        return True
    if case.handling_org.is_local or not case.receiving_org.is_local:
        return False
    definition = definition_of(case)
    return any(
        definition.has_tag(state, "before_submission") for state in definition.tagged(HOLD_TAG)
    )


# Effects named by the definitions ------------------------------------------------------------


def hold_for_payment(t: Transition[Case]) -> None:
    """After submitting: a case that owes something goes on into the state the definition
    tags `awaiting_payment`, through the system action leading there — once the submission
    is committed, so that the applicant is told "submitted" first and "pay now" last.
    Until then acceptance is refused all the same (`require_paid`)."""
    case = t.process
    if not collects_here(case) or not lines_due(case):
        return
    transaction.on_commit(partial(_hold, case.pk), robust=True)


def _hold(case_pk: int) -> None:
    hold_if_due(Case.objects.select_related("workflow").get(pk=case_pk))


def hold_if_due(case: Case) -> Case:
    """Move a submitted case that owes something into the `awaiting_payment` state, unless
    it has its payment already (what `hold_for_payment` does once the submission is
    committed; the demo calls it directly, inside its one transaction)."""
    from cases.engine import take_action

    if not collects_here(case) or not lines_due(case):
        return case
    spec = definition_of(case).action_into(case.state, HOLD_TAG)
    if spec is None or payment_selectors.open_payment_of(case.number) is not None:
        return case
    return take_action(case, spec.name, actor=PAYMENT_ACTOR)


def open_payment(t: Transition[Case]) -> None:
    """Open the case's payment (缴费单) for what it owes; `payment_nothing_due` if nothing."""
    case = t.process
    if not collects_here(case):
        raise RuleViolation(
            "payment_not_collected_here",
            f"办件 {case.number} 由其他节点收件，本节点不能开具缴费单，请告知申请人在收件地缴费",
            status=409,
        )
    if isinstance(t.payload, FeeAssessment):
        if not needs_assessment(case.item_version):
            raise RuleViolation(
                "fee_not_assessed",
                "该事项未列收费或收费标准唯一且固定（提交时自动通知缴费），无需核定收费",
                status=409,
            )
        lines = assessed_lines(case, t.payload)
    else:
        lines = lines_due(case)
    if not lines:
        raise RuleViolation("payment_nothing_due", f"办件 {case.number} 无需缴费")
    payment = payment_services.open_payment(
        case_number=case.number,
        payee=case.handling_org,
        subject=f"{case.item_version.name}（办件 {case.number}）",
        lines=lines,
        actor=t.actor,
    )
    t.event_data["payment"] = {
        "order_number": payment.order_number,
        "amount": payment.amount_text,
        "lines": payment.lines,
    }


def require_paid(t: Transition[Case]) -> None:
    """Refuse (`payment_outstanding`) while the case's payment is still due."""
    payment = payment_selectors.open_payment_of(t.process.number)
    if payment is not None and payment.is_due:
        raise RuleViolation(
            "payment_outstanding",
            f"申请人尚未缴纳费用（{payment.amount_text} 元），缴费后方可继续办理",
            status=409,
        )


def refund_payment(t: Transition[Case]) -> None:
    """Refund what was paid for the case, or cancel what is still due: the case ends
    without the result the fees pay for (decision 232)."""
    payment = payment_selectors.open_payment_of(t.process.number)
    if payment is None:
        return
    label = t.definition.action_label(t.action)
    payment = payment_services.refund_payment(payment, reason=f"办件{label}", actor=t.actor)
    t.event_data["refund"] = {"order_number": payment.order_number, "status": payment.status}


# Told by payments ---------------------------------------------------------------------------------


def payment_settled(payment: Payment) -> None:
    """A `payments.registry.on_paid` callback: the case waiting for this payment moves on,
    through the system action of the definition leaving its `awaiting_payment` state. A
    case not waiting (withdrawn meanwhile, or never held) is left as it is."""
    case = Case.objects.select_related("workflow").filter(number=payment.case_number).first()
    if case is None:
        return
    definition = definition_of(case)
    if not definition.has_tag(case.state, HOLD_TAG):
        return
    spec = next(
        (
            a
            for a in definition.actions_from(case.state)
            if "require_paid" in a.effects and any(w.role == SYSTEM for w in a.by)
        ),
        None,
    )
    if spec is None:
        return
    from cases.engine import take_action

    take_action(case, spec.name, actor=PAYMENT_ACTOR)


# Paying a case's payment (called by the portal, the console and the API) -------------------


def _waiting_payment(case: Case) -> Payment:
    payment = payment_selectors.open_payment_of(case.number)
    if (
        payment is None
        or not payment.is_due
        or not definition_of(case).has_tag(case.state, HOLD_TAG)
    ):
        raise RuleViolation("payment_not_due", f"办件 {case.number} 目前无需缴费", status=409)
    return payment


def pay_online(case: Case, *, actor: Actor, base_url: str, return_url: str) -> str:
    """The page where the applicant of `case` pays what it owes (网上缴费): only the
    applicant (`action_forbidden`, 403), only while the case waits for payment
    (`payment_not_due`)."""
    if not is_applicant(case, actor):
        raise RuleViolation("action_forbidden", "只有申请人本人可以网上缴费", status=403)
    payment = _waiting_payment(case)
    return payment_services.start_online_payment(
        payment, base_url=base_url, return_url=return_url, actor=actor
    )


def take_counter_payment(case: Case, *, method: str, reference: str, actor: Actor) -> Payment:
    """A window clerk of the organisation that received or handles `case` took its payment
    in cash or by POS (窗口收费); the case then goes on as with a payment made online."""
    if staff_user(actor, [Role.WINDOW_CLERK], [case.receiving_org, case.handling_org]) is None:
        raise RuleViolation(
            "action_forbidden", "只有收件或办理单位的窗口人员可以登记收费", status=403
        )
    payment = _waiting_payment(case)
    return payment_services.record_counter_payment(
        payment, method=method, reference=reference, actor=actor
    )
