"""Test support for the federation: a directory authority, foreign nodes holding their own
keys, and signed directories — built with the same primitives a real deployment uses."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils import timezone

from core.signing import Algorithm, KeyPair, canonical_json, fingerprint, generate_key, sign
from federation.directory import FORMAT, utc_text
from federation.services import ENVELOPE


def key_entry(pair: KeyPair) -> dict[str, str]:
    return {
        "kid": fingerprint(pair.public_pem),
        "alg": pair.algorithm.value,
        "public_key": pair.public_pem.decode(),
    }


def node_entry(
    node_id: str,
    keys: list[dict[str, str]],
    *,
    base_url: str = "http://127.0.0.1:9",
    valid_until: dt.datetime | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    now = timezone.now()
    return {
        "id": node_id,
        "name": f"{node_id} 节点",
        "code": code or node_id[:2].upper(),
        "division": "220000",
        "base_url": base_url,
        "valid_from": utc_text(now - dt.timedelta(days=1)),
        "valid_until": utc_text(valid_until or now + dt.timedelta(days=30)),
        "keys": keys,
        "seals": [],
    }


@dataclass
class Authority:
    pair: KeyPair = field(default_factory=lambda: generate_key(Algorithm.ED25519))

    def write_anchor(self, path: Path) -> Path:
        path.write_text(f"# alg: {self.pair.algorithm.value}\n{self.pair.public_pem.decode()}")
        return path

    def signed(
        self, nodes: list[dict[str, Any]], *, serial: int = 1, valid_days: float = 30
    ) -> dict[str, str]:
        now = timezone.now()
        body = canonical_json(
            {
                "format": FORMAT,
                "federation": "东北三省一区",
                "serial": serial,
                "issued_at": utc_text(now),
                "valid_until": utc_text(now + dt.timedelta(days=valid_days)),
                "nodes": nodes,
            }
        ).decode()
        signature = sign(self.pair.algorithm, self.pair.private_pem, body.encode())
        return {"directory": body, "signature": base64.b64encode(signature).decode()}

    def write(self, path: Path, nodes: list[dict[str, Any]], **kwargs: Any) -> Path:
        path.write_text(json.dumps(self.signed(nodes, **kwargs), ensure_ascii=False))
        return path


@dataclass
class ForeignNode:
    """A node whose private key the test holds: it can sign envelopes to this node."""

    id: str
    pair: KeyPair = field(default_factory=lambda: generate_key(Algorithm.SM2))

    def entry(self, **kwargs: Any) -> dict[str, Any]:
        return node_entry(self.id, [key_entry(self.pair)], **kwargs)

    def signed(self, doc: dict[str, Any]) -> tuple[str, str]:
        """Any document (a receipt, a refusal) signed by this node, as its node would."""
        body = canonical_json(
            {**doc, "kid": fingerprint(self.pair.public_pem), "alg": self.pair.algorithm.value}
        ).decode()
        signature = sign(self.pair.algorithm, self.pair.private_pem, body.encode())
        return body, base64.b64encode(signature).decode()

    def envelope(
        self, kind: str, payload: dict[str, Any], *, receiver: str = "liaoning", **overrides: Any
    ) -> tuple[str, str]:
        doc = {
            "format": ENVELOPE,
            "id": str(uuid.uuid4()),
            "sender": self.id,
            "receiver": receiver,
            "kind": kind,
            "created_at": utc_text(timezone.now()),
            "payload": payload,
            "kid": fingerprint(self.pair.public_pem),
            "alg": self.pair.algorithm.value,
            **overrides,
        }
        body = canonical_json(doc).decode()
        signature = sign(self.pair.algorithm, self.pair.private_pem, body.encode())
        return body, base64.b64encode(signature).decode()
