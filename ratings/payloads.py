"""The input of the rectification actions that take more than a note, named by the
workflow definition and checked by the engine (as in hotline/payloads.py)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from ratings.models import CallbackOutcome


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CallbackIn(_Payload):
    """回访: the named person who called the citizen back, and what the citizen said."""

    caller_name: str = Field(
        min_length=1,
        max_length=64,
        title="回访人",
        json_schema_extra={
            "widget": "text",
            "error_code": "callback_caller_required",
            "error": "请填写回访人姓名",
        },
    )
    outcome: CallbackOutcome = Field(
        title="回访结果",
        json_schema_extra={
            "widget": "callback_outcome",
            "error_code": "callback_outcome_invalid",
            "error": "请选择回访结果（满意、基本满意、不满意、联系不上）",
        },
    )


class DeadlineFixIn(_Payload):
    """限期整改: the date the fix will be done by, entered in the ledger (台账)."""

    due_date: dt.date = Field(
        title="整改期限",
        json_schema_extra={
            "widget": "date",
            "error_code": "fix_due_date_invalid",
            "error": "请填写整改期限（YYYY-MM-DD）",
        },
    )


PAYLOADS: dict[str, type[BaseModel]] = {"callback": CallbackIn, "deadline_fix": DeadlineFixIn}
