import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from core import signing

SM2 = signing.Algorithm.SM2


@pytest.fixture(autouse=True)
def _local_adapters(settings):
    settings.TONGBAN_ADAPTERS = {
        **settings.TONGBAN_ADAPTERS,
        "carrier": "delivery.carriers.LocalCarrier",
        "payment": "payments.gateways.LocalGateway",
    }
    settings.DELIVERY_RESULT_POSTAGE = "0"


class Platform:
    """What the platform received, and how it answers (status, document, sign it?)."""

    def __init__(self) -> None:
        self.key = signing.generate_key(SM2)
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.answer: tuple[int, Any, bool] = (200, {}, True)


@pytest.fixture
def platform(settings, tmp_path) -> Iterator[Platform]:
    state = Platform()
    merchant = signing.generate_key(SM2)
    (tmp_path / "merchant.pem").write_bytes(merchant.private_pem)
    (tmp_path / "platform.pem").write_bytes(state.key.public_pem)
    state.merchant_public = merchant.public_pem  # type: ignore[attr-defined]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((self.path, dict(self.headers), body))
            status, document, signed = state.answer
            content = signing.canonical_json(document)
            signature = signing.sign(
                SM2, state.key.private_pem if signed else merchant.private_pem, content
            )
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Signature", base64.b64encode(signature).decode())
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.PAYMENTS_HTTP_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}/gpp/v1"
    settings.PAYMENTS_HTTP_MERCHANT_ID = "M2102000001"
    settings.PAYMENTS_HTTP_MERCHANT_KEY_FILE = str(tmp_path / "merchant.pem")
    settings.PAYMENTS_HTTP_PLATFORM_KEY_FILE = str(tmp_path / "platform.pem")
    settings.PAYMENTS_HTTP_TIMEOUT = 5
    yield state
    server.shutdown()
