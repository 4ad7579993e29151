"""The federation exchange: sending, delivering, receiving and answering envelopes.

Envelope (`tongban-envelope/1`, canonical JSON, signed by the sender's node key)::

    {"format": "tongban-envelope/1", "id": "<uuid4>", "sender": "liaoning",
     "receiver": "jilin", "kind": "case.forwarded", "created_at": "…Z",
     "payload": {…}, "kid": "<sender key fingerprint>", "alg": "SM2-SM3"}

Receipt (`tongban-receipt/1`, signed by the receiver): the envelope id, the SHA-256 of the
envelope text, who received it and when. A refusal (`tongban-refusal/1`) is signed too, so
that a sender only gives up on an envelope when the receiver itself said no.

- `send()` — inside the caller's transaction: the envelope is signed, logged and put in
  the outbox with the business change (transactional outbox); nothing leaves the node
  before the change commits.
- `deliver_due()` — the worker: posts due envelopes per receiver in order, stores the
  signed receipt, and backs off exponentially on failure. A receiver that is down gets
  everything once it is back.
- `receive()` — the receiving side: checks the envelope against the directory, stores it
  and runs its handler in one transaction, and answers with a signed receipt. The same id
  again gets the stored receipt back and no second effect (exactly once in effect).
- `ask()` / `answer()` — a question answered at once (licence status, catalog), both
  halves signed and logged.
- `verify_log()` — checks every stored entry's signature and the hash chain again.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import random
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from pydantic import ValidationError

from core.exceptions import RuleViolation
from core.signing import Algorithm, SigningError, canonical_json, verify
from federation import directory as directory_mod
from federation import keys, registry
from federation.directory import DirectoryUnavailable, parse_utc, utc_text
from federation.models import LogEntry, LogHead, NodeKey, Outbox, Refusal

ENVELOPE = "tongban-envelope/1"
RECEIPT = "tongban-receipt/1"
REFUSAL = "tongban-refusal/1"
ANSWER_SUFFIX = ".answer"
GENESIS = "0" * 64
# Refusals a later attempt may overcome: the receiver's directory or ours may lag behind.
RETRYABLE = {"unknown_sender", "unknown_key", "directory_unavailable", "clock_skew"}

log = logging.getLogger(__name__)


class FederationUnavailable(Exception):
    """The other node could not be reached or gave no usable answer; try again later."""


@dataclass
class Refused(Exception):
    """An envelope this node will not take; `code` is stable, `reason` is in Chinese."""

    code: str
    reason: str
    status: int = 422
    problems: list[dict[str, Any]] = field(default_factory=list)
    # Whether the envelope's signature was checked before it was refused: only then is the
    # refusal signed, and so final for the sender (decision 83).
    verified: bool = False

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"


# --- the log --------------------------------------------------------------------------


def _entry_hash(previous: str, entry_type: str, direction: str, body: str, signature: str) -> str:
    material = "\n".join([previous, entry_type, direction, body, signature])
    return hashlib.sha256(material.encode()).hexdigest()


def _append(
    *, entry_type: str, direction: str, doc: dict[str, Any], body: str, signature: str
) -> LogEntry:
    """Append one entry to the chained log (sealing what is pending first); call inside a
    transaction."""
    chain = _Chain()
    entry = chain.append(
        entry_type=entry_type, direction=direction, doc=doc, body=body, signature=signature
    )
    chain.close()
    return entry


UNSEALED = "unsealed:"


class _Chain:
    """Entries appended under one hold of the `LogHead` lock: the head is read and locked
    once, the envelopes sent since the last append are linked first (`seal`, decision
    161), each entry links to the previous one in memory, and the head is written once at
    the end. Call inside a transaction; `last`/`position` are restored by the caller when
    a savepoint holding some of the entries is rolled back (`mark`/`reset`)."""

    def __init__(self) -> None:
        head = LogHead.objects.select_for_update().filter(pk=1).first()
        if head is None:
            head = LogHead.objects.create(pk=1, last_hash=GENESIS)
        self.last = self.first = head.last_hash
        self.position = LogEntry.objects.aggregate(top=Max("position"))["top"] or 0
        self.sealed = self.seal()

    def mark(self) -> tuple[str, int]:
        return self.last, self.position

    def reset(self, mark: tuple[str, int]) -> None:
        self.last, self.position = mark

    def seal(self) -> int:
        """Link the envelopes written unsealed by `send` whose transactions have committed,
        in id order; how many."""
        pending = list(LogEntry.objects.filter(position__isnull=True).order_by("id"))
        for entry in pending:
            entry_hash = _entry_hash(
                self.last, entry.entry_type, entry.direction, entry.body, entry.signature
            )
            self.position += 1
            LogEntry.objects.filter(pk=entry.pk, position__isnull=True).update(
                previous_hash=self.last, entry_hash=entry_hash, position=self.position
            )
            self.last = entry_hash
        return len(pending)

    def append(
        self, *, entry_type: str, direction: str, doc: dict[str, Any], body: str, signature: str
    ) -> LogEntry:
        entry_hash = _entry_hash(self.last, entry_type, direction, body, signature)
        self.position += 1
        entry = LogEntry.objects.create(
            entry_type=entry_type,
            direction=direction,
            envelope_id=doc["id"] if entry_type == LogEntry.Type.ENVELOPE else doc["envelope"],
            sender=doc["sender"],
            receiver=doc["receiver"],
            kind=doc.get("kind", ""),
            body=body,
            signature=signature,
            key_id=doc["kid"],
            algorithm=doc["alg"],
            previous_hash=self.last,
            entry_hash=entry_hash,
            position=self.position,
        )
        self.last = entry_hash
        return entry

    def close(self) -> None:
        if self.last != self.first:
            LogHead.objects.filter(pk=1).update(last_hash=self.last)


def seal_pending() -> int:
    """Link every committed unsealed envelope into the chain now; how many."""
    with transaction.atomic():
        chain = _Chain()
        chain.close()
    return chain.sealed


def _signed(doc: dict[str, Any]) -> tuple[str, str]:
    """Sign a document with this node's key: (canonical text, base64 signature)."""
    key = keys.signing_key()
    doc = {**doc, "kid": key.fingerprint, "alg": key.algorithm}
    body = canonical_json(doc).decode()
    return body, base64.b64encode(keys.sign_with(key, body.encode())).decode()


def _digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


# --- sending --------------------------------------------------------------------------


def _envelope_doc(receiver: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    if receiver == settings.NODE_ID:
        raise RuleViolation("receiver_is_self", "报文不能发给本节点自己")
    try:
        node = directory_mod.current().node(receiver)
    except DirectoryUnavailable as exc:
        raise RuleViolation("directory_unavailable", f"无法与其他节点交换：{exc}") from exc
    if node is None:
        raise RuleViolation("unknown_node", f"节点目录中没有节点“{receiver}”")
    return {
        "format": ENVELOPE,
        "id": str(uuid.uuid4()),
        "sender": settings.NODE_ID,
        "receiver": receiver,
        "kind": kind,
        "created_at": utc_text(timezone.now()),
        "payload": payload,
    }


def send(receiver: str, kind: str, payload: dict[str, Any]) -> LogEntry:
    """Sign an envelope, log it and queue it for delivery, in the caller's transaction."""
    doc = _envelope_doc(receiver, kind, payload)
    body, signature = _signed(doc)
    signed_doc = json.loads(body)
    with transaction.atomic():
        # Written unsealed: no lock on the log's head inside the caller's transaction, so
        # business changes that send envelopes do not wait on each other (decision 161).
        # The next append links it, and the worker before it leaves the node.
        entry = LogEntry.objects.create(
            entry_type=LogEntry.Type.ENVELOPE,
            direction=LogEntry.Direction.OUT,
            envelope_id=signed_doc["id"],
            sender=signed_doc["sender"],
            receiver=signed_doc["receiver"],
            kind=signed_doc["kind"],
            body=body,
            signature=signature,
            key_id=signed_doc["kid"],
            algorithm=signed_doc["alg"],
            previous_hash="",
            entry_hash=UNSEALED + signed_doc["id"],
            position=None,
        )
        Outbox.objects.create(envelope=entry, receiver=receiver, next_attempt_at=timezone.now())
    return entry


def _post(url: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(data, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.FEDERATION_TIMEOUT) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read())
        except ValueError:
            raise FederationUnavailable(f"HTTP {exc.code}") from exc
    except (OSError, ValueError) as exc:
        raise FederationUnavailable(str(exc)) from exc


def _check_from(node_id: str, body: str, signature: str, expected_format: str) -> dict[str, Any]:
    """Parse a document another node signed and verify it against the directory."""
    try:
        doc = json.loads(body)
        if doc.get("format") != expected_format or doc.get("sender") != node_id:
            raise FederationUnavailable(f"{node_id} 的应答格式不对")
        node = directory_mod.current().node(node_id)
        key = node.key(doc["kid"]) if node else None
        if key is None:
            raise FederationUnavailable(f"目录中没有 {node_id} 的签名密钥 {doc['kid'][:16]}")
        if not verify(key.algorithm, key.public_pem, body.encode(), base64.b64decode(signature)):
            raise FederationUnavailable(f"{node_id} 的应答签名不符")
    except (KeyError, TypeError, ValueError, SigningError, DirectoryUnavailable) as exc:
        raise FederationUnavailable(f"{node_id} 的应答无法核验：{exc}") from exc
    return doc  # type: ignore[no-any-return]


def _backoff(attempts: int) -> dt.timedelta:
    base = settings.FEDERATION_RETRY_BASE_SECONDS
    delay = min(base * 2 ** max(attempts - 1, 0), settings.FEDERATION_RETRY_MAX_SECONDS)
    return dt.timedelta(seconds=delay * random.uniform(0.8, 1.2))


def _deliver(item: Outbox) -> bool:
    """One attempt; True when the envelope is settled (receipt or final refusal)."""
    entry = item.envelope
    node = directory_mod.current().node(item.receiver)
    if node is None:
        raise FederationUnavailable(f"节点目录中没有节点“{item.receiver}”")
    status, answer = _post(
        f"{node.base_url}/federation/v1/envelopes",
        {"envelope": entry.body, "signature": entry.signature},
    )
    if status == 200 and "receipt" in answer:
        receipt = _check_from(item.receiver, answer["receipt"], answer["signature"], RECEIPT)
        if receipt.get("envelope") != str(entry.envelope_id) or receipt.get("digest") != _digest(
            entry.body
        ):
            raise FederationUnavailable("回执与所投递的报文不符")
        with transaction.atomic():
            if not LogEntry.objects.filter(
                entry_type=LogEntry.Type.RECEIPT,
                direction=LogEntry.Direction.IN,
                envelope_id=entry.envelope_id,
            ).exists():
                _append(
                    entry_type=LogEntry.Type.RECEIPT,
                    direction=LogEntry.Direction.IN,
                    doc=receipt,
                    body=answer["receipt"],
                    signature=answer["signature"],
                )
            Outbox.objects.filter(pk=item.pk).update(
                status=Outbox.Status.DELIVERED,
                delivered_at=timezone.now(),
                attempts=item.attempts + 1,
                last_error="",
            )
        return True
    if "refusal" in answer:
        refusal = _check_from(item.receiver, answer["refusal"], answer["signature"], REFUSAL)
        code, reason = refusal.get("code", ""), refusal.get("reason", "")
        if (
            refusal.get("envelope") == str(entry.envelope_id)
            and refusal.get("digest") == _digest(entry.body)
            and code not in RETRYABLE
        ):
            log.warning(
                "envelope %s (%s) refused by %s: %s",
                entry.envelope_id,
                entry.kind,
                item.receiver,
                code,
            )
            with transaction.atomic():
                Outbox.objects.filter(pk=item.pk).update(
                    status=Outbox.Status.REFUSED,
                    attempts=item.attempts + 1,
                    last_error=f"{code}: {reason}"[:500],
                )
                callback = registry.refusal_callback(entry.kind)
                if callback is not None:
                    callback(item.receiver, json.loads(entry.body)["payload"], code, reason)
            return True
        raise FederationUnavailable(f"{code}: {reason}")
    raise FederationUnavailable(f"HTTP {status}")


# At most this many envelopes in one POST, and at most FEDERATION_MAX_BYTES of them.
BATCH_LIMIT = 100


class _NoBatches(Exception):
    """The receiver does not offer the batch endpoint (an older node): one by one."""


def _batches(items: list[Outbox]) -> list[list[Outbox]]:
    """The due envelopes in order, cut into batches by count and size (one envelope
    larger than the limit still goes, alone)."""
    limit = settings.FEDERATION_MAX_BYTES // 2
    batches: list[list[Outbox]] = []
    size = 0
    for item in items:
        length = len(item.envelope.body) + len(item.envelope.signature) + 64
        if not batches or len(batches[-1]) >= BATCH_LIMIT or size + length > limit:
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += length
    return batches


@dataclass
class _Settled:
    delivered: list[tuple[Outbox, dict[str, Any], str, str]] = field(default_factory=list)
    refused: list[tuple[Outbox, str, str]] = field(default_factory=list)
    failed: tuple[Outbox, Exception] | None = None


def _outcome(item: Outbox, status: int, answer: dict[str, Any], settled: _Settled) -> bool:
    """Read the receiver's answer to one envelope into `settled`; False when it is not
    settled (the rest of the batch then waits, as one by one)."""
    entry = item.envelope
    try:
        if status == 200 and "receipt" in answer:
            receipt = _check_from(item.receiver, answer["receipt"], answer["signature"], RECEIPT)
            if receipt.get("envelope") != str(entry.envelope_id) or receipt.get(
                "digest"
            ) != _digest(entry.body):
                raise FederationUnavailable("回执与所投递的报文不符")
            settled.delivered.append((item, receipt, answer["receipt"], answer["signature"]))
            return True
        if "refusal" in answer:
            refusal = _check_from(item.receiver, answer["refusal"], answer["signature"], REFUSAL)
            code, reason = refusal.get("code", ""), refusal.get("reason", "")
            if (
                refusal.get("envelope") == str(entry.envelope_id)
                and refusal.get("digest") == _digest(entry.body)
                and code not in RETRYABLE
            ):
                settled.refused.append((item, code, reason))
                return True
            raise FederationUnavailable(f"{code}: {reason}")
        raise FederationUnavailable(f"HTTP {status} {answer.get('code', '')}".strip())
    except FederationUnavailable as exc:
        settled.failed = (item, exc)
        return False


def _record(settled: _Settled) -> None:
    """Store what a batch settled, in one transaction under one hold of the log's head:
    the receipts in the log, the outbox rows delivered or refused, the refusal callbacks."""
    if not settled.delivered and not settled.refused:
        return
    now = timezone.now()
    with transaction.atomic():
        chain = _Chain()
        ids = [item.envelope.envelope_id for item, *_ in settled.delivered]
        logged = set(
            LogEntry.objects.filter(
                entry_type=LogEntry.Type.RECEIPT,
                direction=LogEntry.Direction.IN,
                envelope_id__in=ids,
            ).values_list("envelope_id", flat=True)
        )
        for item, receipt, body, signature in settled.delivered:
            if item.envelope.envelope_id not in logged:
                chain.append(
                    entry_type=LogEntry.Type.RECEIPT,
                    direction=LogEntry.Direction.IN,
                    doc=receipt,
                    body=body,
                    signature=signature,
                )
        chain.close()
        if settled.delivered:
            Outbox.objects.filter(pk__in=[item.pk for item, *_ in settled.delivered]).update(
                status=Outbox.Status.DELIVERED,
                delivered_at=now,
                attempts=F("attempts") + 1,
                last_error="",
            )
        for item, code, reason in settled.refused:
            entry = item.envelope
            log.warning(
                "envelope %s (%s) refused by %s: %s",
                entry.envelope_id,
                entry.kind,
                item.receiver,
                code,
            )
            Outbox.objects.filter(pk=item.pk).update(
                status=Outbox.Status.REFUSED,
                attempts=item.attempts + 1,
                last_error=f"{code}: {reason}"[:500],
            )
            callback = registry.refusal_callback(entry.kind)
            if callback is not None:
                callback(item.receiver, json.loads(entry.body)["payload"], code, reason)


def _deliver_batch(receiver: str, items: list[Outbox]) -> _Settled:
    """One POST of several envelopes to one receiver (decision 160); what it settled."""
    node = directory_mod.current().node(receiver)
    if node is None:
        raise FederationUnavailable(f"节点目录中没有节点“{receiver}”")
    status, answer = _post(
        f"{node.base_url}/federation/v1/envelopes/batch",
        {
            "envelopes": [
                {"envelope": i.envelope.body, "signature": i.envelope.signature} for i in items
            ]
        },
    )
    results = answer.get("results")
    if not isinstance(results, list):
        # No batch answer (an older node without the endpoint, or a receiver that
        # answers every request alike): its answers one by one are the reference.
        raise _NoBatches
    if status != 200 or len(results) != len(items):
        raise FederationUnavailable(f"HTTP {status} {answer.get('code', '')}".strip())
    settled = _Settled()
    for item, result in zip(items, results, strict=True):
        if not isinstance(result, dict):
            settled.failed = (item, FederationUnavailable("批量应答格式不对"))
            break
        if not _outcome(item, int(result.get("status", 200)), result, settled):
            break
    _record(settled)
    return settled


def _failed(item: Outbox, exc: Exception) -> None:
    Outbox.objects.filter(pk=item.pk).update(
        attempts=item.attempts + 1,
        next_attempt_at=timezone.now() + _backoff(item.attempts + 1),
        last_error=str(exc)[:500],
    )
    log.info(
        "envelope %s to %s not delivered yet: %s", item.envelope.envelope_id, item.receiver, exc
    )


def _deliver_one_by_one(items: list[Outbox], counts: dict[str, int]) -> None:
    for item in items:
        try:
            _deliver(item)
        except (FederationUnavailable, DirectoryUnavailable) as exc:
            counts["failed"] += 1
            _failed(item, exc)
            return
        item.refresh_from_db(fields=["status"])
        counts["delivered" if item.status == Outbox.Status.DELIVERED else "refused"] += 1


def deliver_due(*, limit: int = 1000) -> dict[str, int]:
    """Deliver what is due, per receiver and oldest first, in batches (`BATCH_LIMIT` per
    POST). Envelopes to one receiver go in order: after a failure the rest for that
    receiver wait for the next round, so they never overtake; a receiver that is down
    does not hold up the others."""
    now = timezone.now()
    counts = {"delivered": 0, "refused": 0, "failed": 0}
    # What leaves the node is in the chain first (decision 161).
    if Outbox.objects.filter(
        status=Outbox.Status.PENDING, envelope__position__isnull=True
    ).exists():
        seal_pending()
    receivers = (
        Outbox.objects.filter(status=Outbox.Status.PENDING)
        .values_list("receiver", flat=True)
        .distinct()
    )
    for receiver in sorted(receivers):
        queue = (
            Outbox.objects.filter(status=Outbox.Status.PENDING, receiver=receiver)
            .select_related("envelope")
            .order_by("id")[:limit]
        )
        due: list[Outbox] = []
        for item in queue:
            # Not due yet, or sent after the sealing above: it waits, and so do the later.
            if item.next_attempt_at > now or item.envelope.position is None:
                break
            due.append(item)
        for position, batch in enumerate(_batches(due)):
            try:
                if len(batch) == 1:  # one envelope: the plain endpoint
                    raise _NoBatches
                settled = _deliver_batch(receiver, batch)
            except _NoBatches:
                rest = [i for b in _batches(due)[position:] for i in b]
                _deliver_one_by_one(rest, counts)
                break
            except (FederationUnavailable, DirectoryUnavailable) as exc:
                settled = _Settled(failed=(batch[0], exc))
            counts["delivered"] += len(settled.delivered)
            counts["refused"] += len(settled.refused)
            if settled.failed is not None:
                counts["failed"] += 1
                _failed(*settled.failed)
                break
    return counts


# --- receiving ------------------------------------------------------------------------


def _refuse(
    code: str,
    reason: str,
    *,
    status: int = 422,
    doc: dict[str, Any] | None = None,
    raw: str = "",
    problems: list[dict[str, Any]] | None = None,
    verified: bool = False,
) -> Refused:
    doc = doc or {}
    Refusal.objects.create(
        code=code,
        reason=reason[:500],
        envelope_id=str(doc.get("id", ""))[:64],
        claimed_sender=str(doc.get("sender", ""))[:64],
        kind=str(doc.get("kind", ""))[:64],
        digest=_digest(raw),
    )
    log.warning(
        "envelope %s from %s refused: %s (%s)",
        doc.get("id", "?"),
        doc.get("sender", "?"),
        code,
        reason,
    )
    return Refused(code, reason, status, problems or [], verified)


def _verified(
    body: str, signature_b64: str, *, query: bool
) -> tuple[dict[str, Any], registry.Handler, Any]:
    """Every check an incoming envelope must pass before it may be stored; raises Refused."""
    try:
        doc = json.loads(body)
        if not isinstance(doc, dict):
            raise ValueError("not an object")
    except (ValueError, RecursionError):
        raise _refuse("malformed", "报文不是 JSON 对象", raw=body) from None
    missing = {
        "format",
        "id",
        "sender",
        "receiver",
        "kind",
        "created_at",
        "payload",
        "kid",
        "alg",
    } - doc.keys()
    if missing or doc.get("format") != ENVELOPE:
        raise _refuse(
            "malformed",
            f"报文缺少字段或格式不对：{', '.join(sorted(missing)) or doc.get('format')}",
            doc=doc,
            raw=body,
        )
    try:
        uuid.UUID(str(doc["id"]))
        created_at = parse_utc(doc["created_at"])
    except (ValueError, TypeError):
        raise _refuse("malformed", "报文标识或时间格式不对", doc=doc, raw=body) from None
    if not all(isinstance(doc[name], str) for name in ("sender", "receiver", "kind", "kid", "alg")):
        raise _refuse("malformed", "报文的节点、类型或密钥字段应为文本", doc=doc, raw=body)
    try:
        canonical = canonical_json(doc).decode()
    except (ValueError, TypeError, RecursionError):
        raise _refuse("malformed", "报文不是规范 JSON", doc=doc, raw=body) from None
    if canonical != body:
        raise _refuse("malformed", "报文不是规范 JSON", doc=doc, raw=body)
    if doc["receiver"] != settings.NODE_ID:
        raise _refuse(
            "wrong_receiver",
            f"报文发给“{doc['receiver']}”，本节点是“{settings.NODE_ID}”",
            doc=doc,
            raw=body,
        )
    now = timezone.now()
    try:
        directory = directory_mod.current(at=now)
    except DirectoryUnavailable as exc:
        raise _refuse("directory_unavailable", str(exc), status=503, doc=doc, raw=body) from exc
    node = directory.node(doc["sender"])
    if node is None:
        raise _refuse(
            "unknown_sender",
            f"节点目录中没有发送节点“{doc['sender']}”",
            status=403,
            doc=doc,
            raw=body,
        )
    if not node.valid_at(now):
        raise _refuse(
            "sender_expired", f"发送节点“{node.id}”不在目录有效期内", status=403, doc=doc, raw=body
        )
    key = node.key(doc["kid"])
    if key is None or key.algorithm != doc["alg"]:
        raise _refuse(
            "unknown_key",
            f"目录中没有节点“{node.id}”的密钥 {str(doc['kid'])[:16]}",
            status=403,
            doc=doc,
            raw=body,
        )
    try:
        good = verify(
            key.algorithm,
            key.public_pem,
            body.encode(),
            base64.b64decode(signature_b64, validate=True),
        )
    except (ValueError, SigningError):
        good = False
    if not good:
        raise _refuse(
            "signature_invalid", "报文签名与发送节点的公钥不符", status=403, doc=doc, raw=body
        )
    # From here on the sender is known: its refusals are signed, and final (decision 83).
    if created_at > now + dt.timedelta(seconds=settings.FEDERATION_CLOCK_SKEW_SECONDS):
        raise _refuse("clock_skew", "报文时间晚于本节点当前时间", doc=doc, raw=body, verified=True)
    if created_at < now - dt.timedelta(seconds=settings.FEDERATION_MAX_ENVELOPE_AGE_SECONDS):
        raise _refuse(
            "envelope_too_old",
            f"报文生成于 {doc['created_at']}，超过本节点接受的最长时限",
            doc=doc,
            raw=body,
            verified=True,
        )
    handler = registry.handler_for(doc["kind"])
    if handler is None or handler.query != query:
        raise _refuse(
            "unknown_kind",
            f"本节点不处理“{doc['kind']}”类报文",
            doc=doc,
            raw=body,
            verified=True,
        )
    try:
        payload = handler.schema.model_validate(doc["payload"])
    except ValidationError as exc:
        problems = [
            {"field": ".".join(map(str, e["loc"])), "reason": e["msg"]} for e in exc.errors()
        ]
        raise _refuse(
            "payload_invalid",
            "报文内容未通过校验",
            doc=doc,
            raw=body,
            problems=problems,
            verified=True,
        ) from exc
    return doc, handler, payload


def _message(doc: dict[str, Any]) -> registry.Message:
    return registry.Message(
        id=uuid.UUID(doc["id"]),
        sender=doc["sender"],
        receiver=doc["receiver"],
        kind=doc["kind"],
        created_at=parse_utc(doc["created_at"]),
    )


def _stored_receipt(envelope_id: str, body: str) -> dict[str, str] | None:
    stored = LogEntry.objects.filter(
        entry_type=LogEntry.Type.ENVELOPE, direction=LogEntry.Direction.IN, envelope_id=envelope_id
    ).first()
    if stored is None:
        return None
    if stored.body != body:
        raise _refuse(
            "id_reused",
            "该报文标识已用于另一份报文",
            doc=json.loads(body),
            raw=body,
            verified=True,
        )
    receipt = LogEntry.objects.get(
        entry_type=LogEntry.Type.RECEIPT, direction=LogEntry.Direction.OUT, envelope_id=envelope_id
    )
    return {"receipt": receipt.body, "signature": receipt.signature}


def receive(body: str, signature: str) -> dict[str, str]:
    """Take one envelope: verify, store and handle it in one transaction, and answer with a
    signed receipt. Raises Refused (nothing stored but the refusal record)."""
    doc, handler, payload = _verified(body, signature, query=False)
    again = _stored_receipt(doc["id"], body)
    if again is not None:
        return again
    try:
        with transaction.atomic():
            _append(
                entry_type=LogEntry.Type.ENVELOPE,
                direction=LogEntry.Direction.IN,
                doc=doc,
                body=body,
                signature=signature,
            )
            handler.handle(_message(doc), payload)
            receipt_body, receipt_signature = _signed(
                {
                    "format": RECEIPT,
                    "envelope": doc["id"],
                    "digest": _digest(body),
                    "sender": settings.NODE_ID,
                    "receiver": doc["sender"],
                    "kind": doc["kind"],
                    "received_at": utc_text(timezone.now()),
                }
            )
            _append(
                entry_type=LogEntry.Type.RECEIPT,
                direction=LogEntry.Direction.OUT,
                doc=json.loads(receipt_body),
                body=receipt_body,
                signature=receipt_signature,
            )
    except IntegrityError:
        # The same envelope was stored by a concurrent delivery a moment ago.
        again = _stored_receipt(doc["id"], body)
        if again is None:
            raise
        return again
    except RuleViolation as exc:
        raise _refuse(exc.code, exc.message, doc=doc, raw=body, verified=True) from exc
    return {"receipt": receipt_body, "signature": receipt_signature}


def _take(
    doc: dict[str, Any],
    handler: registry.Handler,
    payload: Any,
    body: str,
    signature: str,
    chain: _Chain,
) -> dict[str, str]:
    """Store and handle one verified envelope of a batch and sign its receipt, in a
    savepoint of the batch's transaction; the same envelope again gets its stored receipt.
    A business rule of the handler refuses it (signed, final) and undoes only it."""
    again = _stored_receipt(doc["id"], body)
    if again is not None:
        return again
    mark = chain.mark()
    try:
        with transaction.atomic():
            chain.append(
                entry_type=LogEntry.Type.ENVELOPE,
                direction=LogEntry.Direction.IN,
                doc=doc,
                body=body,
                signature=signature,
            )
            handler.handle(_message(doc), payload)
            receipt_body, receipt_signature = _signed(
                {
                    "format": RECEIPT,
                    "envelope": doc["id"],
                    "digest": _digest(body),
                    "sender": settings.NODE_ID,
                    "receiver": doc["sender"],
                    "kind": doc["kind"],
                    "received_at": utc_text(timezone.now()),
                }
            )
            chain.append(
                entry_type=LogEntry.Type.RECEIPT,
                direction=LogEntry.Direction.OUT,
                doc=json.loads(receipt_body),
                body=receipt_body,
                signature=receipt_signature,
            )
    except RuleViolation as exc:
        chain.reset(mark)
        raise _refuse(exc.code, exc.message, doc=doc, raw=body, verified=True) from exc
    except BaseException:
        chain.reset(mark)
        raise
    return {"receipt": receipt_body, "signature": receipt_signature}


NOT_ATTEMPTED = {
    "status": 409,
    "code": "not_attempted",
    "detail": "同批中前一份报文未被接收，本份未处理，请按顺序重投",
}


def receive_batch(items: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Take several envelopes in their order, in one transaction under one hold of the
    log's head (decision 160): each answer is what `receive` would answer for it — a
    signed receipt, or a refusal — with its HTTP status. An envelope the sender will send
    again (an unsigned or retryable refusal) stops the batch: the rest are not attempted,
    so that no envelope overtakes an earlier one."""
    answers: list[dict[str, Any]] = []
    with transaction.atomic():
        chain = _Chain()
        stopped = False
        for body, signature in items:
            if stopped:
                answers.append(dict(NOT_ATTEMPTED))
                continue
            try:
                doc, handler, payload = _verified(body, signature, query=False)
                answers.append(
                    {"status": 200, **_take(doc, handler, payload, body, signature, chain)}
                )
            except Refused as refused:
                answers.append({"status": refused.status, **refusal_answer(refused, body)})
                stopped = not refused.verified or refused.code in RETRYABLE
        chain.close()
    return answers


def refusal_answer(refused: Refused, body: str) -> dict[str, Any]:
    """The answer to a refused envelope (decision 83). Signed, and so final for the
    sender, only when the envelope's signature was checked first; bound to the digest of
    the refused body, so that it cannot be replayed against another envelope with the
    same id. Anything unverifiable gets an unsigned answer, which senders retry: a party
    on the path cannot turn a delivery into a final failure."""
    unsigned = {"code": refused.code, "detail": refused.reason, "problems": refused.problems}
    if not refused.verified:
        return unsigned
    claimed = json.loads(body)  # verified: a JSON object
    try:
        refusal_body, signature = _signed(
            {
                "format": REFUSAL,
                "envelope": str(claimed["id"]),
                "digest": _digest(body),
                "sender": settings.NODE_ID,
                "receiver": str(claimed["sender"]),
                "code": refused.code,
                "reason": refused.reason,
                "at": utc_text(timezone.now()),
            }
        )
    except RuleViolation:  # no node key yet: an unsigned refusal, which senders retry
        return unsigned
    return {
        "refusal": refusal_body,
        "signature": signature,
        "code": refused.code,
        "detail": refused.reason,
        "problems": refused.problems,
    }


# --- questions answered at once --------------------------------------------------------


def ask(receiver: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Ask another node and wait for its signed answer; both are logged. Raises
    FederationUnavailable when the node cannot be reached, RuleViolation when it refuses."""
    doc = _envelope_doc(receiver, kind, payload)
    body, signature = _signed(doc)
    node = directory_mod.current().node(receiver)
    assert node is not None  # _envelope_doc checked it
    with transaction.atomic():
        _append(
            entry_type=LogEntry.Type.ENVELOPE,
            direction=LogEntry.Direction.OUT,
            doc=json.loads(body),
            body=body,
            signature=signature,
        )
    status, answer = _post(
        f"{node.base_url}/federation/v1/queries", {"envelope": body, "signature": signature}
    )
    if status == 200 and "answer" in answer:
        reply = _check_from(receiver, answer["answer"], answer["signature"], ENVELOPE)
        if (
            reply.get("kind") != kind + ANSWER_SUFFIX
            or reply.get("payload", {}).get("in_reply_to") != doc["id"]
        ):
            raise FederationUnavailable(f"{receiver} 的答复与所问不符")
        with transaction.atomic():
            _append(
                entry_type=LogEntry.Type.ENVELOPE,
                direction=LogEntry.Direction.IN,
                doc=reply,
                body=answer["answer"],
                signature=answer["signature"],
            )
        return reply["payload"]["answer"]  # type: ignore[no-any-return]
    if "refusal" in answer:
        refusal = _check_from(receiver, answer["refusal"], answer["signature"], REFUSAL)
        if refusal.get("envelope") != doc["id"] or refusal.get("digest") != _digest(body):
            raise FederationUnavailable(f"{node.name}的拒绝与所问不符")
        raise RuleViolation(
            refusal.get("code", "refused"), f"{node.name}拒绝了查询：{refusal.get('reason', '')}"
        )
    raise FederationUnavailable(f"{node.name}没有答复（HTTP {status}）")


def answer(body: str, signature: str) -> dict[str, str]:
    """Answer a question from another node with a signed envelope; raises Refused."""
    doc, handler, payload = _verified(body, signature, query=True)
    try:
        result = handler.handle(_message(doc), payload)
    except RuleViolation as exc:
        raise _refuse(exc.code, exc.message, doc=doc, raw=body, verified=True) from exc
    reply = {
        "format": ENVELOPE,
        "id": str(uuid.uuid4()),
        "sender": settings.NODE_ID,
        "receiver": doc["sender"],
        "kind": doc["kind"] + ANSWER_SUFFIX,
        "created_at": utc_text(timezone.now()),
        "payload": {"in_reply_to": doc["id"], "answer": result},
    }
    reply_body, reply_signature = _signed(reply)
    with transaction.atomic():
        _append(
            entry_type=LogEntry.Type.ENVELOPE,
            direction=LogEntry.Direction.IN,
            doc=doc,
            body=body,
            signature=signature,
        )
        _append(
            entry_type=LogEntry.Type.ENVELOPE,
            direction=LogEntry.Direction.OUT,
            doc=json.loads(reply_body),
            body=reply_body,
            signature=reply_signature,
        )
    return {"answer": reply_body, "signature": reply_signature}


# --- evidence -------------------------------------------------------------------------


@dataclass
class LogCheck:
    entries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_log() -> LogCheck:
    """Check the whole log again from storage: the chain of hashes, and every entry's
    signature against the key it names (this node's keys, or any directory's)."""
    known = {kid: key for kid, (_, key) in directory_mod.all_keys().items()}
    owners = {kid: node for kid, (node, _) in directory_mod.all_keys().items()}
    own = {k.fingerprint: k for k in NodeKey.objects.all()}
    check = LogCheck()
    previous = GENESIS
    # Envelopes sent and not linked yet are linked first: the check covers them too.
    if LogEntry.objects.filter(position__isnull=True).exists():
        seal_pending()
    # The head first, then the entries up to it: one appended meanwhile is not a problem.
    head = LogHead.objects.filter(pk=1).first()
    last = (
        LogEntry.objects.filter(entry_hash=head.last_hash)
        .values_list("position", flat=True)
        .first()
        if head is not None
        else None
    )
    entries = LogEntry.objects.filter(position__isnull=False).order_by("position")
    if last is not None:
        entries = entries.filter(position__lte=last)
    for entry in entries.iterator(chunk_size=500):
        check.entries += 1
        label = f"#{entry.pk} {entry.get_entry_type_display()} {entry.envelope_id}"
        if entry.previous_hash != previous:
            check.problems.append(f"{label}：与前一条的链接断开（有记录被删除或改动）")
        expected = _entry_hash(
            entry.previous_hash, entry.entry_type, entry.direction, entry.body, entry.signature
        )
        if entry.entry_hash != expected:
            check.problems.append(f"{label}：摘要与内容不符（记录被改动）")
        previous = entry.entry_hash
        try:
            doc = json.loads(entry.body)
        except ValueError:
            check.problems.append(f"{label}：内容不是 JSON")
            continue
        signer = doc.get("sender")
        if entry.key_id in own and signer == settings.NODE_ID:
            algorithm, public_pem = (
                Algorithm(own[entry.key_id].algorithm),
                own[entry.key_id].public_pem.encode(),
            )
        elif entry.key_id in known and owners[entry.key_id] == signer:
            algorithm, public_pem = known[entry.key_id].algorithm, known[entry.key_id].public_pem
        else:
            check.problems.append(f"{label}：找不到签名密钥 {entry.key_id[:16]}")
            continue
        try:
            good = verify(
                algorithm, public_pem, entry.body.encode(), base64.b64decode(entry.signature)
            )
        except (ValueError, SigningError):
            good = False
        if not good:
            check.problems.append(f"{label}：签名核验失败")
    if head is not None and head.last_hash != previous:
        check.problems.append("链头与最后一条记录不符（末尾的记录被删除）")
    return check
