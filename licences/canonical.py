"""The bytes a licence signature covers, and the compact token in its QR code.

**Canonical form** (`tongban-licence/1`): a JSON object with the fields below, keys sorted,
no insignificant white space (`,` and `:` separators), UTF-8 without escapes, dates as
`YYYY-MM-DD`, the issue time as UTC `YYYY-MM-DDTHH:MM:SSZ`, `valid_until` null for 长期有效.
docs/licences.md shows how to check a signature over these bytes with `openssl` alone.

**Token** (`TB1.<payload>.<signature>`, both base64url without padding): the payload is the
canonical JSON of the minimal face shown by a verifier (masked holder, type, issuer, dates,
the seal's key fingerprint `kid` and algorithm `alg`), signed by the same seal.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from core.signing import canonical_json
from licences.models import Licence

FORMAT = "tongban-licence/1"
TOKEN_PREFIX = "TB1"


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def licence_document(licence: Licence) -> dict[str, Any]:
    """Everything the licence signature covers."""
    return {
        "format": FORMAT,
        "identifier": licence.identifier,
        "number": licence.number,
        "version": licence.version,
        "type": {"code": licence.licence_type.code, "name": licence.licence_type.name},
        "holder": {
            "name": licence.holder_name,
            "code_type": licence.holder_code_type,
            "code": licence.holder_code,
        },
        "face": licence.face_data,
        "issuer": {"code": licence.issuer.uscc, "name": licence.issuer.name},
        "issued_at": _utc(licence.issued_at),
        "valid_from": licence.valid_from.isoformat(),
        "valid_until": licence.valid_until.isoformat() if licence.valid_until else None,
        "seal": licence.seal.fingerprint,
        "alg": licence.seal.algorithm,
    }


def canonical_bytes(licence: Licence) -> bytes:
    return canonical_json(licence_document(licence))


def token_payload(licence: Licence) -> dict[str, Any]:
    return {
        "v": 1,
        "id": licence.identifier,
        "typ": licence.licence_type.name,
        "hn": _mask_holder_name(licence.holder_name, licence.holder_code_type),
        "hc": licence.holder_code_masked,
        "iss": licence.issuer.uscc,
        "isn": licence.issuer.name,
        "vf": licence.valid_from.isoformat(),
        "vu": licence.valid_until.isoformat() if licence.valid_until else None,
        "kid": licence.seal.fingerprint,
        "alg": licence.seal.algorithm,
    }


def _mask_holder_name(name: str, code_type: str) -> str:
    if code_type == Licence.HolderCodeType.USCC:
        return name
    return name[:1] + "*" * (len(name) - 1)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def build_token(payload_bytes: bytes, signature: bytes) -> str:
    return f"{TOKEN_PREFIX}.{b64url(payload_bytes)}.{b64url(signature)}"


def split_token(token: str) -> tuple[bytes, dict[str, Any], bytes]:
    """(payload bytes, payload, signature); ValueError if the token is not well formed."""
    prefix, payload_text, signature_text = (token or "").strip().split(".")
    if prefix != TOKEN_PREFIX:
        raise ValueError("unknown token format")
    payload_bytes = unb64url(payload_text)
    payload = json.loads(payload_bytes)
    if not isinstance(payload, dict):
        raise ValueError("payload is not an object")
    return payload_bytes, payload, unb64url(signature_text)
