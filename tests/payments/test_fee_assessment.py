"""核定收费: an item with several fees, or a fee without a fixed amount, is not held at
submission; the reviewer assesses which listed fees apply and how much (assess_fee, online
and joint v6), the applicant pays, and only then may the case be accepted (decision 270)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from cases import engine, services
from cases.engine import PROCESS
from cases.models import Case
from cases.workflow import DEFINITIONS_DIR
from core.exceptions import RuleViolation
from payments import services as payment_services
from payments.gateways import LocalGateway
from payments.models import Payment
from tests import builders
from tests.case_pages import World, build_world
from tests.payments.helpers import fee_item

pytestmark = pytest.mark.django_db

FEES = [
    {"name": "证明驾驶证", "amount": "80", "basis": "公证服务收费标准"},
    {"name": "翻译费（按需）", "amount": "60", "basis": "公证服务收费标准"},
    {"name": "复印费", "amount": "按页计", "basis": "按实际页数"},
]


@pytest.fixture
def world() -> World:
    return build_world()


def _submitted(world: World, capture, fees=None) -> Case:
    case = services.start_case(
        item_version=fee_item(world, fees=fees or FEES, name="机动车驾驶证公证（测试）"),
        form_data={"reason": "x"},
        person=world.applicant,
        actor=world.applicant.user,
    )
    with capture(execute=True):
        engine.take_action(case, "submit", actor=world.applicant.user)
    case.refresh_from_db()
    return case


def _assess(world: World, case: Case, fees: list) -> Case:
    return engine.take_action(case, "assess_fee", actor=world.reviewer, data={"fees": fees})


def test_the_reviewer_assesses_the_fee_and_acceptance_waits_for_it(
    world: World, django_capture_on_commit_callbacks
):
    case = _submitted(world, django_capture_on_commit_callbacks)
    assert case.state == "submitted"  # not held: the department assesses it
    assert not Payment.objects.exists()
    case = _assess(
        world,
        case,
        [
            {"fee": "证明驾驶证"},
            {"fee": "翻译费（按需）", "quantity": 2},
            {"fee": "复印费", "quantity": 12, "amount": "6.00"},
        ],
    )
    assert case.state == "awaiting_payment"
    payment = Payment.objects.get(case_number=case.number)
    assert payment.status == "due" and payment.amount == Decimal("206.00")
    assert [(line["name"], line["amount"]) for line in payment.lines] == [
        ("证明驾驶证", "80.00"),
        ("翻译费（按需）", "120.00"),
        ("复印费", "6.00"),
    ]
    assert payment.lines[1]["basis"].startswith("2 项")
    event = case.events.get(action="assess_fee")
    assert event.data["payment"]["amount"] == "206.00"

    with pytest.raises(RuleViolation) as refused:
        engine.take_action(case, "accept", actor=world.reviewer)
    assert refused.value.code == "action_not_allowed_in_state"
    # Paid: back to 待受理, then accepted; a second assessment is refused.
    body, signature = LocalGateway().take_payment(payment.order_number, payment.amount_text)
    payment_services.receive_notice(body, signature, gateway_code="local")
    case.refresh_from_db()
    assert case.state == "submitted"
    with pytest.raises(RuleViolation) as again:
        _assess(world, case, [{"fee": "证明驾驶证"}])
    assert again.value.code == "payment_exists"
    engine.take_action(case, "accept", actor=world.reviewer)


@pytest.mark.parametrize(
    ("fees", "code"),
    [
        ([], "fee_assessment_empty"),
        ([{"fee": "加急费"}], "fee_not_listed"),
        ([{"fee": "证明驾驶证"}, {"fee": "证明驾驶证"}], "fee_assessed_twice"),
        ([{"fee": "复印费"}], "fee_amount_invalid"),
        ([{"fee": "复印费", "amount": "0"}], "fee_amount_invalid"),
        ([{"fee": "复印费", "amount": "-5.00"}], "fee_amount_invalid"),
        ([{"fee": "证明驾驶证", "amount": "50.00"}], "fee_amount_invalid"),
        ([{"fee": "证明驾驶证", "quantity": 0}], "fee_assessment_invalid"),
        ([{"fee": "证明驾驶证", "amount": "1.234"}], "fee_assessment_invalid"),
        ([{"fee": "证明驾驶证", "price": "1"}], "fee_assessment_invalid"),
    ],
)
def test_a_wrong_assessment_is_refused_and_changes_nothing(
    world: World, django_capture_on_commit_callbacks, fees, code
):
    case = _submitted(world, django_capture_on_commit_callbacks)
    with pytest.raises(RuleViolation) as refused:
        _assess(world, case, fees)
    assert refused.value.code == code
    case.refresh_from_db()
    assert case.state == "submitted"
    assert not Payment.objects.exists()
    assert not case.events.filter(action="assess_fee").exists()


def test_only_the_handling_reviewer_assesses(world: World, django_capture_on_commit_callbacks):
    case = _submitted(world, django_capture_on_commit_callbacks)
    for actor in (world.applicant.user, world.clerk, world.foreign_reviewer):
        with pytest.raises(RuleViolation) as refused:
            engine.take_action(
                case, "assess_fee", actor=actor, data={"fees": [{"fee": "证明驾驶证"}]}
            )
        assert refused.value.code == "action_forbidden"
    assert not Payment.objects.exists()


def test_an_item_with_one_fixed_fee_is_still_held_at_submission(
    world: World, django_capture_on_commit_callbacks
):
    case = _submitted(
        world,
        django_capture_on_commit_callbacks,
        fees=[{"name": "工本费", "amount": "20", "basis": "x"}],
    )
    assert case.state == "awaiting_payment"
    body, signature = LocalGateway().take_payment(Payment.objects.get().order_number, "20.00")
    payment_services.receive_notice(body, signature, gateway_code="local")
    case.refresh_from_db()
    with pytest.raises(RuleViolation) as refused:
        _assess(world, case, [{"fee": "工本费"}])
    assert refused.value.code == "fee_not_assessed"
    staff = builders.bearer(world.reviewer)
    seen = Client().get(f"/api/v1/cases/{case.number}", **staff).json()
    assert "assess_fee" not in [a["name"] for a in seen["allowed_actions"]]


def test_the_api_offers_the_assessment_and_answers_its_codes(
    world: World, django_capture_on_commit_callbacks
):
    case = _submitted(world, django_capture_on_commit_callbacks)
    staff = builders.bearer(world.reviewer)
    client = Client()
    seen = client.get(f"/api/v1/cases/{case.number}", **staff).json()
    offered = {a["name"]: a for a in seen["allowed_actions"]}
    assert offered["assess_fee"]["payload"] == "fee_assessment"
    url = f"/api/v1/cases/{case.number}/actions/assess_fee"
    wrong = client.post(
        url,
        {"fees": [{"fee": "加急费"}]},
        content_type="application/json",
        **staff,
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "fee_not_listed"
    done = client.post(
        url,
        {"fees": [{"fee": "证明驾驶证"}]},
        content_type="application/json",
        **staff,
    )
    assert done.status_code == 200 and done.json()["state"] == "awaiting_payment"


def test_the_console_assesses_through_a_form_of_the_items_fees(
    world: World, django_capture_on_commit_callbacks
):
    case = _submitted(world, django_capture_on_commit_callbacks)
    reviewer = Client()
    reviewer.force_login(world.reviewer)
    page = reviewer.get(f"/console/cases/{case.number}/").content.decode()
    assert "核定收费" in page and "<legend>翻译费（按需）</legend>" in page
    assert "复印费（无固定金额）" in page and "收费依据：按实际页数" in page
    url = f"/console/cases/{case.number}/actions/assess_fee/"
    wrong = reviewer.post(url, {"assess_fee-fee3_apply": "on"})
    assert wrong.status_code == 422
    assert "没有固定金额，请填写核定金额" in wrong.content.decode()
    assert not Payment.objects.exists()
    bad = reviewer.post(url, {"assess_fee-fee1_apply": "on", "assess_fee-fee1_quantity": "x"})
    assert bad.status_code == 422 and "数量应为整数" in bad.content.decode()
    done = reviewer.post(
        url,
        {
            "assess_fee-fee1_apply": "on",
            "assess_fee-fee1_quantity": "1",
            "assess_fee-fee3_apply": "on",
            "assess_fee-fee3_quantity": "4",
            "assess_fee-fee3_amount": "2.00",
        },
    )
    assert done.status_code == 302
    case.refresh_from_db()
    assert case.state == "awaiting_payment"
    assert Payment.objects.get().amount == Decimal("82.00")
    assert 'id="action-assess_fee-title"' in page
    # Paid and back in 待受理: the form is no longer offered, acceptance is.
    payment = Payment.objects.get()
    body, signature = LocalGateway().take_payment(payment.order_number, payment.amount_text)
    payment_services.receive_notice(body, signature, gateway_code="local")
    page = reviewer.get(f"/console/cases/{case.number}/").content.decode()
    assert 'id="action-assess_fee-title"' not in page and 'id="action-accept-title"' in page


def test_a_case_pinned_to_the_previous_version_still_runs(
    world: World, django_capture_on_commit_callbacks
):
    """Cases started under online v5 keep their definition, without assess_fee."""
    raw = json.loads((DEFINITIONS_DIR / "online.json").read_text(encoding="utf-8"))
    raw["version"] = 5
    raw["actions"] = [a for a in raw["actions"] if a["name"] != "assess_fee"]
    stored = PROCESS.store(raw)
    case = services.start_case(
        item_version=fee_item(world),
        form_data={"reason": "x"},
        person=world.applicant,
        actor=world.applicant.user,
    )
    Case.objects.filter(pk=case.pk).update(workflow=stored)
    case.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        engine.take_action(case, "submit", actor=world.applicant.user)
    case.refresh_from_db()
    assert case.workflow.version == 5 and case.state == "awaiting_payment"
    with pytest.raises(RuleViolation) as refused:
        engine.take_action(case, "assess_fee", actor=world.reviewer, data={"fees": []})
    assert refused.value.code in {"action_unknown", "action_not_allowed_in_state"}


def test_the_confirm_step_says_the_fee_will_be_assessed(world: World):
    case = services.start_case(
        item_version=fee_item(world, fees=FEES, name="机动车驾驶证公证（测试）"),
        form_data={"reason": "x"},
        person=world.applicant,
        actor=world.applicant.user,
    )
    citizen = Client()
    citizen.force_login(world.applicant.user)
    page = citizen.get(f"/my/cases/{case.number}/submit/").content.decode()
    assert (
        "<strong>本事项可能收费：</strong>证明驾驶证（80 元）、翻译费（按需）（60 元）、复印费（按页计）"
        in page
    )
    assert "本事项需缴费" not in page
