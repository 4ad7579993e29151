"""Personal data (个人信息): encryption at rest, keyed lookup hashes, masking, log scrubbing.

DESIGN.md §4.4: personal data is minimised, encrypted where sensitive, masked on screens
and in logs. Values are encrypted with AES-256-GCM under a key derived from
`settings.PERSONAL_DATA_KEY`; a separate derived key makes HMAC-SHA256 lookup hashes, so
an ID number can be found without being stored in clear. The ciphertext names its key
version (`v1:`), so keys can be rotated by re-encrypting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models

_VERSION = "v1"


@lru_cache(maxsize=4)
def _derive(purpose: bytes, secret: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"tongban-personal-data", info=purpose
    ).derive(secret.encode())


def _keys() -> tuple[bytes, bytes]:
    secret = settings.PERSONAL_DATA_KEY
    return _derive(b"encrypt", secret), _derive(b"lookup", secret)


def encrypt(value: str, *, secret: str | None = None, purpose: bytes = b"encrypt") -> str:
    """Encrypt a string; the result is ASCII, safe for a text column.

    `secret` and `purpose` select another key than the personal-data one (the seal key
    store uses its own)."""
    key = _derive(purpose, secret) if secret is not None else _keys()[0]
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, value.encode(), _VERSION.encode())
    return f"{_VERSION}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(token: str, *, secret: str | None = None, purpose: bytes = b"encrypt") -> str:
    version, _, payload = token.partition(":")
    if version != _VERSION:
        raise ValueError("unknown personal-data key version")
    key = _derive(purpose, secret) if secret is not None else _keys()[0]
    raw = base64.b64decode(payload)
    return AESGCM(key).decrypt(raw[:12], raw[12:], version.encode()).decode()


def lookup_hash(value: str) -> str:
    """Keyed hash for equality look-ups (an ID number → one stable, unguessable string)."""
    _, key = _keys()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def mask_id_number(value: str) -> str:
    """`210102199001011234` → `2101**********1234`."""
    if len(value) < 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_mobile(value: str) -> str:
    """`13800138000` → `138****8000`."""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str) -> str:
    """`张三丰` → `张**`."""
    return value[:1] + "*" * (len(value) - 1) if value else value


def mask_address(value: str) -> str:
    """Keep the first six characters (province and city), hide the rest."""
    return value[:6] + "****" if len(value) > 6 else value


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; Python code sees the clear value.

    It cannot be filtered on (ciphertexts differ each time): keep a `lookup_hash` column
    beside it when look-ups are needed."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return decrypt(value) if value else value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return encrypt(value) if value else value


class EncryptedJSONField(models.TextField):  # type: ignore[type-arg]
    """A JSON document stored encrypted (e.g. an application form with ID numbers)."""

    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        return json.loads(decrypt(value)) if value else None

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return encrypt(json.dumps(value, ensure_ascii=False, sort_keys=True))


# Log scrubbing -----------------------------------------------------------------------------

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def scrub(text: str) -> str:
    """Mask anything in free text that looks like an ID number or a mobile number."""
    text = _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text)
    return _MOBILE.sub(lambda m: mask_mobile(m.group(0)), text)


class ScrubPersonalDataFilter(logging.Filter):
    """Logging filter: ID numbers and mobile numbers never reach a log in clear."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
