"""送达 (issue 9, item 4): the applicant chooses how the result reaches them — electronic,
window pickup or post (with the address, encrypted) — when applying, on every entry; the
送达 step comes before 办结, is tagged `rate:delivery`, and a postal choice books the
shipment through delivery/."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection

from cases import engine, services
from cases.models import Case
from cases.workflow import definition_of
from core.exceptions import RuleViolation
from delivery.models import Shipment
from tests.case_pages import World, build_world, police_seal, quick_item

pytestmark = pytest.mark.django_db

ADDRESS = "辽宁省大连市中山区人民路23号"
MOBILE = "13911112222"
SENDER = {"sender_mobile": "13904112368", "sender_address": "辽宁省大连市西岗区长江路1号"}


@pytest.fixture(autouse=True)
def _local_carrier(settings):
    settings.TONGBAN_ADAPTERS = {
        **settings.TONGBAN_ADAPTERS,
        "carrier": "delivery.carriers.LocalCarrier",
    }


@pytest.fixture
def world() -> World:
    world = build_world()
    police_seal(world)
    return world


def _start(world: World, version, **delivery) -> Case:
    return services.start_case(
        item_version=version,
        form_data={"reason": "x"},
        person=world.applicant,
        actor=world.applicant.user,
        **delivery,
    )


def _issued(world: World, case: Case) -> Case:
    case = engine.take_action(case, "submit", actor=world.applicant.user)
    for name in ("accept", "start_review"):
        case = engine.take_action(case, name, actor=world.reviewer)
    case = engine.take_action(case, "approve", actor=world.approver)
    return engine.take_action(case, "issue_result", actor=world.reviewer)


def test_a_postal_choice_books_the_shipment_at_the_delivery_step(world: World):
    version = quick_item(world)
    case = _start(
        world, version, delivery_method="post", delivery_address=ADDRESS, delivery_mobile=MOBILE
    )
    assert case.delivery_method == "post"
    with connection.cursor() as cursor:
        cursor.execute("SELECT delivery_address FROM cases_case WHERE id = %s", [case.pk])
        (stored,) = cursor.fetchone()
    assert ADDRESS not in stored

    case = _issued(world, case)
    spec = definition_of(case).action("deliver", case.state)
    assert spec is not None and "rate:delivery" in spec.tags
    case = engine.take_action(case, "deliver", actor=world.reviewer, data=SENDER)

    assert case.state == "delivered"
    [shipment] = Shipment.objects.filter(case_number=case.number, purpose="result")
    assert shipment.recipient_address == ADDRESS and shipment.recipient_mobile == MOBILE
    assert shipment.recipient_name == world.applicant.name and not shipment.recipient_org_uscc
    event = case.events.get(action="deliver")
    assert shipment.tracking_number in event.note
    case = engine.take_action(case, "close", actor=world.approver)
    assert case.state == "closed"


def test_post_needs_the_senders_address_at_the_delivery_step(world: World):
    case = _issued(
        world,
        _start(
            world,
            quick_item(world),
            delivery_method="post",
            delivery_address=ADDRESS,
            delivery_mobile=MOBILE,
        ),
    )
    with pytest.raises(RuleViolation) as refused:
        engine.take_action(case, "deliver", actor=world.reviewer)
    assert refused.value.code == "delivery_sender_required"
    case.refresh_from_db()
    assert case.state == "result_issued"
    assert not Shipment.objects.filter(case_number=case.number).exists()


def test_electronic_delivery_points_to_the_wallet_and_close_needs_it(world: World):
    case = _issued(world, _start(world, quick_item(world)))
    assert case.delivery_method == "electronic"
    with pytest.raises(RuleViolation):
        engine.take_action(case, "close", actor=world.approver)
    case = engine.take_action(case, "deliver", actor=world.reviewer)
    assert "证照夹" in case.events.get(action="deliver").note
    assert engine.take_action(case, "close", actor=world.approver).state == "closed"


@pytest.mark.parametrize(
    ("delivery", "code"),
    [
        ({"delivery_method": "post"}, "delivery_address_required"),
        ({"delivery_method": "post", "delivery_address": "短"}, "delivery_address_required"),
        (
            {"delivery_method": "post", "delivery_address": ADDRESS, "delivery_mobile": "123"},
            "delivery_invalid",
        ),
        ({"delivery_method": "drone"}, "delivery_method_unknown"),
    ],
)
def test_a_bad_delivery_choice_is_refused_and_nothing_is_written(world: World, delivery, code):
    before = Case.objects.count()
    with pytest.raises(RuleViolation) as refused:
        _start(world, quick_item(world), **delivery)
    assert refused.value.code == code
    assert Case.objects.count() == before


def test_a_way_the_item_does_not_offer_is_refused(world: World):
    version = quick_item(world)
    # Setup only: a published version is frozen to services.
    type(version).objects.filter(pk=version.pk).update(result_delivery=["electronic"])
    version.refresh_from_db()
    with pytest.raises(RuleViolation) as refused:
        _start(world, version, delivery_method="window")
    assert refused.value.code == "delivery_not_offered"


def test_the_api_takes_the_delivery_choice(client, world: World):
    version = quick_item(world)
    client.force_login(world.applicant.user)
    body = {
        "item": version.item.code,
        "form": {"reason": "x"},
        "delivery": {"method": "post", "address": ADDRESS, "mobile": MOBILE},
    }
    response = client.post("/api/v1/cases", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["delivery"]["method"] == "post"
    assert ADDRESS not in json.dumps(data, ensure_ascii=False)
    case = Case.objects.get(number=data["number"])
    assert (case.delivery_address, case.delivery_mobile) == (ADDRESS, MOBILE)

    body["delivery"] = {"method": "post"}
    before = Case.objects.count()
    response = client.post("/api/v1/cases", json.dumps(body), content_type="application/json")
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "delivery_address_required"
    assert Case.objects.count() == before


def test_the_portal_apply_form_asks_how_the_result_is_delivered(client, world: World):
    version = quick_item(world)
    client.force_login(world.applicant.user)
    code = version.item.code
    page = client.get(f"/items/{code}/apply/").content.decode()
    assert 'name="delivery_method"' in page and "邮寄送达" in page
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page)
    assert key
    response = client.post(
        f"/items/{code}/apply/",
        {
            "applicant": "person",
            "place": version.item.division.code,
            "idempotency_key": key.group(1),
            "form-reason": "x",
            "delivery_method": "post",
            "delivery_address": ADDRESS,
            "delivery_mobile": MOBILE,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    case = Case.objects.get(applicant_person=world.applicant, item_version=version)
    assert case.delivery_method == "post" and case.delivery_address == ADDRESS
    detail = client.get(f"/my/cases/{case.number}/").content.decode()
    assert "邮寄送达" in detail and ADDRESS not in detail


def test_the_console_delivers_by_post_with_the_senders_fields(client, world: World):
    from tests.case_pages import act

    case = _issued(
        world,
        _start(
            world,
            quick_item(world),
            delivery_method="post",
            delivery_address=ADDRESS,
            delivery_mobile=MOBILE,
        ),
    )
    client.force_login(world.reviewer)
    page = client.get(f"/console/cases/{case.number}/").content.decode()
    assert "邮寄送达" in page and ADDRESS not in page and "寄件地址" in page
    response = act(client, case.number, "deliver", **SENDER)
    assert response.status_code == 302, response.content.decode()[:2000]
    case.refresh_from_db()
    assert case.state == "delivered"
    assert Shipment.objects.filter(case_number=case.number, purpose="result").exists()


def test_a_draft_changes_its_delivery_choice(client, world: World):
    case = _start(world, quick_item(world))
    client.force_login(world.applicant.user)
    page = client.get(f"/my/cases/{case.number}/form/")
    assert page.status_code == 200 and 'name="delivery_method"' in page.content.decode()
    response = client.post(
        f"/my/cases/{case.number}/form/",
        {"form-reason": "x", "delivery_method": "post"},
    )
    assert response.status_code == 422
    case.refresh_from_db()
    assert case.delivery_method == "electronic"
    response = client.post(
        f"/my/cases/{case.number}/form/",
        {"form-reason": "x", "delivery_method": "post", "delivery_address": ADDRESS},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    case.refresh_from_db()
    assert (case.delivery_method, case.delivery_address) == ("post", ADDRESS)
    assert case.delivery_mobile == world.applicant.mobile
    assert case.events.filter(action="update_delivery").exists()
