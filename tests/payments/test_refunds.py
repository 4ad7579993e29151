"""Refunds the gateway refuses or cannot be reached for are queued and retried by the
worker, exactly once in effect; 对账 (reconciliation) finds a payment made twice and
refunds it once (decisions 273-274)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from cases import engine, services
from cases.models import Case
from cases.payment import take_counter_payment
from core import signing
from payments import services as payment_services
from payments.gateways import LocalGateway, RefundRequest
from payments.models import Discrepancy, LocalTrade, Payment, Reconciliation, Refund
from tests.case_pages import World, build_world
from tests.payments.helpers import fee_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return build_world()


def _held(world: World, capture) -> Case:
    case = services.start_case(
        item_version=fee_item(world),
        form_data={"reason": "x"},
        person=world.applicant,
        actor=world.applicant.user,
    )
    with capture(execute=True):
        engine.take_action(case, "submit", actor=world.applicant.user)
    case.refresh_from_db()
    assert case.state == "awaiting_payment"
    return case


def _pay_at_cashier(payment: Payment) -> None:
    adapter = LocalGateway()
    body, signature = adapter.take_payment(payment.order_number, payment.amount_text)
    payment_services.receive_notice(body, signature, gateway_code="local")


def test_a_refund_the_platform_refuses_is_queued_and_retried_exactly_once(
    world: World, settings, platform, django_capture_on_commit_callbacks
):
    case = _held(world, django_capture_on_commit_callbacks)
    payment = Payment.objects.get(case_number=case.number)
    settings.TONGBAN_ADAPTERS = {
        **settings.TONGBAN_ADAPTERS,
        "payment": "payments.gateways.HttpGateway",
    }
    body = signing.canonical_json(
        {
            "notice_id": "GN1",
            "order_number": payment.order_number,
            "trade_number": "GT1",
            "amount": "20.00",
            "status": "paid",
            "paid_at": "2026-12-05T10:00:00+08:00",
        }
    )
    signature = base64.b64encode(
        signing.sign(signing.Algorithm.SM2, platform.key.private_pem, body)
    )
    payment_services.receive_notice(body, signature.decode(), gateway_code="gpp")
    platform.answer = (503, {"code": "busy"}, True)

    # The platform refuses: the case is refused all the same; the refund waits.
    engine.take_action(case, "refuse_acceptance", actor=world.reviewer, note="不属于本部门")
    case.refresh_from_db()
    payment.refresh_from_db()
    assert case.state == "not_accepted"
    assert payment.status == "refunding" and payment.get_status_display() == "退款中"
    refund = Refund.objects.get()
    assert (refund.status, refund.attempts, refund.cause) == ("pending", 1, "case")
    assert "HTTP 503" in refund.last_error and refund.next_attempt_at > timezone.now()

    # Not before its time; then again refused: a longer wait.
    assert payment_services.retry_refunds() == {"done": 0, "failed": 0}
    later = refund.next_attempt_at + dt.timedelta(seconds=1)
    assert payment_services.retry_refunds(later) == {"done": 0, "failed": 1}
    refund.refresh_from_db()
    assert refund.attempts == 2 and refund.next_attempt_at > later

    platform.answer = (
        200,
        {"order_number": payment.order_number, "refund_number": "GR9", "status": "refunded"},
        True,
    )
    far = timezone.now() + dt.timedelta(days=1)
    assert payment_services.retry_refunds(far) == {"done": 1, "failed": 0}
    assert payment_services.retry_refunds(far) == {"done": 0, "failed": 0}
    refund.refresh_from_db()
    payment.refresh_from_db()
    assert (refund.status, refund.refund_number) == ("done", "GR9")
    assert (payment.status, payment.refund_number) == ("refunded", "GR9")
    requests = [json.loads(b) for path, _, b in platform.received if path.endswith("/refunds")]
    assert len(requests) == 3
    assert {r["request_number"] for r in requests} == {refund.request_number}


def test_the_local_gateway_answers_a_repeated_refund_request_with_the_same_refund():
    adapter = LocalGateway()
    request = RefundRequest("TB1", "LT1", "20.00", "x", "RF-ONE")
    first = adapter.refund(request)
    assert adapter.refund(request) == first
    assert LocalTrade.objects.filter(kind="refund").count() == 1


def test_a_refund_made_at_once_leaves_nothing_pending(
    world: World, django_capture_on_commit_callbacks
):
    case = _held(world, django_capture_on_commit_callbacks)
    payment = Payment.objects.get(case_number=case.number)
    _pay_at_cashier(payment)
    engine.take_action(case, "withdraw", actor=world.applicant.user)
    payment.refresh_from_db()
    assert payment.status == "refunded" and payment.refund_number.startswith("LR")
    assert Refund.objects.get().status == "done"


def test_reconciliation_finds_a_double_payment_and_refunds_it_once(
    world: World, django_capture_on_commit_callbacks
):
    case = _held(world, django_capture_on_commit_callbacks)
    payment = Payment.objects.get(case_number=case.number)
    take_counter_payment(case, method="cash", reference="", actor=world.clerk)
    # The applicant had the cashier open and pays too: the platform takes the money, the
    # node answers that the payment is settled already.
    with pytest.raises(Exception) as refused:
        _pay_at_cashier(payment)
    assert getattr(refused.value, "code", "") == "payment_notice_duplicate"
    payment.refresh_from_db()
    assert payment.status == "paid" and payment.method == "cash"

    today = timezone.localdate()
    run = payment_services.reconcile(today)
    assert (run.entries, run.matched, run.discrepancies) == (1, 0, 1)
    found = Discrepancy.objects.get()
    assert found.kind == "double_payment" and found.amount == Decimal("20.00")
    assert found.refund is not None and found.refund.status == "done"
    assert found.refund.cause == "duplicate"
    payment.refresh_from_db()
    assert payment.status == "paid"  # the window's payment stands

    # Again, the same day (now with the refund on the statement): nothing new, no
    # second refund.
    again = payment_services.reconcile(today)
    assert again.pk == run.pk and again.discrepancies == 1
    assert Refund.objects.count() == 1
    assert LocalTrade.objects.filter(kind="refund").count() == 1


def test_the_admin_shows_a_reconciliation_and_its_refund_but_changes_neither(
    client, world: World, django_capture_on_commit_callbacks
):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    case = _held(world, django_capture_on_commit_callbacks)
    take_counter_payment(case, method="cash", reference="", actor=world.clerk)
    with pytest.raises(Exception) as refused:
        _pay_at_cashier(Payment.objects.get(case_number=case.number))
    assert getattr(refused.value, "code", "") == "payment_notice_duplicate"
    run = payment_services.reconcile(timezone.localdate())
    admin = get_user_model().objects.create_superuser("auditor", "a@example.cn", "pw-123456")
    client.force_login(admin)
    page = client.get(reverse("admin:payments_reconciliation_change", args=[run.pk]))
    text = page.content.decode()
    assert page.status_code == 200 and "重复缴费" in text and 'name="_save"' not in text
    refund = Refund.objects.get()
    assert client.get(reverse("admin:payments_refund_change", args=[refund.pk])).status_code == 200
    assert client.get(reverse("admin:payments_refund_add")).status_code == 403
    assert client.post(reverse("admin:payments_refund_delete", args=[refund.pk])).status_code == 403
    assert Refund.objects.count() == 1


def test_reconciliation_matches_online_payments_and_reports_the_rest(
    world: World, django_capture_on_commit_callbacks
):
    matched = _held(world, django_capture_on_commit_callbacks)
    _pay_at_cashier(Payment.objects.get(case_number=matched.number))
    # Paid at the platform but the notice never came.
    lost = _held(world, django_capture_on_commit_callbacks)
    lost_payment = Payment.objects.get(case_number=lost.number)
    LocalGateway().take_payment(lost_payment.order_number, lost_payment.amount_text)
    # A notice we accepted for a trade the platform's books do not show.
    ghost = _held(world, django_capture_on_commit_callbacks)
    ghost_payment = Payment.objects.get(case_number=ghost.number)
    body, signature = LocalGateway().notice_for(ghost_payment.order_number, "20.00")
    payment_services.receive_notice(body, signature, gateway_code="local")
    # A trade for an order we never opened.
    LocalTrade.objects.create(
        kind="payment", order_number="TBNOSUCHORDER", trade_number="LTX", amount="5.00"
    )

    run = payment_services.reconcile(timezone.localdate())
    assert (run.entries, run.matched) == (3, 1)
    kinds = dict(Discrepancy.objects.values_list("kind", "order_number"))
    assert kinds == {
        "notice_missing": lost_payment.order_number,
        "missing_at_gateway": ghost_payment.order_number,
        "unknown_order": "TBNOSUCHORDER",
    }
    assert not Refund.objects.exists()
    lost.refresh_from_db()
    assert lost.state == "awaiting_payment"  # a person looks at it; nothing is guessed


def test_the_command_reconciles_a_day_and_refuses_a_bad_date(capsys):
    call_command("reconcile_payments", "--date", "2026-12-01")
    assert "local 2026-12-01: 对账单 0 笔" in capsys.readouterr().out
    assert Reconciliation.objects.get().day == dt.date(2026, 12, 1)
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("reconcile_payments", "--date", "1.12.2026")


def test_the_cashier_takes_the_money_and_says_so_when_the_case_was_paid_at_the_window(
    client, world: World, django_capture_on_commit_callbacks
):
    case = _held(world, django_capture_on_commit_callbacks)
    payment = Payment.objects.get(case_number=case.number)
    take_counter_payment(case, method="pos", reference="POS1", actor=world.clerk)
    response = client.post(f"/payments/local/{payment.order_number}/", {"return": "/my/"})
    assert response.status_code == 409
    page = response.content.decode()
    assert "重复缴纳的费用将在每日对账后原路退回" in page and "已在窗口缴纳" in page
    assert LocalTrade.objects.filter(order_number=payment.order_number).count() == 1
    # A second click takes nothing more.
    client.post(f"/payments/local/{payment.order_number}/", {"return": "/my/"})
    assert LocalTrade.objects.filter(order_number=payment.order_number).count() == 1
