"""Shapes of the licences API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field

from core.schemas import RowId


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
    token: str = Field(
        min_length=1,
        max_length=4000,
        description="二维码中的令牌 TB1.…（任一节点签发的均可），或电子证照标识",
    )


class IssuingNodeOut(Schema):
    id: str
    name: str
    label: str = Field(description="按省份称呼的节点，如“吉林省节点”")
    local: bool = Field(description="是否为本节点签发")


class VerifyOut(Schema):
    outcome: str = Field(
        description="valid、unconfirmed（签名有效但状态未能向签发节点核实）、tampered（签名或"
        "颁证机构不符）、malformed（不是可解析的令牌或标识）、revoked、expired 或 unknown_issuer"
    )
    outcome_label: str
    code: str = Field(
        description="原因代码，如 ok、signature_invalid、unknown_seal、status_unavailable"
    )
    reason: str
    signature_ok: bool = Field(description="电子印章签名是否离线核验通过")
    status: str = Field(
        description="签发方答复的状态：valid、revoked、superseded、expired、unknown"
    )
    status_checked: bool = Field(description="状态是否已由签发节点答复")
    revocation_checked: bool
    identifier: str
    node: IssuingNodeOut | None = Field(description="签发证照的节点（印章可识别时）")
    checked_at: dt.datetime
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
    material: RowId = Field(description="材料要求 id")
    identifier: str = Field(description="电子证照标识")
