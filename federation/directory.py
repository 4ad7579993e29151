"""The directory (节点目录): the signed list of the nodes of the federation.

Format `tongban-directory/1`, canonical JSON (core.signing.canonical_json)::

    {"format": "tongban-directory/1", "federation": "东北三省一区", "serial": 3,
     "issued_at": "2026-11-29T08:00:00Z", "valid_until": "2026-12-29T08:00:00Z",
     "nodes": [{"id": "jilin", "name": "…", "code": "JL", "division": "220000",
                "base_url": "http://127.0.0.1:8001",
                "valid_from": "…", "valid_until": "…",
                "keys": [{"kid": "<sha256 of PEM>", "alg": "SM2-SM3", "public_key": "<PEM>"}],
                "seals": [{"kid": …, "alg": …, "public_key": …, "organisation": "<USCC>",
                           "name": "…", "status": "active" | "revoked", "revoked_at": …}]}]}

It travels as `{"directory": "<that text>", "signature": "<base64>"}` and is signed by the
directory authority, whose public key every member is configured to trust
(`settings.FEDERATION_ANCHOR`). Joining needs both: the authority lists the node, and the
node trusts the authority. A node keeps every directory it accepted (`DirectoryCopy`),
refuses an older serial than the one it has, and works from its newest copy while the
source (`settings.FEDERATION_DIRECTORY`, a file or an http(s) URL) cannot be reached.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import urllib.request
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import RuleViolation
from core.signing import Algorithm, SigningError, canonical_json, fingerprint, verify
from federation.models import DirectoryCopy

FORMAT = "tongban-directory/1"
ENTRY_FIELDS = frozenset(
    {"id", "name", "code", "division", "base_url", "valid_from", "valid_until", "keys", "seals"}
)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublicKey:
    kid: str
    algorithm: Algorithm
    public_pem: bytes
    organisation: str = ""
    name: str = ""
    # Seals only: "revoked" for a seal its organisation revoked (kept in the directory so
    # that its licences read as revoked elsewhere, not as unknown), with the time.
    status: str = "active"
    revoked_at: str = ""


@dataclass(frozen=True)
class Node:
    id: str
    name: str
    code: str
    division: str
    base_url: str
    valid_from: dt.datetime
    valid_until: dt.datetime
    keys: tuple[PublicKey, ...]
    seals: tuple[PublicKey, ...]
    # Further parts of the entry that higher apps published (registry.register_entry_part),
    # by name, as signed: e.g. `oidc`, the node's sign-in issuer and its JWKS.
    parts: dict[str, Any] = field(default_factory=dict)

    def valid_at(self, moment: dt.datetime) -> bool:
        return self.valid_from <= moment <= self.valid_until

    def key(self, kid: str) -> PublicKey | None:
        return next((k for k in self.keys if k.kid == kid), None)


@dataclass(frozen=True)
class Directory:
    serial: int
    federation: str
    issued_at: dt.datetime
    valid_until: dt.datetime
    nodes: dict[str, Node]

    def node(self, node_id: str) -> Node | None:
        return self.nodes.get(node_id)

    def seal(self, kid: str) -> tuple[Node, PublicKey] | None:
        for node in self.nodes.values():
            for seal in node.seals:
                if seal.kid == kid:
                    return node, seal
        return None


class DirectoryUnavailable(Exception):
    """No valid directory is at hand: the node cannot talk to the federation."""


def utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def is_federated() -> bool:
    return bool(settings.FEDERATION_DIRECTORY and settings.FEDERATION_ANCHOR)


# --- reading --------------------------------------------------------------------------


def _public_key(entry: dict[str, Any]) -> PublicKey:
    pem = entry["public_key"].encode()
    if fingerprint(pem) != entry["kid"]:
        raise ValueError(f"密钥 {entry['kid'][:16]} 的指纹与公钥不符")
    return PublicKey(
        kid=entry["kid"],
        algorithm=Algorithm(entry["alg"]),
        public_pem=pem,
        organisation=entry.get("organisation", ""),
        name=entry.get("name", ""),
        status=entry.get("status", "active"),
        revoked_at=entry.get("revoked_at", ""),
    )


def parse(body: str) -> Directory:
    """The directory in `body`; ValueError naming what is wrong with it."""
    try:
        doc = json.loads(body)
        if doc.get("format") != FORMAT:
            raise ValueError(f"不是 {FORMAT} 格式的目录")
        nodes = {}
        for entry in doc["nodes"]:
            node = Node(
                id=entry["id"],
                name=entry["name"],
                code=entry["code"],
                division=entry["division"],
                base_url=entry["base_url"].rstrip("/"),
                valid_from=parse_utc(entry["valid_from"]),
                valid_until=parse_utc(entry["valid_until"]),
                keys=tuple(_public_key(k) for k in entry["keys"]),
                seals=tuple(_public_key(k) for k in entry.get("seals", [])),
                parts={k: v for k, v in entry.items() if k not in ENTRY_FIELDS},
            )
            if node.id in nodes:
                raise ValueError(f"节点 {node.id} 重复出现")
            nodes[node.id] = node
        return Directory(
            serial=int(doc["serial"]),
            federation=doc["federation"],
            issued_at=parse_utc(doc["issued_at"]),
            valid_until=parse_utc(doc["valid_until"]),
            nodes=nodes,
        )
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise ValueError(f"目录内容不完整或格式错误：{exc}") from exc


@lru_cache(maxsize=1)
def _anchor(path: str) -> tuple[Algorithm, bytes]:
    text = Path(path).read_text()
    algorithm = Algorithm.SM2
    for line in text.splitlines():
        if line.startswith("# alg:"):
            algorithm = Algorithm(line.partition(":")[2].strip())
    marker = "-----BEGIN PUBLIC KEY-----"
    return algorithm, text[text.index(marker) :].encode()


def anchor() -> tuple[Algorithm, bytes]:
    """The trusted directory authority key: a PEM file, its first line `# alg: <name>`."""
    return _anchor(settings.FEDERATION_ANCHOR)


def check_signed(body: str, signature_b64: str) -> Directory:
    """Verify a signed directory against the trust anchor and parse it."""
    algorithm, public_pem = anchor()
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        ok = verify(algorithm, public_pem, body.encode(), signature)
    except (ValueError, SigningError) as exc:
        raise ValueError(f"目录签名无法读取：{exc}") from exc
    if not ok:
        raise ValueError("目录签名与受信任的目录签发密钥不符")
    if canonical_json(json.loads(body)).decode() != body:
        raise ValueError("目录不是规范 JSON")
    return parse(body)


@lru_cache(maxsize=8)
def _parsed(serial: int, body: str) -> Directory:
    return parse(body)


def current(*, at: dt.datetime | None = None) -> Directory:
    """The directory in force: the newest accepted copy, if still valid."""
    copy = DirectoryCopy.objects.order_by("-serial").only("serial", "body").first()
    if copy is None:
        raise DirectoryUnavailable("本节点还没有节点目录")
    directory = _parsed(copy.serial, copy.body)
    if (at or timezone.now()) > directory.valid_until:
        raise DirectoryUnavailable(
            f"节点目录 #{directory.serial} 已于 {utc_text(directory.valid_until)} 过期"
        )
    return directory


def node_names() -> dict[str, str]:
    """Node id → name, from the directory in force (empty outside a federation); for pages
    that name the node an organisation, event or licence belongs to. One query."""
    copy = DirectoryCopy.objects.order_by("-serial").only("serial", "body").first()
    if copy is None:
        return {}
    return {node.id: node.name for node in _parsed(copy.serial, copy.body).nodes.values()}


def all_keys() -> dict[str, tuple[str, PublicKey]]:
    """Every node key of every directory ever accepted: kid → (node id, key). The log is
    re-verified with these, so an envelope signed by a since-rotated key still checks."""
    keys: dict[str, tuple[str, PublicKey]] = {}
    for copy in DirectoryCopy.objects.order_by("serial").only("serial", "body"):
        for node in _parsed(copy.serial, copy.body).nodes.values():
            for key in node.keys:
                keys[key.kid] = (node.id, key)
    return keys


# --- fetching -------------------------------------------------------------------------


def _read_source(source: str) -> dict[str, Any]:
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=settings.FEDERATION_TIMEOUT) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]
    return json.loads(Path(source).read_text())  # type: ignore[no-any-return]


def accept(body: str, signature: str, *, source: str) -> DirectoryCopy:
    """Store a signed directory if it is genuine, valid and not older than the one held."""
    try:
        directory = check_signed(body, signature)
    except ValueError as exc:
        raise RuleViolation("directory_invalid", f"节点目录无效：{exc}") from exc
    if timezone.now() > directory.valid_until:
        raise RuleViolation("directory_expired", f"节点目录 #{directory.serial} 已过期")
    newest = DirectoryCopy.objects.order_by("-serial").first()
    if newest is not None and directory.serial < newest.serial:
        raise RuleViolation(
            "directory_rollback",
            f"节点目录 #{directory.serial} 比已有的 #{newest.serial} 旧，不予采用",
        )
    if newest is not None and directory.serial == newest.serial:
        if newest.body != body:
            raise RuleViolation(
                "directory_conflict", f"节点目录 #{directory.serial} 与已有的同号目录内容不同"
            )
        return newest
    try:
        with transaction.atomic():
            return DirectoryCopy.objects.create(
                serial=directory.serial,
                issued_at=directory.issued_at,
                valid_until=directory.valid_until,
                body=body,
                signature=signature,
                signer=fingerprint(anchor()[1]),
                source=source[:500],
            )
    except IntegrityError:  # another process stored it first
        return DirectoryCopy.objects.get(serial=directory.serial)


def refresh() -> DirectoryCopy | None:
    """Fetch the directory from its source. When the source cannot be reached the cached
    copy stays in force (None is returned and the failure logged)."""
    source = settings.FEDERATION_DIRECTORY
    try:
        signed = _read_source(source)
    except (OSError, ValueError) as exc:
        log.warning("directory source %s unreachable, keeping the cached copy: %s", source, exc)
        return None
    if not isinstance(signed, dict) or not {"directory", "signature"} <= signed.keys():
        raise RuleViolation("directory_invalid", "节点目录文件应含 directory 与 signature")
    return accept(signed["directory"], signed["signature"], source=source)


def served() -> dict[str, str] | None:
    """The signed directory in force, as this node serves it to others."""
    copy = DirectoryCopy.objects.order_by("-serial").first()
    return None if copy is None else {"directory": copy.body, "signature": copy.signature}
