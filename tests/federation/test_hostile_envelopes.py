"""Hostile envelopes (decision 83): anything whose signature was not checked gets an
unsigned problem, never a signed and so final refusal; signed refusals are bound to the
digest of the refused body; envelopes past the maximum age are refused; hostile fields
inside an envelope are problems, not 500s."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.utils import timezone

from core.signing import verify
from federation import services
from federation.directory import utc_text
from federation.models import LogEntry, Outbox
from tests.federation.support import ForeignNode


def _post(client, body: str, signature: str):
    return client.post(
        "/federation/v1/envelopes",
        json.dumps({"envelope": body, "signature": signature}),
        content_type="application/json",
    )


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    assert "refusal" not in body and "signature" not in body  # unsigned: senders retry
    return body


@pytest.mark.parametrize("case", ["junk", "stranger", "forged", "wrong_receiver", "no_sender"])
def test_unverifiable_input_gets_no_signed_refusal(client, federation, case):
    jilin = federation.jilin
    if case == "junk":
        body, signature = '{"id": "x"}', "AAAA"
        code, status = "malformed", 422
    elif case == "stranger":
        # Anyone can claim an envelope id and a sender; without the key it stays unsigned.
        body, signature = ForeignNode("shandong").envelope("federation.ping", {})
        code, status = "unknown_sender", 403
    elif case == "forged":
        body, _ = jilin.envelope("federation.ping", {"note": "真"})
        _, signature = jilin.envelope("federation.ping", {"note": "假"})
        code, status = "signature_invalid", 403
    elif case == "wrong_receiver":
        body, signature = jilin.envelope("federation.ping", {}, receiver="heilongjiang")
        code, status = "wrong_receiver", 422
    else:
        body, signature = jilin.envelope("federation.ping", {}, sender=["jilin"])
        code, status = "malformed", 422
    _problem(_post(client, body, signature), status, code)
    assert not LogEntry.objects.exists()


def test_a_verified_refusal_is_signed_and_bound_to_the_body_digest(client, federation):
    body, signature = federation.jilin.envelope("federation.ping", {"note": "x", "extra": 1})
    r = _post(client, body, signature)
    assert r.status_code == 422
    answer = r.json()
    refusal = json.loads(answer["refusal"])
    assert refusal["code"] == "payload_invalid"
    assert refusal["envelope"] == json.loads(body)["id"]
    assert refusal["digest"] == hashlib.sha256(body.encode()).hexdigest()
    key = federation.local_key
    assert verify(
        key.algorithm,
        key.public_pem.encode(),
        answer["refusal"].encode(),
        base64.b64decode(answer["signature"]),
    )


def test_envelopes_past_the_maximum_age_are_refused(client, federation, settings):
    settings.FEDERATION_MAX_ENVELOPE_AGE_SECONDS = 3600
    old = utc_text(timezone.now() - dt.timedelta(hours=2))
    body, signature = federation.jilin.envelope("federation.ping", {}, created_at=old)
    r = _post(client, body, signature)
    assert r.status_code == 422 and r.json()["code"] == "envelope_too_old"
    assert "refusal" in r.json()  # the sender is known: final, and signed
    assert not LogEntry.objects.exists()
    recent = utc_text(timezone.now() - dt.timedelta(minutes=30))
    r = _post(client, *federation.jilin.envelope("federation.ping", {}, created_at=recent))
    assert r.status_code == 200 and "receipt" in r.json()


@pytest.mark.parametrize(
    "overrides",
    [{"created_at": 5}, {"created_at": None}, {"id": 12}, {"alg": ["x"]}],
    ids=["number-time", "null-time", "number-id", "list-alg"],
)
def test_hostile_fields_inside_a_signed_envelope_are_problems(client, federation, overrides):
    body, signature = federation.jilin.envelope("federation.ping", {}, **overrides)
    _problem(_post(client, body, signature), 422, "malformed")
    assert not LogEntry.objects.exists()


def test_deep_or_surrogate_envelope_text_is_a_problem(client, federation):
    _problem(_post(client, "[" * 100_000 + "]" * 100_000, "AA=="), 422, "malformed")
    lone = '{"envelope": "{\\"id\\": \\"\\ud800\\"}", "signature": "AA=="}'
    r = client.post("/federation/v1/envelopes", lone, content_type="application/json")
    _problem(r, 400, "malformed")


class _Refuser(BaseHTTPRequestHandler):
    answer: bytes = b"{}"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(422)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, format, *args) -> None:
        """Quiet."""


@pytest.mark.parametrize("bound", [True, False], ids=["same-body", "other-body"])
def test_a_sender_takes_a_refusal_as_final_only_for_the_body_it_sent(federation, bound):
    """A signed refusal of another body with the same envelope id (replayed by a party on
    the path) leaves the delivery pending; the genuine one settles it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refuser)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        federation.publish(
            [federation.local_entry(), federation.jilin.entry(base_url=url)], serial=2
        )
        with transaction.atomic():
            entry = services.send("jilin", "federation.ping", {"note": "1"})
        digest = hashlib.sha256((entry.body if bound else entry.body + " ").encode()).hexdigest()
        refusal, signature = federation.jilin.signed(
            {
                "format": services.REFUSAL,
                "envelope": str(entry.envelope_id),
                "digest": digest,
                "sender": "jilin",
                "receiver": "liaoning",
                "code": "payload_invalid",
                "reason": "不收",
                "at": utc_text(timezone.now()),
            }
        )
        _Refuser.answer = json.dumps({"refusal": refusal, "signature": signature}).encode()
        counts = services.deliver_due()
    finally:
        server.shutdown()
        server.server_close()
    status = Outbox.objects.get(envelope=entry).status
    if bound:
        assert counts["refused"] == 1 and status == Outbox.Status.REFUSED
    else:
        assert counts["failed"] == 1 and status == Outbox.Status.PENDING
