"""The pay step on the portal (网上缴费 through the local cashier) and the window's record of
a cash or POS payment on the console; both release the case to 待受理."""

from __future__ import annotations

import pytest
from django.test import Client

from cases import engine, services
from cases.models import Case
from payments.models import Payment
from tests.case_pages import World, build_world, quick_item
from tests.payments.helpers import fee_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return build_world()


def _awaiting(world: World, version, capture) -> Case:
    case = services.start_case(
        item_version=version,
        form_data={"reason": "x"},
        person=world.applicant,
        actor=world.applicant.user,
    )
    with capture(execute=True):
        engine.take_action(case, "submit", actor=world.applicant.user)
    case.refresh_from_db()
    assert case.state == "awaiting_payment"
    return case


def test_the_applicant_pays_on_the_local_cashier_and_the_case_goes_on(
    world: World, django_capture_on_commit_callbacks
):
    case = _awaiting(world, fee_item(world), django_capture_on_commit_callbacks)
    citizen = Client()
    citizen.force_login(world.applicant.user)
    page = citizen.get(f"/my/cases/{case.number}/").content.decode()
    assert "缴纳费用" in page and "20.00 元" in page and "网上缴费" in page
    assert "<caption>缴费单" in page

    response = citizen.post(f"/my/cases/{case.number}/pay/")
    assert response.status_code == 302
    cashier_url = response["Location"]
    payment = Payment.objects.get(case_number=case.number)
    assert cashier_url.startswith(f"/payments/local/{payment.order_number}/?return=")
    cashier = citizen.get(cashier_url)
    assert cashier.status_code == 200
    text = cashier.content.decode()
    assert "确认支付 20.00 元" in text and "证明工本费" in text

    paid = citizen.post(cashier_url, {"return": f"/my/cases/{case.number}/"})
    assert paid.status_code == 302 and paid["Location"] == f"/my/cases/{case.number}/"
    case.refresh_from_db()
    payment.refresh_from_db()
    assert case.state == "submitted" and payment.status == "paid"
    after = citizen.get(f"/my/cases/{case.number}/").content.decode()
    assert "网上缴费</button>" not in after and "已缴费" in after

    # Paying again: the cashier shows the order as paid and changes nothing.
    again = citizen.post(cashier_url)
    assert again.status_code == 302
    assert payment.notices.count() == 1


def test_the_cashier_goes_back_only_to_this_node(world: World, django_capture_on_commit_callbacks):
    case = _awaiting(world, fee_item(world), django_capture_on_commit_callbacks)
    payment = Payment.objects.get(case_number=case.number)
    response = Client().post(
        f"/payments/local/{payment.order_number}/", {"return": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == "/"


def test_no_cashier_for_an_unknown_order_or_another_gateway(
    world: World, settings, django_capture_on_commit_callbacks
):
    case = _awaiting(world, fee_item(world), django_capture_on_commit_callbacks)
    payment = Payment.objects.get(case_number=case.number)
    assert Client().get("/payments/local/TBNOSUCH/").status_code == 404
    settings.TONGBAN_ADAPTERS = {
        **settings.TONGBAN_ADAPTERS,
        "payment": "payments.gateways.HttpGateway",
    }
    assert Client().get(f"/payments/local/{payment.order_number}/").status_code == 404


def test_only_the_applicant_pays_and_only_when_due(
    world: World, django_capture_on_commit_callbacks
):
    free = services.start_case(
        item_version=quick_item(world),
        form_data={"reason": "x"},
        person=world.applicant,
        actor=world.applicant.user,
    )
    citizen = Client()
    citizen.force_login(world.applicant.user)
    refused = citizen.post(f"/my/cases/{free.number}/pay/")
    assert refused.status_code == 409
    assert "无需缴费" in refused.content.decode()

    case = _awaiting(world, fee_item(world), django_capture_on_commit_callbacks)
    clerk = Client()
    clerk.force_login(world.clerk)
    assert clerk.post(f"/my/cases/{case.number}/pay/").status_code in (403, 404)
    assert Payment.objects.get(case_number=case.number).gateway == ""


def test_the_window_records_a_pos_payment(world: World, django_capture_on_commit_callbacks):
    case = _awaiting(world, fee_item(world), django_capture_on_commit_callbacks)
    clerk = Client()
    clerk.force_login(world.clerk)
    page = clerk.get(f"/console/cases/{case.number}/").content.decode()
    assert "窗口收费" in page and "登记收费" in page

    refused = clerk.post(f"/console/cases/{case.number}/payment/", {"method": "pos"})
    assert refused.status_code == 422
    assert "凭证号" in refused.content.decode()
    assert Payment.objects.get(case_number=case.number).status == "due"

    done = clerk.post(
        f"/console/cases/{case.number}/payment/", {"method": "pos", "reference": "POS778899"}
    )
    assert done.status_code == 302
    payment = Payment.objects.get(case_number=case.number)
    assert (payment.status, payment.method, payment.trade_number) == ("paid", "pos", "POS778899")
    case.refresh_from_db()
    assert case.state == "submitted"

    reviewer = Client()
    reviewer.force_login(world.reviewer)
    # The reviewer sees the payment but takes no money.
    page = reviewer.get(f"/console/cases/{case.number}/").content.decode()
    assert "缴费信息" in page and "登记收费" not in page
    assert (
        reviewer.post(f"/console/cases/{case.number}/payment/", {"method": "cash"}).status_code
        == 403
    )


def test_the_confirm_step_says_what_will_be_due(world: World):
    case = services.start_case(
        item_version=fee_item(world),
        form_data={"reason": "x"},
        person=world.applicant,
        actor=world.applicant.user,
    )
    citizen = Client()
    citizen.force_login(world.applicant.user)
    page = citizen.get(f"/my/cases/{case.number}/submit/").content.decode()
    assert "本事项需缴费" in page and "证明工本费 20.00 元" in page and "合计 20.00 元" in page
    free = services.start_case(
        item_version=quick_item(world),
        form_data={"reason": "x"},
        person=world.applicant,
        actor=world.applicant.user,
    )
    assert "本事项需缴费" not in citizen.get(f"/my/cases/{free.number}/submit/").content.decode()
