"""Envelopes in batches (decision 160): a receiver takes several in one request and one
transaction, each answered as alone; a sender posts the due ones in batches, in order;
a receiver that crashes in the middle of a batch keeps nothing of it, and the batch sent
again is stored once. The chained log stays a line throughout."""

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.utils import timezone
from pydantic import BaseModel

from core.exceptions import RuleViolation
from federation import registry, services
from federation.directory import utc_text
from federation.models import LogEntry, LogHead, Outbox
from tests.federation.support import ForeignNode


def _pings(fed, n):
    return [fed.jilin.envelope("federation.ping", {"note": f"第 {i} 份"}) for i in range(n)]


def _stored(kind="federation.ping"):
    return LogEntry.objects.filter(kind=kind, entry_type="envelope", direction="in")


class Anything(BaseModel):
    n: int


@pytest.fixture
def refusing_kind():
    def refuse(message, payload):
        raise RuleViolation("case_unknown", "没有这个办件")

    registry.register("test.refuse", Anything, refuse)
    yield "test.refuse"
    registry.unregister("test.refuse")


def test_a_batch_is_stored_in_order_each_answered_as_alone(federation, refusing_kind):
    envelopes = _pings(federation, 3)
    refused = federation.jilin.envelope(refusing_kind, {"n": 1})
    batch = [envelopes[0], envelopes[1], refused, envelopes[2], envelopes[0]]
    answers = services.receive_batch(batch)
    assert [a["status"] for a in answers] == [200, 200, 422, 200, 200]
    # The repeated envelope gets the receipt it got the first time, and no second entry.
    assert answers[4]["receipt"] == answers[0]["receipt"]
    assert _stored().count() == 3
    # The handler's refusal is signed (final) and left nothing in the log.
    assert "refusal" in answers[2] and answers[2]["code"] == "case_unknown"
    assert not LogEntry.objects.filter(kind=refusing_kind).exists()
    for body_signature, answer in zip(batch, answers, strict=True):
        if answer["status"] == 200:
            receipt = json.loads(answer["receipt"])
            assert receipt["envelope"] == json.loads(body_signature[0])["id"]
    # One line of entries: in, receipt, in, receipt, in, receipt; the head is the last.
    check = services.verify_log()
    assert check.ok and check.entries == 6
    assert LogHead.objects.get().last_hash == LogEntry.objects.order_by("id").last().entry_hash
    # The same envelopes one by one afterwards: the same receipts, the chain continues.
    assert services.receive(*envelopes[1]) == {
        "receipt": answers[1]["receipt"],
        "signature": answers[1]["signature"],
    }
    assert services.receive_batch(_pings(federation, 2))[1]["status"] == 200
    assert services.verify_log().ok


def test_an_envelope_the_sender_will_send_again_stops_the_batch(federation):
    stranger = ForeignNode("heilongjiang")  # not in the directory: unknown_sender, retried
    first, later = _pings(federation, 2)
    answers = services.receive_batch([first, stranger.envelope("federation.ping", {}), later])
    assert answers[0]["status"] == 200
    assert answers[1]["code"] == "unknown_sender" and "refusal" not in answers[1]
    assert answers[2]["code"] == "not_attempted" and answers[2]["status"] == 409
    assert _stored().count() == 1  # the later one waits: it must not overtake


def test_a_receiver_crash_in_the_middle_of_a_batch_keeps_nothing_of_it(federation):
    crash = {"after": 2}

    def fragile(message, payload):
        crash["after"] -= 1
        if crash["after"] < 0:
            raise RuntimeError("the process died here")

    registry.register("test.fragile", Anything, fragile)
    try:
        batch = [federation.jilin.envelope("test.fragile", {"n": i}) for i in range(5)]
        head = LogHead.objects.filter(pk=1).values_list("last_hash", flat=True).first()
        with pytest.raises(RuntimeError):
            services.receive_batch(batch)
        # Nothing of the batch, not even the two handled before the crash.
        assert not LogEntry.objects.exists()
        assert LogHead.objects.filter(pk=1).values_list("last_hash", flat=True).first() == head
        crash["after"] = 100
        answers = services.receive_batch(batch)  # the sender sends it all again
    finally:
        registry.unregister("test.fragile")
    assert [a["status"] for a in answers] == [200] * 5
    assert LogEntry.objects.filter(kind="test.fragile", direction="in").count() == 5
    assert services.verify_log().ok


def test_the_batch_endpoint(federation, client):
    envelopes = _pings(federation, 2)
    payload = {"envelopes": [{"envelope": b, "signature": s} for b, s in envelopes]}
    answer = client.post("/federation/v1/envelopes/batch", payload, content_type="application/json")
    assert answer.status_code == 200
    assert [r["status"] for r in answer.json()["results"]] == [200, 200]
    too_many = {"envelopes": [{"envelope": "x", "signature": "y"}] * (services.BATCH_LIMIT + 1)}
    for bad in ({"envelopes": []}, {"envelopes": "x"}, {"envelopes": [{"envelope": 1}]}, too_many):
        refused = client.post(
            "/federation/v1/envelopes/batch", bad, content_type="application/json"
        )
        assert refused.status_code == 400 and refused.json()["code"] == "malformed"
    assert _stored().count() == 2


class _Receiver(BaseHTTPRequestHandler):
    """jilin as a test double: answers each batch with receipts signed by jilin's key,
    after `drop` requests whose connection it cuts without an answer (a crash)."""

    node: ForeignNode
    drop = 0
    requests: list[int] = []

    def do_POST(self) -> None:
        data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path.endswith("/batch"):
            _Receiver.requests.append(len(data["envelopes"]))
        if _Receiver.drop:
            _Receiver.drop -= 1
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        items = data["envelopes"] if self.path.endswith("/batch") else [data]
        results = []
        for item in items:
            doc = json.loads(item["envelope"])
            receipt, signature = self.node.signed(
                {
                    "format": services.RECEIPT,
                    "envelope": doc["id"],
                    "digest": hashlib.sha256(item["envelope"].encode()).hexdigest(),
                    "sender": "jilin",
                    "receiver": "liaoning",
                    "kind": doc["kind"],
                    "received_at": utc_text(timezone.now()),
                }
            )
            results.append({"status": 200, "receipt": receipt, "signature": signature})
        body = json.dumps(
            {"results": results} if self.path.endswith("/batch") else results[0]
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:
        """Quiet."""


@pytest.fixture
def receiver(federation):
    _Receiver.node, _Receiver.drop, _Receiver.requests = federation.jilin, 0, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    federation.publish([federation.local_entry(), federation.jilin.entry(base_url=url)], serial=2)
    yield _Receiver
    server.shutdown()
    server.server_close()


def _send(n):
    entries = []
    for i in range(n):
        with transaction.atomic():
            entries.append(services.send("jilin", "federation.ping", {"note": f"{i}"}))
    return entries


def test_the_sender_posts_due_envelopes_in_batches(federation, receiver, settings):
    _send(services.BATCH_LIMIT + 30)
    counts = services.deliver_due()
    assert counts == {"delivered": services.BATCH_LIMIT + 30, "refused": 0, "failed": 0}
    assert receiver.requests == [services.BATCH_LIMIT, 30]
    assert not Outbox.objects.exclude(status=Outbox.Status.DELIVERED).exists()
    receipts = LogEntry.objects.filter(entry_type="receipt", direction="in")
    assert receipts.count() == services.BATCH_LIMIT + 30
    assert services.verify_log().ok


def test_a_batch_cut_by_a_crash_is_sent_again_whole_and_settled_once(
    federation, receiver, settings
):
    settings.FEDERATION_RETRY_BASE_SECONDS = 0
    settings.FEDERATION_RETRY_MAX_SECONDS = 0
    entries = _send(5)
    receiver.drop = 1
    assert services.deliver_due() == {"delivered": 0, "refused": 0, "failed": 1}
    assert Outbox.objects.filter(status=Outbox.Status.PENDING).count() == 5
    assert not LogEntry.objects.filter(entry_type="receipt").exists()
    assert services.deliver_due() == {"delivered": 5, "refused": 0, "failed": 0}
    assert receiver.requests == [5, 5]
    for entry in entries:
        assert (
            LogEntry.objects.filter(envelope_id=entry.envelope_id, entry_type="receipt").count()
            == 1
        )
    assert services.verify_log().ok


def test_send_writes_unsealed_and_the_next_append_links_it(federation):
    """No lock on the log's head inside the business transaction (decision 161): the
    envelope is written with no place in the chain, and whatever appends next — a receipt,
    an incoming envelope, the worker before delivery — links it first."""
    head = LogHead.objects.filter(pk=1).values_list("last_hash", flat=True).first()
    with transaction.atomic():
        sent = services.send("jilin", "federation.ping", {"note": "出"})
    sent.refresh_from_db()
    assert sent.position is None and sent.entry_hash.startswith(services.UNSEALED)
    assert LogHead.objects.filter(pk=1).values_list("last_hash", flat=True).first() == head
    services.receive(*_pings(federation, 1)[0])
    order = list(
        LogEntry.objects.order_by("position").values_list("entry_type", "direction", "position")
    )
    assert [(t, d) for t, d, _ in order] == [
        ("envelope", "out"),
        ("envelope", "in"),
        ("receipt", "out"),
    ]
    sent.refresh_from_db()
    assert sent.previous_hash == (head or services.GENESIS)
    with transaction.atomic():
        services.send("jilin", "federation.ping", {"note": "再出"})
    check = services.verify_log()  # links the pending one, then checks it all
    assert check.ok and check.entries == 4
    assert not LogEntry.objects.filter(position__isnull=True).exists()
