"""The HTTP carrier against a real HTTP server on 127.0.0.1: booking, tracking, statuses
that never move back, and every way the carrier can fail (→ CarrierUnavailable)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core.exceptions import RuleViolation
from delivery.carriers import BookingRequest, CarrierUnavailable, HttpCarrier
from delivery.models import Shipment, ShipmentEvent
from delivery.services import refresh_open_shipments, refresh_tracking

Status = Shipment.Status
NUMBER = "EE123456789CN"


def _booked(fee="12.5"):
    return lambda r: (200, {"tracking_number": NUMBER, "fee": fee})


def _event(event_id, at, status, **more):
    return {"id": event_id, "at": at, "status": status, **more}


def test_booking_posts_the_order_with_the_api_key(carrier_server, book):
    carrier_server.reply = _booked()

    shipment = book()

    [request] = carrier_server.received
    assert (request.method, request.path) == ("POST", "/api/v1/orders")
    assert request.headers["X-Api-Key"] == "key-of-the-platform"
    assert request.headers["Content-Type"] == "application/json"
    order = request.json()
    assert order["reference"] == str(shipment.public_id)
    assert order["recipient"] == {
        "name": "王芳",
        "mobile": "15840116677",
        "address": "黑龙江省哈尔滨市南岗区学府路 52 号",
        "org_uscc": "",
    }
    assert order["contents"] == "申请材料原件 3 份"
    shipment.refresh_from_db()
    assert (shipment.carrier, shipment.tracking_number) == ("ems", NUMBER)
    assert shipment.fee == Decimal("12.50")


def test_tracking_reads_the_events(carrier_server, book):
    carrier_server.reply = _booked()
    shipment = book()
    carrier_server.reply = lambda r: (
        200,
        {
            "events": [
                _event("e2", "2026-05-11T20:00:00+08:00", "in_transit", location="沈阳转运中心"),
                # Beijing time without an offset, as many carriers write it.
                _event("e1", "2026-05-11 18:00:00", "picked_up", location="大连中山区"),
            ]
        },
    )

    events = refresh_tracking(shipment)

    assert carrier_server.received[-1].method == "GET"
    assert carrier_server.received[-1].path == f"/api/v1/tracks/{NUMBER}"
    assert [(e.carrier_event_id, e.status) for e in events] == [
        ("e1", "picked_up"),
        ("e2", "in_transit"),
    ]
    assert events[0].at == dt.datetime(2026, 5, 11, 10, 0, tzinfo=dt.UTC)
    assert events[1].location == "沈阳转运中心"
    assert shipment.status == Status.IN_TRANSIT


def test_mobile_numbers_in_carrier_text_are_masked(carrier_server, book):
    carrier_server.reply = _booked()
    shipment = book()
    carrier_server.reply = lambda r: (
        200,
        {
            "events": [
                _event(
                    "e1",
                    "2026-05-12T10:00:00+08:00",
                    "delivering",
                    description="派送中，投递员电话 13804110000",
                )
            ]
        },
    )

    [event] = refresh_tracking(shipment)

    assert event.description == "派送中，投递员电话 138****0000"


def test_the_status_never_moves_back(carrier_server, book):
    carrier_server.reply = _booked()
    shipment = book()
    history = [
        _event("a", "2026-05-11T18:00:00+08:00", "picked_up"),
        _event("b", "2026-05-12T09:00:00+08:00", "delivering"),
    ]
    carrier_server.reply = lambda r: (200, {"events": history})

    refresh_tracking(shipment)
    assert shipment.status == Status.DELIVERING

    # A late scan of an earlier leg arrives: stored, but the status stays.
    history.append(_event("c", "2026-05-12T10:00:00+08:00", "in_transit"))
    assert [e.status for e in refresh_tracking(shipment)] == ["in_transit"]
    assert shipment.status == Status.DELIVERING

    # 投递失败, then a new attempt: still failed until it is signed for.
    history.append(_event("d", "2026-05-12T12:00:00+08:00", "failed"))
    refresh_tracking(shipment)
    assert shipment.status == Status.FAILED
    history.append(_event("e", "2026-05-13T09:00:00+08:00", "delivering"))
    refresh_tracking(shipment)
    assert shipment.status == Status.FAILED
    history.append(_event("f", "2026-05-13T10:00:00+08:00", "delivered", signed_by="王芳"))
    refresh_tracking(shipment)

    shipment.refresh_from_db()
    assert shipment.status == Status.DELIVERED
    assert shipment.signed_by == "王芳"
    assert shipment.delivered_at == dt.datetime(2026, 5, 13, 2, 0, tzinfo=dt.UTC)
    assert shipment.events.count() == 6


def test_carrier_down_when_booking_books_nothing(carrier_server, book, settings, closed_port_url):
    settings.DELIVERY_HTTP_BASE_URL = closed_port_url

    with pytest.raises(RuleViolation) as caught:
        book()

    assert caught.value.code == "carrier_unavailable"
    assert caught.value.status == 503
    assert caught.value.message == "无法连接承运方接口，请稍后再试"
    assert Shipment.objects.count() == 0


def test_carrier_down_when_tracking_changes_nothing(
    carrier_server, book, settings, closed_port_url
):
    carrier_server.reply = _booked()
    shipment = book()
    settings.DELIVERY_HTTP_BASE_URL = closed_port_url

    with pytest.raises(CarrierUnavailable, match="无法连接承运方接口"):
        HttpCarrier().track(NUMBER)
    with pytest.raises(RuleViolation) as caught:
        refresh_tracking(shipment)

    assert caught.value.code == "carrier_unavailable"
    assert ShipmentEvent.objects.count() == 0
    summary = refresh_open_shipments()
    assert (summary.checked, summary.unavailable, summary.advanced) == (1, 1, 0)


@pytest.mark.parametrize(
    "status, answer, message",
    [
        (500, {"error": "internal"}, "承运方接口返回错误（HTTP 500）"),
        (401, {"error": "bad key"}, "承运方接口返回错误（HTTP 401）"),
        (200, b"<html>gateway</html>", "应答不是 JSON"),
        (200, ["EE123456789CN"], "下单应答不是对象"),
        (200, {"fee": "10"}, "缺少有效的运单号"),
        (200, {"tracking_number": "EE 123 CN", "fee": "10"}, "缺少有效的运单号"),
        (200, {"tracking_number": NUMBER, "fee": "-1"}, "资费无效"),
        (200, {"tracking_number": NUMBER, "fee": "ten"}, "资费不是数字"),
    ],
    ids=[
        "http-500",
        "http-401",
        "not-json",
        "not-object",
        "no-number",
        "bad-number",
        "negative-fee",
        "fee-not-number",
    ],
)
def test_unusable_booking_answers(carrier_server, sender, recipient, status, answer, message):
    carrier_server.reply = lambda r: (status, answer)

    with pytest.raises(CarrierUnavailable, match=message):
        HttpCarrier().book(BookingRequest("ref", sender, recipient, "申请材料"))


@pytest.mark.parametrize(
    "answer, message",
    [
        ({"events": "none"}, "缺少事件列表"),
        ({"events": [_event("a", "2026-05-11T18:00:00+08:00", "lost")]}, "状态“lost”无法识别"),
        ({"events": [_event("a", "yesterday", "picked_up")]}, "时间格式错误"),
        ({"events": [_event("", "2026-05-11T18:00:00+08:00", "picked_up")]}, "事件标识"),
        ({"events": ["picked_up"]}, "轨迹事件不是对象"),
    ],
    ids=["no-list", "unknown-status", "bad-time", "no-id", "not-object"],
)
def test_unusable_tracking_answers(carrier_server, answer, message):
    carrier_server.reply = lambda r: (200, answer)

    with pytest.raises(CarrierUnavailable, match=message):
        HttpCarrier().track(NUMBER)


def test_a_slow_carrier_times_out(carrier_server, settings):
    settings.DELIVERY_HTTP_TIMEOUT = 0.2
    carrier_server.delay = 0.6

    with pytest.raises(CarrierUnavailable, match="无法连接承运方接口"):
        HttpCarrier().track(NUMBER)


def test_the_api_address_must_be_set_and_use_https(settings, carrier_server):
    settings.DELIVERY_HTTP_BASE_URL = ""
    with pytest.raises(CarrierUnavailable, match="未配置承运方接口地址"):
        HttpCarrier().track(NUMBER)

    settings.DELIVERY_HTTP_BASE_URL = "http://carrier.example.cn/api"
    with pytest.raises(CarrierUnavailable, match="必须使用 HTTPS"):
        HttpCarrier().track(NUMBER)
    assert carrier_server.received == []
