import base64
import json

import pytest
from django.db import connection, transaction
from django.db.models import Model

from core.signing import verify
from federation import registry, services
from federation.models import LogEntry, Outbox, Refusal
from tests.federation.support import ForeignNode


def _ping(fed, **overrides):
    return fed.jilin.envelope("federation.ping", {"note": "你好"}, **overrides)


def _entries(kind="federation.ping"):
    return LogEntry.objects.filter(kind=kind)


def test_a_signed_envelope_is_stored_and_answered_with_a_signed_receipt(federation):
    body, signature = _ping(federation)
    answer = services.receive(body, signature)
    receipt = json.loads(answer["receipt"])
    assert receipt["envelope"] == json.loads(body)["id"]
    assert receipt["sender"] == "liaoning" and receipt["receiver"] == "jilin"
    key = federation.local_key
    assert verify(
        key.algorithm,
        key.public_pem.encode(),
        answer["receipt"].encode(),
        base64.b64decode(answer["signature"]),
    )
    assert list(_entries().values_list("entry_type", "direction")) == [
        ("envelope", "in"),
        ("receipt", "out"),
    ]


def test_a_repeated_envelope_gets_the_same_receipt_and_no_second_effect(federation):
    body, signature = _ping(federation)
    first = services.receive(body, signature)
    again = services.receive(body, signature)
    assert again == first
    assert _entries().filter(direction="in").count() == 1


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("bad_signature", "signature_invalid"),
        ("tampered_payload", "signature_invalid"),
        ("wrong_receiver", "wrong_receiver"),
        ("unknown_sender", "unknown_sender"),
        ("unknown_kind", "unknown_kind"),
        ("invalid_payload", "payload_invalid"),
        ("not_canonical", "malformed"),
        ("not_json", "malformed"),
    ],
)
def test_bad_envelopes_are_refused_with_a_reason_and_no_effect(federation, case, code):
    fed = federation
    if case == "bad_signature":
        body, _ = _ping(fed)
        _, signature = _ping(fed)
    elif case == "tampered_payload":
        body, signature = _ping(fed)
        body = body.replace("你好", "你坏")
    elif case == "wrong_receiver":
        body, signature = _ping(fed, receiver="heilongjiang")
    elif case == "unknown_sender":
        body, signature = ForeignNode("shandong").envelope("federation.ping", {})
    elif case == "unknown_kind":
        body, signature = fed.jilin.envelope("cases.nothing", {})
    elif case == "invalid_payload":
        body, signature = fed.jilin.envelope("federation.ping", {"note": "x", "extra": 1})
    elif case == "not_canonical":
        body, signature = _ping(fed)
        body = body.replace(",", ", ", 1)
    else:
        body, signature = "not json", "AAAA"
    with pytest.raises(services.Refused) as refused:
        services.receive(body, signature)
    assert refused.value.code == code
    assert not LogEntry.objects.exists()
    assert Refusal.objects.get().code == code


def test_an_envelope_from_a_node_past_its_validity_is_refused(federation):
    import datetime as dt

    from django.utils import timezone

    expired = federation.jilin.entry(valid_until=timezone.now() - dt.timedelta(hours=1))
    federation.publish([federation.local_entry(), expired], serial=2)
    with pytest.raises(services.Refused) as refused:
        services.receive(*_ping(federation))
    assert refused.value.code == "sender_expired"


def test_an_id_reused_for_another_envelope_is_refused(federation):
    body, signature = _ping(federation)
    services.receive(body, signature)
    reused, reused_signature = federation.jilin.envelope(
        "federation.ping", {"note": "另一份"}, id=json.loads(body)["id"]
    )
    with pytest.raises(services.Refused) as refused:
        services.receive(reused, reused_signature)
    assert refused.value.code == "id_reused"
    assert _entries().filter(direction="in").count() == 1


def test_a_handler_refusing_the_content_rolls_everything_back(federation, monkeypatch):
    from pydantic import BaseModel

    from core.exceptions import RuleViolation

    class Anything(BaseModel):
        n: int

    def refuse(message, payload):
        registry_entry = LogEntry.objects.filter(envelope_id=message.id)
        assert registry_entry.exists()  # stored before acting
        raise RuleViolation("case_unknown", "没有这个办件")

    registry.register("test.refuse", Anything, refuse)
    try:
        with pytest.raises(services.Refused) as refused:
            services.receive(*federation.jilin.envelope("test.refuse", {"n": 1}))
    finally:
        registry.unregister("test.refuse")
    assert refused.value.code == "case_unknown"
    assert not LogEntry.objects.exists()


def test_the_http_endpoint_answers_receipts_and_signed_refusals(federation, client):
    body, signature = _ping(federation)
    ok = client.post(
        "/federation/v1/envelopes",
        {"envelope": body, "signature": signature},
        content_type="application/json",
    )
    assert ok.status_code == 200 and "receipt" in ok.json()
    forged = client.post(
        "/federation/v1/envelopes",
        {"envelope": body.replace("你好", "再见"), "signature": signature},
        content_type="application/json",
    )
    assert forged.status_code == 403
    # An envelope whose signature does not hold gets no signed refusal (decision 83).
    refusal = forged.json()
    assert refusal["code"] == "signature_invalid" and "refusal" not in refusal
    invalid, invalid_signature = federation.jilin.envelope("federation.ping", {"extra": 1})
    refused = client.post(
        "/federation/v1/envelopes",
        {"envelope": invalid, "signature": invalid_signature},
        content_type="application/json",
    ).json()
    key = federation.local_key
    assert refused["code"] == "payload_invalid"
    assert verify(
        key.algorithm,
        key.public_pem.encode(),
        refused["refusal"].encode(),
        base64.b64decode(refused["signature"]),
    )
    garbage = client.post("/federation/v1/envelopes", "{", content_type="application/json")
    assert garbage.status_code == 400


def test_send_writes_the_envelope_with_the_business_change(federation):
    with transaction.atomic():
        entry = services.send("jilin", "federation.ping", {"note": "1"})
    assert Outbox.objects.get(envelope=entry).status == Outbox.Status.PENDING
    with pytest.raises(RuntimeError), transaction.atomic():
        services.send("jilin", "federation.ping", {"note": "2"})
        raise RuntimeError("the business change failed")
    assert Outbox.objects.count() == 1


def test_send_refuses_unknown_receivers(federation):
    from core.exceptions import RuleViolation

    with pytest.raises(RuleViolation) as refused:
        services.send("shandong", "federation.ping", {})
    assert refused.value.code == "unknown_node"
    assert not LogEntry.objects.exists()


def test_a_receiver_that_is_down_is_retried_with_back_off_in_order(federation, settings):
    settings.FEDERATION_TIMEOUT = 0.5
    with transaction.atomic():
        first = services.send("jilin", "federation.ping", {"note": "1"})
        services.send("jilin", "federation.ping", {"note": "2"})
    counts = services.deliver_due()
    assert counts == {"delivered": 0, "refused": 0, "failed": 1}
    head = Outbox.objects.get(envelope=first)
    assert head.attempts == 1 and head.status == "pending" and head.last_error
    assert Outbox.objects.exclude(envelope=first).get().attempts == 0  # waits behind the first
    assert services.deliver_due() == {"delivered": 0, "refused": 0, "failed": 0}  # backing off


def test_the_log_verifies_and_shows_tampering(federation):
    services.receive(*_ping(federation))
    with transaction.atomic():
        services.send("jilin", "federation.ping", {"note": "出"})
    check = services.verify_log()
    assert check.ok and check.entries == 3
    entry = LogEntry.objects.filter(direction="out", entry_type="envelope").get()
    LogEntry.objects.filter(pk=entry.pk).update(body=entry.body.replace("出", "入"))
    problems = services.verify_log().problems
    assert any("摘要与内容不符" in p for p in problems)
    assert any("签名核验失败" in p for p in problems)


def test_a_deleted_log_entry_breaks_the_chain(federation):
    services.receive(*_ping(federation))
    services.receive(*_ping(federation))
    first = LogEntry.objects.order_by("id").first()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {LogEntry._meta.db_table} WHERE id = %s", [first.pk])
    assert any("链接断开" in p for p in services.verify_log().problems)


def test_log_entries_cannot_be_changed_or_deleted_through_the_models(federation):
    services.receive(*_ping(federation))
    entry: Model = LogEntry.objects.first()
    with pytest.raises(ValueError, match="只能追加"):
        entry.save()
    with pytest.raises(ValueError, match="只能追加"):
        entry.delete()


def test_a_receiver_that_is_down_does_not_hold_up_the_others(federation, settings):
    settings.FEDERATION_TIMEOUT = 0.5
    harbin = ForeignNode("heilongjiang")
    federation.publish(
        [federation.local_entry(), federation.jilin.entry(), harbin.entry()], serial=2
    )
    with transaction.atomic():
        for _ in range(3):
            services.send("jilin", "federation.ping", {})
        services.send("heilongjiang", "federation.ping", {})
    assert services.deliver_due() == {"delivered": 0, "refused": 0, "failed": 2}
    assert set(Outbox.objects.filter(attempts=1).values_list("receiver", flat=True)) == {
        "jilin",
        "heilongjiang",
    }
