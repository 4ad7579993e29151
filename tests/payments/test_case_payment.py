"""A case that owes fees or postage waits in 待缴费 until paid — by the workflow definition
(online v6: hold_for_payment, request_payment/open_payment, confirm_payment/require_paid),
and is refunded when it ends without a result."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cases import engine, services
from cases.models import Case
from cases.workflow import definition_of
from core.actors import SystemActor
from core.exceptions import RuleViolation
from core.models import AuditEvent
from payments import services as payment_services
from payments.gateways import LocalGateway
from payments.models import Payment
from tests.case_pages import World, build_world, quick_item
from tests.payments.helpers import fee_item

pytestmark = pytest.mark.django_db

ADDRESS = "辽宁省大连市中山区人民路23号"


@pytest.fixture
def world() -> World:
    return build_world()


def _start(world: World, version, **delivery) -> Case:
    return services.start_case(
        item_version=version,
        form_data={"reason": "x"},
        person=world.applicant,
        actor=world.applicant.user,
        **delivery,
    )


def _submit(world: World, case: Case, capture) -> Case:
    with capture(execute=True):
        engine.take_action(case, "submit", actor=world.applicant.user)
    case.refresh_from_db()
    return case


def _pay_online(payment: Payment) -> Payment:
    body, signature = LocalGateway().notice_for(payment.order_number, payment.amount_text)
    return payment_services.receive_notice(body, signature, gateway_code="local")


def test_a_case_with_a_fee_waits_for_payment_and_goes_on_when_paid(
    world: World, django_capture_on_commit_callbacks
):
    case = _submit(world, _start(world, fee_item(world)), django_capture_on_commit_callbacks)
    assert case.state == "awaiting_payment"
    assert definition_of(case).label(case.state) == "待缴费"
    payment = Payment.objects.get(case_number=case.number)
    assert payment.status == "due" and payment.amount == Decimal("20.00")
    assert payment.payee == world.police
    assert [line["name"] for line in payment.lines] == ["证明工本费"]
    assert case.events.filter(action="request_payment").exists()

    # Nothing moves it on before the payment is made.
    with pytest.raises(RuleViolation) as refused:
        engine.take_action(case, "confirm_payment", actor=SystemActor("test"))
    assert refused.value.code == "payment_outstanding"
    case.refresh_from_db()
    assert case.state == "awaiting_payment"

    _pay_online(payment)
    case.refresh_from_db()
    assert case.state == "submitted"
    assert case.events.filter(action="confirm_payment").exists()
    engine.take_action(case, "accept", actor=world.reviewer)


def test_acceptance_is_refused_while_the_payment_is_due(
    world: World, django_capture_on_commit_callbacks
):
    case = _start(world, fee_item(world))
    # Without the on-commit step the case is still 待受理, and acceptance still waits.
    case = engine.take_action(case, "submit", actor=world.applicant.user)
    assert case.state == "submitted"
    payment_services.open_payment(
        case_number=case.number,
        payee=world.police,
        subject="x",
        lines=[payment_services.Line("fee", "证明工本费", Decimal("20.00"))],
        actor=world.reviewer,
    )
    with pytest.raises(RuleViolation) as refused:
        engine.take_action(case, "accept", actor=world.reviewer)
    assert refused.value.code == "payment_outstanding"
    case.refresh_from_db()
    assert case.state == "submitted" and case.started_on is None


def test_a_free_item_does_not_wait(world: World, django_capture_on_commit_callbacks):
    case = _submit(world, _start(world, quick_item(world)), django_capture_on_commit_callbacks)
    assert case.state == "submitted"
    assert not Payment.objects.filter(case_number=case.number).exists()


def test_postage_of_a_result_by_post_is_added(
    world: World, settings, django_capture_on_commit_callbacks
):
    settings.DELIVERY_RESULT_POSTAGE = "12.50"
    case = _start(
        world,
        fee_item(world),
        delivery_method="post",
        delivery_address=ADDRESS,
        delivery_mobile="13911112222",
    )
    case = _submit(world, case, django_capture_on_commit_callbacks)
    payment = Payment.objects.get(case_number=case.number)
    assert payment.amount == Decimal("32.50")
    assert [(line["kind"], line["amount"]) for line in payment.lines] == [
        ("fee", "20.00"),
        ("postage", "12.50"),
    ]


def test_postage_alone_holds_a_free_item(
    world: World, settings, django_capture_on_commit_callbacks
):
    settings.DELIVERY_RESULT_POSTAGE = "8"
    case = _start(
        world,
        quick_item(world),
        delivery_method="post",
        delivery_address=ADDRESS,
        delivery_mobile="13911112222",
    )
    case = _submit(world, case, django_capture_on_commit_callbacks)
    assert case.state == "awaiting_payment"
    assert Payment.objects.get(case_number=case.number).amount == Decimal("8.00")


@pytest.mark.parametrize(
    "fees",
    [
        [{"name": "档案查询费", "amount": "按页计", "basis": "x"}],
        [
            {"name": "不动产登记费（住宅）", "amount": "80", "basis": "x"},
            {"name": "不动产登记费（非住宅）", "amount": "550", "basis": "x"},
        ],
    ],
)
def test_fees_that_must_be_assessed_are_not_collected_online(
    world: World, django_capture_on_commit_callbacks, fees
):
    version = fee_item(world, fees=fees)
    case = _submit(world, _start(world, version), django_capture_on_commit_callbacks)
    assert case.state == "submitted"
    assert not Payment.objects.filter(case_number=case.number).exists()


def test_the_window_records_cash_and_the_case_goes_on(
    world: World, django_capture_on_commit_callbacks
):
    case = _submit(world, _start(world, fee_item(world)), django_capture_on_commit_callbacks)
    payment = Payment.objects.get(case_number=case.number)
    with pytest.raises(RuleViolation) as refused:
        payment_services.record_counter_payment(payment, method="pos", actor=world.clerk)
    assert refused.value.code == "payment_reference_missing"
    payment_services.record_counter_payment(
        payment, method="pos", reference="POS0012345", actor=world.clerk
    )
    payment.refresh_from_db()
    case.refresh_from_db()
    assert (payment.status, payment.method, payment.recorded_by) == ("paid", "pos", world.clerk)
    assert case.state == "submitted"
    with pytest.raises(RuleViolation) as again:
        payment_services.record_counter_payment(payment, method="cash", actor=world.clerk)
    assert again.value.code == "payment_not_due"


def test_withdrawing_before_paying_cancels_the_payment(
    world: World, django_capture_on_commit_callbacks
):
    case = _submit(world, _start(world, fee_item(world)), django_capture_on_commit_callbacks)
    engine.take_action(case, "withdraw", actor=world.applicant.user)
    payment = Payment.objects.get(case_number=case.number)
    assert payment.status == "cancelled" and payment.refunded_at is not None
    # A notice arriving after the cancellation settles nothing.
    with pytest.raises(RuleViolation) as refused:
        _pay_online(payment)
    assert refused.value.code == "payment_not_due"


@pytest.mark.parametrize("ending", ["withdraw", "refuse_acceptance", "deny"])
def test_a_case_ending_without_a_result_refunds_what_was_paid(
    world: World, django_capture_on_commit_callbacks, ending
):
    case = _submit(world, _start(world, fee_item(world)), django_capture_on_commit_callbacks)
    _pay_online(Payment.objects.get(case_number=case.number))
    case.refresh_from_db()
    if ending == "withdraw":
        engine.take_action(case, "withdraw", actor=world.applicant.user)
    elif ending == "refuse_acceptance":
        engine.take_action(case, "refuse_acceptance", actor=world.reviewer, note="不属于本部门职责")
    else:
        case = engine.take_action(case, "accept", actor=world.reviewer)
        case = engine.take_action(case, "start_review", actor=world.reviewer)
        engine.take_action(case, "deny", actor=world.approver, note="不符合条件")
    payment = Payment.objects.get(case_number=case.number)
    assert payment.status == "refunded" and payment.refund_number.startswith("LR")
    assert AuditEvent.objects.filter(action="refund_payment", object_id=str(payment.pk)).exists()


def test_an_approved_case_keeps_its_payment(world: World, django_capture_on_commit_callbacks):
    case = _submit(world, _start(world, fee_item(world)), django_capture_on_commit_callbacks)
    _pay_online(Payment.objects.get(case_number=case.number))
    case.refresh_from_db()
    for name in ("accept", "start_review"):
        case = engine.take_action(case, name, actor=world.reviewer)
    engine.take_action(case, "approve", actor=world.approver)
    assert Payment.objects.get(case_number=case.number).status == "paid"


def test_the_api_lists_the_payments_and_starts_paying(
    world: World, client, django_capture_on_commit_callbacks
):
    from tests import builders

    case = _submit(world, _start(world, fee_item(world)), django_capture_on_commit_callbacks)
    headers = builders.bearer(world.applicant.user)
    listed = client.get(f"/api/v1/cases/{case.number}/payments", **headers)
    assert listed.status_code == 200
    [payment] = listed.json()
    assert (payment["status"], payment["amount"], payment["lines"][0]["amount"]) == (
        "due",
        "20.00",
        "20.00",
    )
    started = client.post(f"/api/v1/cases/{case.number}/payment", **headers)
    assert started.status_code == 200, started.content
    assert started.json()["pay_url"].startswith("http://testserver/payments/local/")

    other = builders.person("钱七", mobile="13900001111")
    forbidden = client.post(f"/api/v1/cases/{case.number}/payment", **builders.bearer(other.user))
    assert forbidden.status_code == 404
    clerk = client.post(f"/api/v1/cases/{case.number}/payment", **builders.bearer(world.clerk))
    assert (clerk.status_code, clerk.json()["code"]) == (403, "action_forbidden")


def test_only_the_system_moves_a_case_into_and_out_of_waiting(
    world: World, django_capture_on_commit_callbacks
):
    case = _submit(world, _start(world, fee_item(world)), django_capture_on_commit_callbacks)
    for who in (world.applicant.user, world.reviewer, world.clerk):
        with pytest.raises(RuleViolation) as refused:
            engine.take_action(case, "confirm_payment", actor=who)
        assert refused.value.code == "action_forbidden"
    free = _start(world, quick_item(world))
    free = engine.take_action(free, "submit", actor=world.applicant.user)
    with pytest.raises(RuleViolation) as nothing:
        engine.take_action(free, "request_payment", actor=SystemActor("test"))
    assert nothing.value.code == "payment_nothing_due"
    free.refresh_from_db()
    assert free.state == "submitted"


def test_a_joint_case_waits_for_its_fee_too(django_capture_on_commit_callbacks):
    """多地联办 (joint v5) holds the same way: the one place that accepts collects the fee."""
    from cases.materials import add_material
    from tests import builders

    version = builders.item(
        "户口迁移（迁入）",
        scopes=(("regional", "joint"),),
        scheme=builders.northeast_scheme(),
        fee_charged=True,
        fees=[{"name": "户口簿工本费", "amount": "8", "basis": "x"}],
    )
    applicant = builders.person("赵六")
    case = services.start_case(
        item_version=version,
        form_data={"reason": "投靠"},
        actor=applicant.user,
        person=applicant,
        mode="joint",
    )
    for material in version.materials.all():
        add_material(
            case, material, content=builders.uploaded_pdf(), name="a.pdf", actor=applicant.user
        )
    with django_capture_on_commit_callbacks(execute=True):
        engine.take_action(case, "submit", actor=applicant.user)
    case.refresh_from_db()
    assert (case.mode, case.state) == ("joint", "awaiting_payment")
    _pay_online(Payment.objects.get(case_number=case.number))
    case.refresh_from_db()
    assert case.state == "submitted"
