"""Two real nodes on loopback, each a web server and a worker with its own
database: delivery, a receiver that is down, a sender that crashed, replays, and a
tampered envelope."""

import json
import urllib.error
import urllib.request

import pytest
from django.db import connection

from core.personal_data import current_prefix
from tests.federation.nodes import start_cluster, wait_until

pytestmark = pytest.mark.nodes

INBOX = "federation_logentry"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if connection.vendor != "sqlite":
        pytest.skip("node processes run on their own SQLite files: once, in the SQLite pass")
    nodes = start_cluster(tmp_path_factory.mktemp("nodes"), ["liaoning", "jilin"])
    yield nodes
    nodes.stop()


def _post(url, data):
    request = urllib.request.Request(
        url, json.dumps(data).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _received(node):
    return node.count(INBOX, "entry_type='envelope' AND direction='in' AND kind='federation.ping'")


def _pending(node):
    return node.count("federation_outbox", "status='pending'")


def _logged(node, envelope_id):
    """The signed envelope as the sender logged it (the body is encrypted at rest)."""
    script = (
        "import json;from federation.models import LogEntry;"
        f"e=LogEntry.objects.get(envelope_id='{envelope_id}', entry_type='envelope', direction='out');"
        "print(json.dumps([e.body, e.signature]))"
    )
    return json.loads(node.manage("shell", "--no-imports", "-c", script).stdout)


def test_the_log_keeps_envelopes_encrypted_at_rest(cluster):
    ln = cluster["liaoning"]
    envelope_id = ln.manage("federation_ping", "jilin").stdout.strip()
    (raw,) = ln.query(
        f"SELECT body FROM {INBOX} WHERE envelope_id=? AND direction='out'",
        envelope_id.replace("-", ""),
    )
    assert raw[0].startswith(current_prefix()) and "ping" not in raw[0]


def test_an_envelope_travels_and_comes_back_with_a_receipt(cluster):
    ln, jl = cluster["liaoning"], cluster["jilin"]
    before = _received(jl)
    envelope_id = ln.manage("federation_ping", "jilin").stdout.strip()
    wait_until(lambda: _pending(ln) == 0, what="delivery")
    assert _received(jl) == before + 1
    receipts = ln.count(
        INBOX,
        "entry_type='receipt' AND direction='in' AND envelope_id=?",
        envelope_id.replace("-", ""),
    )
    assert receipts == 1
    answer = json.loads(ln.manage("federation_ping", "jilin", "--ask").stdout)
    assert answer["node"] == "jilin"


def test_a_receiver_that_was_down_gets_everything_once(cluster):
    ln, jl = cluster["liaoning"], cluster["jilin"]
    before = _received(jl)
    jl.stop()
    try:
        ln.manage("federation_ping", "jilin", "--count", "5")
        wait_until(
            lambda: ln.count("federation_outbox", "status='pending' AND attempts > 0") == 1,
            what="a failed attempt",
        )
        assert _pending(ln) == 5
    finally:
        jl.start()
    wait_until(lambda: _pending(ln) == 0, what="delivery after the restart")
    assert _received(jl) == before + 5
    assert (
        jl.query(
            f"SELECT COUNT(DISTINCT envelope_id) = COUNT(*) FROM {INBOX} WHERE direction='in'"
        )[0][0]
        == 1
    )


def test_a_sender_crash_between_the_change_and_delivery_loses_nothing(cluster):
    """The sender's worker is down (crashed) when the business change commits; the outbox
    keeps the envelope and the next worker delivers it."""
    ln, jl = cluster["liaoning"], cluster["jilin"]
    ln.stop(worker=True)
    before = _received(jl)
    try:
        ln.manage("federation_ping", "jilin", "--count", "2")
        assert _pending(ln) == 2
    finally:
        ln.start()
    wait_until(lambda: _pending(ln) == 0, what="delivery by the restarted worker")
    assert _received(jl) == before + 2


def test_a_lost_receipt_does_not_duplicate(cluster):
    """The envelope reached the receiver but the receipt never came back (the worker died
    first): the next attempt gets the same receipt, and no second effect."""
    ln, jl = cluster["liaoning"], cluster["jilin"]
    ln.stop(worker=True)
    try:
        envelope_id = ln.manage("federation_ping", "jilin").stdout.strip()
        body, signature = _logged(ln, envelope_id)
        status, first = _post(
            f"{jl.url}/federation/v1/envelopes", {"envelope": body, "signature": signature}
        )
        assert status == 200
        before = _received(jl)
    finally:
        ln.start()
    wait_until(lambda: _pending(ln) == 0, what="redelivery")
    assert _received(jl) == before
    status, replay = _post(
        f"{jl.url}/federation/v1/envelopes", {"envelope": body, "signature": signature}
    )
    assert status == 200 and replay == first


def test_a_tampered_envelope_is_refused_and_the_logs_verify(cluster):
    ln, jl = cluster["liaoning"], cluster["jilin"]
    envelope_id = ln.manage("federation_ping", "jilin").stdout.strip()
    body, signature = _logged(ln, envelope_id)
    status, refusal = _post(
        f"{jl.url}/federation/v1/envelopes",
        {"envelope": body.replace("ping 1", "ping 2"), "signature": signature},
    )
    assert status == 403 and refusal["code"] == "signature_invalid"
    assert jl.count("federation_refusal", "code='signature_invalid'") >= 1
    wait_until(lambda: _pending(ln) == 0, what="delivery")
    for node in (ln, jl):
        result = node.json("federation_log", "verify", "--json")
        assert result["problems"] == [] and result["entries"] > 0
