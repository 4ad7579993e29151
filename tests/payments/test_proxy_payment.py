"""异地代收代办 (proxy v5): the receiving window collects the fee at its counter before it
forwards the case to the handling node, and refunds it when the handling node refuses or
denies (decision 271). The handling node never holds a forwarded case."""

from __future__ import annotations

import json

import pytest

from cases import engine
from cases.models import Case
from cases.payment import take_counter_payment
from core.exceptions import RuleViolation
from core.models import Division, Organisation
from federation import services as exchange
from federation.models import LogEntry
from payments.models import Payment
from tests import builders
from tests.cases.test_exchange import JILIN_WINDOW, _forwarded
from tests.federation.conftest import federation  # noqa: F401 - the two-node fixture

pytestmark = pytest.mark.django_db

FEES = [{"name": "食品经营许可证工本费", "amount": "15", "basis": "核定的收费标准"}]


def _remote_fee_item():
    org = Organisation.objects.create(
        uscc=builders.valid_uscc(79, "220100"),
        name="长春市市场监督管理局",
        kind="department",
        division=Division.objects.get(code="220100"),
        node="jilin",
    )
    return builders.item(
        "食品经营许可证核发",
        org=org,
        scopes=(("regional", "proxy"),),
        scheme=builders.northeast_scheme(),
        fee_charged=True,
        fees=FEES,
    )


def _held_at_window(capture) -> tuple[Case, object]:
    with capture(execute=True):
        case, clerk = builders.checked_window_case(_remote_fee_item())
    case.refresh_from_db()
    return case, clerk


def _sent(kind):
    return [
        json.loads(e.body)
        for e in LogEntry.objects.filter(kind=kind, direction="out", entry_type="envelope")
    ]


def test_the_window_collects_before_forwarding_and_refunds_on_the_handling_nodes_refusal(
    federation,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    case, clerk = _held_at_window(django_capture_on_commit_callbacks)
    assert (case.mode, case.state, case.counterpart_node) == ("proxy", "awaiting_payment", "jilin")
    payment = Payment.objects.get(case_number=case.number)
    assert payment.amount_text == "15.00" and payment.payee.node == "jilin"
    assert not _sent("case.forwarded")  # nothing leaves before it is paid
    with pytest.raises(RuleViolation) as refused:
        engine.take_action(case, "forward", actor=clerk)
    assert refused.value.code == "action_not_allowed_in_state"

    take_counter_payment(case, method="cash", reference="", actor=clerk)
    case.refresh_from_db()
    assert case.state == "formally_checked"
    engine.take_action(case, "forward", actor=clerk)
    (forwarded,) = _sent("case.forwarded")
    actions = [e["action"] for e in forwarded["payload"]["events"]]
    assert actions[-3:] == ["request_payment", "confirm_payment", "forward"]

    # The department on the other node refuses: the refund is made here, where the money is.
    exchange.receive(
        *federation.jilin.envelope(
            "case.action",
            {
                "number": case.number,
                "action": "refuse_acceptance",
                "from_state": "submitted",
                "actor": "cc-scjgj-reviewer",
                "note": "不属于本部门",
                "organisation": {
                    "uscc": case.handling_org.uscc,
                    "name": "长春市市场监督管理局",
                    "kind": "department",
                    "division": "220100",
                },
            },
        )
    )
    case.refresh_from_db()
    payment.refresh_from_db()
    assert case.state == "not_accepted"
    assert payment.status == "refunded" and payment.method == "cash"


def test_the_applicant_who_does_not_pay_abandons_at_the_window(
    federation,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    case, clerk = _held_at_window(django_capture_on_commit_callbacks)
    engine.take_action(case, "abandon", actor=clerk)
    case.refresh_from_db()
    assert case.state == "withdrawn"
    assert Payment.objects.get(case_number=case.number).status == "cancelled"
    assert not LogEntry.objects.filter(direction="out").exists()


def test_a_forwarded_case_is_not_held_by_the_handling_node(
    federation,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    owned = builders.offered(
        builders.item(
            scopes=(("regional", "proxy"),),
            scheme=builders.northeast_scheme(),
            fee_charged=True,
            fees=FEES,
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        exchange.receive(*federation.jilin.envelope("case.forwarded", _forwarded(owned)))
    case = Case.objects.get(number="JL-20261129-000001")
    assert case.state == "submitted" and case.receiving_org.uscc == JILIN_WINDOW["uscc"]
    assert not Payment.objects.exists()
    engine.take_action(case, "accept", actor=builders.staff("reviewer", case.handling_org))
