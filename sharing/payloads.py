"""The input of sharing-request actions (named by `payload` in the workflow definitions)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class ApprovalIn(BaseModel):
    """What the provider (or the data authority ruling a dispute) grants: by default every
    requested field until the requested day; it may grant fewer fields or a shorter term,
    never more. Personal fields leave the provider's node only if it says so."""

    model_config = ConfigDict(extra="forbid")

    fields: list[str] | None = Field(default=None, title="授权字段")
    expires_on: dt.date | None = Field(default=None, title="有效期至")
    personal_data_may_leave: bool = Field(default=False, title="个人信息可出本节点")


PAYLOADS: dict[str, type[BaseModel]] = {"approval": ApprovalIn}
