"""The input of the case actions that take more than a note: one pydantic schema each,
named by the workflow definitions (`"payload": "supplement_request"`), checked by the
engine, and read alike by the JSON API and the console's action forms.

A field says how pages ask for it (`widget`: the item's materials, a date, one of the
item's special procedures, rows of joint steps) and, where a refusal has a stable code of
its own, that code and its Chinese reason (`error_code`, `error`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from core.schemas import RowId


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SupplementRequest(_Payload):
    """一次性告知补正: every material to supplement, at once, and by when."""

    materials: list[RowId] = Field(
        default_factory=list,
        title="需补正的材料",
        description="需补正的材料 id（该事项版本的申请材料）",
        json_schema_extra={
            "widget": "item_materials",
            "help": "请一次性列出需要补正的全部材料。",
            "error_code": "material_not_of_item",
            "error": "所列材料不全是该事项的申请材料",
        },
    )
    due_date: dt.date | None = Field(
        default=None,
        title="补正期限",
        description="补正期限（YYYY-MM-DD）",
        json_schema_extra={
            "widget": "date",
            "window": "supplement_due",
            "error_code": "supplement_due_invalid",
            "error": "补正期限应为 YYYY-MM-DD",
        },
    )


class SpecialProcedure(_Payload):
    """特别程序 (检测、鉴定、专家评审): which of the item's procedures starts."""

    procedure: str = Field(
        default="",
        max_length=100,
        title="特别程序",
        description="特别程序名称（该事项版本的特别程序之一）",
        json_schema_extra={
            "widget": "special_procedure",
            "help": "特别程序期间不计入办理时限。",
        },
    )


class StepAssignment(_Payload):
    """One step; its values are checked together with the others by the effect that
    creates the steps, so every wrong row is reported at once."""

    order: int = Field(description="顺序（1—20）；相同顺序的环节并行办理")
    name: str = Field(max_length=200, description="环节名称（64 字以内）")
    organisation: str = Field(
        max_length=40, description="承办机构统一社会信用代码（本节点或其他节点）"
    )


class Steps(_Payload):
    """分派联办环节: the steps of a 多地联办 case and who does each."""

    steps: list[StepAssignment] = Field(
        default_factory=list,
        title="联办环节",
        description="联办环节（顺序相同的并行办理）",
        json_schema_extra={
            "widget": "steps",
            "error_code": "steps_invalid",
            "error": "联办环节有误：顺序应为 1—20 的整数，名称 64 字以内，并选择承办机构",
        },
    )


class Delivery(_Payload):
    """送达: for a result the applicant chose to receive by post, the sender's side of the
    parcel (the handling organisation's mobile number and address); nothing otherwise."""

    sender_mobile: str = Field(
        default="",
        max_length=20,
        title="寄件人手机号码",
        json_schema_extra={"widget": "text", "help": "邮寄送达时填写：业务属地寄件人的手机号码。"},
    )
    sender_address: str = Field(
        default="",
        max_length=200,
        title="寄件地址",
        json_schema_extra={"widget": "text", "help": "邮寄送达时填写：业务属地的寄件地址。"},
    )


class AssessedFee(_Payload):
    """One line of a fee assessment: a fee the item version lists, how many of it, and —
    for a fee without a fixed amount (按页计 …) — the amount assessed for the line."""

    fee: str = Field(max_length=100, description="收费项目名称（该事项版本所列收费项目之一）")
    quantity: int = Field(default=1, ge=1, le=9999, description="数量（份、页…），默认 1")
    amount: Decimal | None = Field(
        default=None,
        max_digits=10,
        decimal_places=2,
        description="本项金额（元）：无固定金额的收费项目必填；有固定金额的为单价×数量",
    )


class FeeAssessment(_Payload):
    """核定收费: which of the item version's listed fees apply to this case, and how much
    (cases/payment.py `assessed_lines`)."""

    fees: list[AssessedFee] = Field(
        default_factory=list,
        title="适用的收费项目",
        description="适用的收费项目（该事项版本所列），每项至多一次",
        json_schema_extra={
            "widget": "item_fees",
            "help": "勾选适用的收费项目；按数量计收的填写数量，无固定金额的填写核定金额。",
            "error_code": "fee_assessment_invalid",
            "error": "核定收费有误：数量应为 1—9999 的整数，金额为最多两位小数的元",
        },
    )


PAYLOADS: dict[str, type[BaseModel]] = {
    "fee_assessment": FeeAssessment,
    "delivery": Delivery,
    "supplement_request": SupplementRequest,
    "special_procedure": SpecialProcedure,
    "steps": Steps,
}


def widget_of(schema: type[BaseModel], name: str) -> str:
    """How pages ask for field `name` of a payload (see the module docstring)."""
    extra = schema.model_fields[name].json_schema_extra
    return str(extra.get("widget", "")) if isinstance(extra, dict) else ""


def material_fields(schema: type[BaseModel]) -> list[str]:
    """The fields of a payload that name the item's materials: by id on this node, by
    position in the item version when they travel to another node."""
    return [name for name in schema.model_fields if widget_of(schema, name) == "item_materials"]
