"""Posting a case's paper: who may, when, and how the parcel shows on the timeline — here
and, for a two-node case, on the counterpart node."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from cases import engine, shipping
from cases.models import Case, CaseEvent
from core.exceptions import RuleViolation
from core.models import Division, Organisation
from delivery.carriers import Party
from delivery.services import refresh_tracking
from federation.models import LogEntry
from tests import builders

WINDOW_PHONE = "13904112368"


@pytest.fixture(autouse=True)
def _local_carrier(settings):
    settings.TONGBAN_ADAPTERS = {
        **settings.TONGBAN_ADAPTERS,
        "carrier": "delivery.carriers.LocalCarrier",
    }
    settings.DELIVERY_LOCAL_STEP_SECONDS = 60


def _checked_proxy_case(handling_org=None):
    version = builders.item(org=handling_org, scopes=(("cross_province", "proxy"),))
    return builders.checked_window_case(version, custody="窗口核验原件")


def _post_materials(case, clerk):
    return shipping.post(
        case,
        purpose="materials",
        sender=Party(
            "大连市政务服务中心", WINDOW_PHONE, "大连市中山区人民路 1 号", case.receiving_org.uscc
        ),
        recipient=Party(
            case.handling_org.name,
            "13804310000",
            "长春市朝阳区人民大街 1 号",
            case.handling_org.uscc,
        ),
        contents="申请材料原件 2 份",
        actor=clerk,
    )


def test_the_window_posts_the_originals_and_the_timeline_names_the_tracking_number(
    federation, django_capture_on_commit_callbacks
):
    case, clerk = _checked_proxy_case()
    assert shipping.postable(case, clerk) == ["materials"]
    shipment = _post_materials(case, clerk)
    assert shipment.tracking_number.startswith("LC") and shipment.case_number == case.number
    event = case.events.get(action="post_materials")
    assert shipment.tracking_number in event.note and "长春" not in event.note.split("寄往")[0]
    # The carrier reports progress; the timeline follows.
    with django_capture_on_commit_callbacks(execute=True):
        refresh_tracking(shipment, now=timezone.now() + dt.timedelta(hours=2))
    statuses = list(
        case.events.filter(action="shipment_status").values_list("data__status", flat=True)
    )
    assert statuses[-1] == "delivered"


def test_only_the_window_posts_the_originals_and_only_after_the_formal_check(federation):
    case, clerk = _checked_proxy_case()
    reviewer = builders.staff("reviewer", case.handling_org)
    with pytest.raises(RuleViolation) as refused:
        _post_materials(case, reviewer)
    assert refused.value.code == "action_forbidden"
    Case.objects.filter(pk=case.pk).update(state="draft")
    case.refresh_from_db()
    with pytest.raises(RuleViolation) as refused:
        _post_materials(case, clerk)
    assert refused.value.code == "shipment_not_now"
    assert not case.events.filter(action="post_materials").exists()


def test_bad_addresses_book_nothing(federation):
    case, clerk = _checked_proxy_case()
    with pytest.raises(RuleViolation) as refused:
        shipping.post(
            case,
            purpose="materials",
            sender=Party("窗口", "123", "", ""),
            recipient=Party("", "1", "", ""),
            contents="x",
            actor=clerk,
        )
    assert refused.value.code == "shipment_invalid"
    assert not case.events.filter(action="post_materials").exists()


def test_a_parcel_of_a_two_node_case_is_told_to_the_counterpart(federation):
    remote = Organisation.objects.create(
        uscc=builders.valid_uscc(91, "220100"),
        name="长春市市场监督管理局",
        division=Division.objects.get(code="220100"),
        node="jilin",
    )
    case, clerk = _checked_proxy_case(handling_org=remote)
    engine.take_action(case, "forward", actor=clerk)
    case.refresh_from_db()
    _post_materials(case, clerk)
    shared = [
        json.loads(e.body) for e in LogEntry.objects.filter(kind="case.event", direction="out")
    ]
    assert [s["payload"]["event"]["action"] for s in shared] == ["post_materials"]
    assert shared[0]["receiver"] == "jilin"


def test_the_console_books_a_parcel_from_the_case_page(federation, client):
    case, clerk = _checked_proxy_case()
    client.force_login(clerk)
    page = client.get(f"/console/cases/{case.number}/")
    assert "寄递纸质材料或结果" in page.content.decode()
    response = client.post(
        f"/console/cases/{case.number}/shipments/",
        {
            "shipment-purpose": "materials",
            "shipment-contents": "申请材料原件 2 份",
            "shipment-recipient_name": case.handling_org.name,
            "shipment-recipient_mobile": "13804310000",
            "shipment-recipient_address": "长春市朝阳区人民大街 1 号",
            "shipment-to_window": "on",
            "shipment-sender_mobile": WINDOW_PHONE,
            "shipment-sender_address": "大连市中山区人民路 1 号",
        },
    )
    assert response.status_code == 302
    assert CaseEvent.objects.filter(case=case, action="post_materials").exists()
    page = client.get(f"/console/cases/{case.number}/")
    assert "运单号" in page.content.decode()
