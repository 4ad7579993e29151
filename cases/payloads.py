"""The input of the case actions that take more than a note: one pydantic schema each,
named by the workflow definitions (`"payload": "supplement_request"`), checked by the
engine, and read alike by the JSON API and the console's action forms.

A field says how pages ask for it (`widget`: the item's materials, a date, one of the
item's special procedures, rows of joint steps) and, where a refusal has a stable code of
its own, that code and its Chinese reason (`error_code`, `error`).
"""

from __future__ import annotations

import datetime as dt

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


PAYLOADS: dict[str, type[BaseModel]] = {
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
