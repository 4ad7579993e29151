"""Personal data (个人信息): encryption at rest, keyed lookup hashes, masking, log scrubbing.

DESIGN.md §4.4: personal data is minimised, encrypted where sensitive, masked on screens
and in logs. Values are encrypted with AES-256-GCM under a key derived from
`settings.PERSONAL_DATA_KEY`; a separate derived key makes HMAC-SHA256 lookup hashes, so
an ID number can be found without being stored in clear. Every ciphertext names the key
that made it (`k<key id>:`); the old keys in `settings.PERSONAL_DATA_OLD_KEYS` still
decrypt, and `manage.py reencrypt` rewrites everything under the current key, after which
an old key can be removed (docs/deploy.md, key rotation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

# Tokens written before key ids (issue 11): `v1:<base64>`, read with every configured key.
_LEGACY = "v1"
PERSONAL_DATA = "personal_data"
KEY_STORE = "key_store"


class UnknownKeyError(ValueError):
    """A ciphertext names a key that is not configured (removed too early, or another node's)."""


@lru_cache(maxsize=64)
def _derive(purpose: bytes, secret: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"tongban-personal-data", info=purpose
    ).derive(secret.encode())


def _secrets(ring: str) -> list[str]:
    """The secrets of a key ring, the current one first, then the old ones still accepted."""
    if ring == KEY_STORE:
        name, secrets = (
            "TONGBAN_KEY_STORE_KEY",
            [settings.KEY_STORE_KEY, *settings.KEY_STORE_OLD_KEYS],
        )
    elif ring == PERSONAL_DATA:
        name = "TONGBAN_PERSONAL_DATA_KEY"
        secrets = [settings.PERSONAL_DATA_KEY, *settings.PERSONAL_DATA_OLD_KEYS]
    else:
        raise ValueError(f"unknown key ring {ring!r}")
    if not secrets[0]:
        # Never encrypt under an empty key, not even with DEBUG on (core/checks.py warns).
        raise ImproperlyConfigured(f"{name} is not set (docs/deploy.md)")
    return secrets


def key_id(secret: str, purpose: bytes = b"encrypt") -> str:
    """The public name of a key, written in every ciphertext it makes: 8 hex digits derived
    one-way from the secret, so that it names the key without revealing it."""
    return _derive(b"key-id:" + purpose, secret)[:4].hex()


def current_prefix(*, ring: str = PERSONAL_DATA, purpose: bytes = b"encrypt") -> str:
    """What every ciphertext made now starts with (`k1a2b3c4d:`)."""
    return f"k{key_id(_secrets(ring)[0], purpose)}:"


def encrypt(value: str, *, ring: str = PERSONAL_DATA, purpose: bytes = b"encrypt") -> str:
    """Encrypt a string with the ring's current key; the result is ASCII, safe for a text
    column, and starts with the key's id: `k<key id>:<base64 of nonce and ciphertext>`.

    `ring` and `purpose` select another key than the personal-data one (the seal key store
    uses `KEY_STORE`)."""
    prefix = current_prefix(ring=ring, purpose=purpose).rstrip(":")
    key = _derive(purpose, _secrets(ring)[0])
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, value.encode(), prefix.encode())
    return f"{prefix}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(token: str, *, ring: str = PERSONAL_DATA, purpose: bytes = b"encrypt") -> str:
    """Decrypt with the key the token names, current or old; a token from before key ids
    (`v1:`) is tried with each configured key."""
    prefix, _, payload = token.partition(":")
    raw = base64.b64decode(payload)
    secrets = _secrets(ring)
    if prefix == _LEGACY:
        for secret in secrets:
            try:
                return AESGCM(_derive(purpose, secret)).decrypt(raw[:12], raw[12:], b"v1").decode()
            except InvalidTag:
                continue
        raise UnknownKeyError("no configured key opens this v1 ciphertext")
    for secret in secrets:
        if prefix == f"k{key_id(secret, purpose)}":
            key = _derive(purpose, secret)
            return AESGCM(key).decrypt(raw[:12], raw[12:], prefix.encode()).decode()
    raise UnknownKeyError(f"the key {prefix} is not configured")


@dataclass(frozen=True)
class SealedColumn:
    """A plain text column holding `encrypt()` tokens of another ring or purpose than the
    personal-data fields (a key store's private keys): `manage.py reencrypt` rewrites these
    too."""

    model: str  # "app_label.ModelName"
    field: str
    ring: str
    purpose: bytes


_SEALED_COLUMNS: list[SealedColumn] = []


def register_sealed_column(model: str, field: str, *, ring: str, purpose: bytes) -> None:
    """Called from an app's `ready()`: name a column of tokens for `manage.py reencrypt`."""
    column = SealedColumn(model, field, ring, purpose)
    if column not in _SEALED_COLUMNS:
        _SEALED_COLUMNS.append(column)


def sealed_columns() -> list[SealedColumn]:
    """Every column of tokens: the encrypted fields of every model, then the registered
    key-store columns."""
    from django.apps import apps

    columns = [
        SealedColumn(model._meta.label, field.name, PERSONAL_DATA, b"encrypt")
        for model in apps.get_models()
        if not model._meta.proxy and model._meta.managed
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField | EncryptedJSONField)
    ]
    return columns + list(_SEALED_COLUMNS)


def _lookup_key() -> bytes:
    # Lookup hashes have their own key when one is set, so that rotating the encryption key
    # leaves every stored hash (ID numbers, holder codes, phones) valid (decision 72).
    secret = settings.PERSONAL_DATA_LOOKUP_KEY or _secrets(PERSONAL_DATA)[0]
    return _derive(b"lookup", secret)


_SEALED_FILE = b"tongban-sealed:"
_FILES = b"files"


def seal_bytes(data: bytes, *, bound_to: str) -> bytes:
    """Encrypt a file's bytes with the personal-data ring's current key (its own derived
    key for files, AES-256-GCM), bound to `bound_to` (the file's content address): a blob
    moved under another name does not open. The blob starts with
    `tongban-sealed:k<key id>\n`, so that keys rotate as for fields."""
    prefix = current_prefix(purpose=_FILES).rstrip(":")
    nonce = os.urandom(12)
    sealed = AESGCM(_derive(_FILES, _secrets(PERSONAL_DATA)[0])).encrypt(
        nonce, data, bound_to.encode()
    )
    return _SEALED_FILE + prefix.encode() + b"\n" + nonce + sealed


def is_sealed(blob: bytes) -> bool:
    return blob.startswith(_SEALED_FILE)


def sealed_key_is_current(blob: bytes) -> bool:
    """Whether a sealed blob was made with the current key (`reencrypt` skips those)."""
    return blob.startswith(_SEALED_FILE + current_prefix(purpose=_FILES).rstrip(":").encode())


def open_bytes(blob: bytes, *, bound_to: str) -> bytes:
    """The clear bytes of a `seal_bytes` blob, with the key it names, current or old; raises
    `cryptography`'s InvalidTag when the blob was altered or is bound to another name, and
    `UnknownKeyError` when its key is not configured."""
    header, _, raw = blob[len(_SEALED_FILE) :].partition(b"\n")
    for secret in _secrets(PERSONAL_DATA):
        if header.decode("ascii", "replace") == f"k{key_id(secret, _FILES)}":
            key = _derive(_FILES, secret)
            return AESGCM(key).decrypt(raw[:12], raw[12:], bound_to.encode())
    raise UnknownKeyError("the key that sealed this file is not configured")


def lookup_hash(value: str) -> str:
    """Keyed hash for equality look-ups (an ID number → one stable, unguessable string)."""
    return hmac.new(_lookup_key(), value.encode(), hashlib.sha256).hexdigest()


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


# The provincial-level divisions of GB/T 2260 as an address starts with them: the full
# name, or the short one people also write (内蒙古呼和浩特市, 北京朝阳区).
_PROVINCES = [
    "河北省",
    "山西省",
    "辽宁省",
    "吉林省",
    "黑龙江省",
    "江苏省",
    "浙江省",
    "安徽省",
    "福建省",
    "江西省",
    "山东省",
    "河南省",
    "湖北省",
    "湖南省",
    "广东省",
    "海南省",
    "四川省",
    "贵州省",
    "云南省",
    "陕西省",
    "甘肃省",
    "青海省",
    "台湾省",
]
_OTHER_PROVINCIAL = {
    "内蒙古自治区": "内蒙古",
    "广西壮族自治区": "广西",
    "西藏自治区": "西藏",
    "宁夏回族自治区": "宁夏",
    "新疆维吾尔自治区": "新疆",
    "香港特别行政区": "香港",
    "澳门特别行政区": "澳门",
}
_MUNICIPALITIES = {"北京市": "北京", "天津市": "天津", "上海市": "上海", "重庆市": "重庆"}
_SHORT_PROVINCIAL = [name.removesuffix("省") for name in _PROVINCES] + list(
    _OTHER_PROVINCIAL.values()
)


def _either(names: list[str]) -> str:
    # Longest first, so that 黑龙江省 is never read as 黑龙江 and a rest starting with 省.
    return "|".join(sorted(names, key=len, reverse=True))


_HAN = "[\u4e00-\u9fff]"
_ADDRESS_REGION = re.compile(
    f"(?P<municipality>{_either([*_MUNICIPALITIES, *_MUNICIPALITIES.values()])})"
    f"(?P<district>{_HAN}{{1,7}}?(?:区|县))?"
    "|"
    f"(?P<province>{_either([*_PROVINCES, *_OTHER_PROVINCIAL, *_SHORT_PROVINCIAL])})?"
    # A prefecture-level unit, or a county-level city right under the province.
    f"(?P<prefecture>{_HAN}{{1,9}}?(?:自治州|地区|盟|市))?"
    f"(?P<county>{_HAN}{{1,7}}?(?:区|县|旗|市))?"
)


def address_region(value: str) -> str:
    """The province and city an address starts with (for a municipality, the city and its
    district): `黑龙江省哈尔滨市南岗区学府路 52 号` → `黑龙江省哈尔滨市`. That much may be shown
    where the rest of the address is personal data (a parcel's tracking, a masked address).
    Empty when the address does not start with a division it can recognise: a city alone
    counts only when a district or county follows it, so that `新华市场` is not a city."""
    match = _ADDRESS_REGION.match(value.strip())
    if match is None:
        return ""
    if match["municipality"]:
        return match["municipality"] + (match["district"] or "")
    if match["province"]:
        return match["province"] + (match["prefecture"] or "")
    if match["prefecture"] and match["county"]:
        return match["prefecture"]
    return ""


def mask_address(value: str) -> str:
    """Keep the province and city (`address_region`), hide the rest."""
    region = address_region(value)
    return value if region == value.strip() else region + "****"


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
