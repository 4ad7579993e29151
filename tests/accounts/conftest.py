"""A real HTTP server on 127.0.0.1 standing in for the province's real-name service and an
SMS gateway, so the HTTP adapters are tested over a socket, not with mocks."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from accounts import adapters


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Reply = Callable[[Received], tuple[int, bytes]]


@dataclass
class LocalServer:
    url: str
    received: list[Received] = field(default_factory=list)
    reply: Reply = lambda r: (200, b"{}")
    delay: float = 0.0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = Received(self.path, dict(self.headers.items()), self.rfile.read(length))
        state = self.server.state
        state.received.append(request)
        if state.delay:
            time.sleep(state.delay)
        status, body = state.reply(request)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test asserts on what was received instead."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: LocalServer


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = LocalServer(url=f"http://127.0.0.1:{server.server_address[1]}/")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.state
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port_url() -> str:
    """The URL of a port on 127.0.0.1 that nothing listens on (the service is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/verify"


@pytest.fixture
def use_adapters(settings) -> Iterator[Callable[..., None]]:
    """Point the adapter settings at other classes for one test (the choice is cached)."""

    def choose(**kinds: str) -> None:
        settings.TONGBAN_ADAPTERS = {**settings.TONGBAN_ADAPTERS, **kinds}
        adapters._adapter.cache_clear()

    adapters._adapter.cache_clear()
    yield choose
    adapters._adapter.cache_clear()
