"""Shared test data for delivery: the two ends of a 异地代收代办 parcel, a booking helper,
and a real HTTP server on 127.0.0.1 standing in for a carrier's API (no mocks)."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from stdnum.cn import uscc

from core.actors import SystemActor
from delivery.carriers import Party
from delivery.models import Shipment
from delivery.services import book_shipment

T0 = dt.datetime(2026, 5, 11, 9, 0, tzinfo=dt.UTC)
STEP = 60


@pytest.fixture(autouse=True)
def _local_carrier(settings):
    """The local carrier, one simulated step a minute, unless a test chooses otherwise."""
    settings.TONGBAN_ADAPTERS = {
        **settings.TONGBAN_ADAPTERS,
        "carrier": "delivery.carriers.LocalCarrier",
    }
    settings.DELIVERY_LOCAL_STEP_SECONDS = STEP


@pytest.fixture
def window_uscc() -> str:
    """A valid 统一社会信用代码 of region A's service centre."""
    body = "11210200000009010"
    return body + uscc.calc_check_digit(body)


@pytest.fixture
def sender(window_uscc) -> Party:
    """Region A's window, posting the applicant's paper materials."""
    return Party(
        name="李窗口",
        mobile="13904112368",
        address="辽宁省大连市中山区人民路 1 号 政务服务中心 3 号通办专窗",
        org_uscc=window_uscc,
    )


@pytest.fixture
def recipient() -> Party:
    """The applicant, at home, receiving the result."""
    return Party(name="王芳", mobile="15840116677", address="黑龙江省哈尔滨市南岗区学府路 52 号")


@pytest.fixture
def book(sender, recipient) -> Callable[..., Shipment]:
    def make(**overrides: Any) -> Shipment:
        arguments: dict[str, Any] = {
            "case_number": "LN-20260511-000042",
            "purpose": Shipment.Purpose.MATERIALS,
            "sender": sender,
            "recipient": recipient,
            "contents": "申请材料原件 3 份",
            "actor": SystemActor("test"),
            "now": T0,
        }
        return book_shipment(**{**arguments, **overrides})

    return make


# A carrier API on 127.0.0.1 --------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Reply = Callable[[Received], tuple[int, Any]]


@dataclass
class CarrierServer:
    url: str
    received: list[Received] = field(default_factory=list)
    reply: Reply = lambda r: (200, {})
    delay: float = 0.0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = Received(
            self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
        )
        state = self.server.state
        state.received.append(request)
        if state.delay:
            time.sleep(state.delay)
        status, answer = state.reply(request)
        body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests assert on what was received instead."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: CarrierServer


@pytest.fixture
def carrier_server(settings) -> Iterator[CarrierServer]:
    """A carrier API on a free port, with the HTTP carrier pointed at it."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = CarrierServer(url=f"http://127.0.0.1:{server.server_address[1]}/api/v1")
    # A short poll interval lets the server stop quickly after each test.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    settings.TONGBAN_ADAPTERS = {
        **settings.TONGBAN_ADAPTERS,
        "carrier": "delivery.carriers.HttpCarrier",
    }
    settings.DELIVERY_HTTP_BASE_URL = server.state.url
    settings.DELIVERY_HTTP_API_KEY = "key-of-the-platform"
    settings.DELIVERY_HTTP_CARRIER_CODE = "ems"
    settings.DELIVERY_HTTP_TIMEOUT = 2.0
    yield server.state
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port_url() -> str:
    """The URL of a port on 127.0.0.1 that nothing listens on (the carrier is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v1"
