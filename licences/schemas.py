"""Shapes of the licences API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field


class SealOut(Schema):
    id: int
    organisation: dict[str, str]
    name: str
    algorithm: str
    fingerprint: str
    valid_from: dt.datetime
    valid_until: dt.datetime
    status: str
    public_key_url: str


class VerifyIn(Schema):
    token: str = Field(min_length=1, max_length=4000, description="二维码中的令牌 TB1.…")


class VerifyOut(Schema):
    outcome: str = Field(description="valid、tampered、revoked、expired 或 unknown_issuer")
    outcome_label: str
    reason: str
    revocation_checked: bool
    face: dict[str, Any]


class LicenceRowOut(Schema):
    identifier: str
    type: dict[str, str]
    number: str
    holder_name: str
    holder_code: str
    issuer: dict[str, str]
    issued_at: dt.datetime
    valid_from: dt.date
    valid_until: dt.date | None
    status: str
    status_label: str


class LicenceOut(LicenceRowOut):
    version: int
    face: dict[str, Any]
    seal: dict[str, Any]
    signature: str
    token: str
    verify_url: str
    case_number: str
    revoked_at: dt.datetime | None
    revocation_reason: str
    events: list[dict[str, Any]]


class RevokeIn(Schema):
    reason: str = Field(min_length=2, max_length=200)


class UseLicenceIn(Schema):
    material: int = Field(description="材料要求 id")
    identifier: str = Field(description="电子证照标识")
