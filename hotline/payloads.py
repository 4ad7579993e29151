"""The input of the ticket actions that take more than a note: one pydantic schema each,
named by the workflow definition (`"payload": "dispatch"`) and checked by the engine. A
field names the stable `error_code` and Chinese `error` it is refused with, and how pages
ask for it (`widget`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hotline.models import CallbackOutcome, Referral


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReferralIn(_Payload):
    """不予受理: where the caller is told to go instead."""

    referral: Referral = Field(
        title="告知去向",
        json_schema_extra={
            "widget": "referral",
            "error_code": "referral_invalid",
            "error": "请选择不予受理的去向（诉讼、仲裁、信访、国家秘密或 110/119/120/122）",
        },
    )


class DispatchIn(_Payload):
    """派单 / 改派: the category and the organisations of the dispatch catalog."""

    category: str = Field(
        max_length=40,
        title="诉求分类",
        json_schema_extra={
            "widget": "category",
            "error_code": "category_required",
            "error": "请选择派单目录中的诉求分类",
        },
    )
    lead: str = Field(
        max_length=18,
        title="主办单位",
        json_schema_extra={
            "widget": "organisation",
            "error_code": "lead_required",
            "error": "请选择主办单位（统一社会信用代码）",
        },
    )
    co: list[str] = Field(
        default_factory=list,
        title="协办单位",
        json_schema_extra={"widget": "organisations", "error": "协办单位应为统一社会信用代码列表"},
    )


class ReplyIn(_Payload):
    """答复: what the organisation tells the caller."""

    reply: str = Field(
        min_length=1,
        max_length=4000,
        title="答复内容",
        json_schema_extra={
            "widget": "text",
            "error_code": "reply_required",
            "error": "答复内容不能为空（4000 字以内）",
        },
    )


class OnTheSpotIn(ReplyIn):
    """当场答复: the answer read out from a knowledge article or a service guide."""

    article: int | None = Field(
        default=None,
        title="知识库条目",
        json_schema_extra={"widget": "article", "error": "知识库条目编号应为整数"},
    )
    guide: str = Field(
        default="",
        max_length=64,
        title="办事指南（事项编码）",
        json_schema_extra={"widget": "guide"},
    )


class CallbackIn(_Payload):
    """回访: how the caller judged the answer."""

    outcome: CallbackOutcome = Field(
        title="回访结果",
        json_schema_extra={
            "widget": "callback_outcome",
            "error_code": "callback_outcome_invalid",
            "error": "请选择回访结果：满意、基本满意、不满意或联系不上",
        },
    )
    note: str = Field(
        default="", max_length=500, title="回访记录", json_schema_extra={"widget": "text"}
    )


class ExtensionIn(_Payload):
    """申请延期: how much longer, in the ticket's own unit (working days or hours)."""

    days: int = Field(
        ge=1,
        le=30,
        title="延长时限",
        json_schema_extra={
            "widget": "number",
            "error_code": "extension_invalid",
            "error": "延长时限应为 1—30 的整数（按工单的时限单位）",
        },
    )


class MergeIn(_Payload):
    """并单: the ticket this duplicate is merged into."""

    into: str = Field(
        min_length=1,
        max_length=32,
        title="并入工单编号",
        json_schema_extra={
            "widget": "ticket",
            "error_code": "merge_target_required",
            "error": "请填写并入的工单编号",
        },
    )


PAYLOADS: dict[str, type[BaseModel]] = {
    "referral": ReferralIn,
    "dispatch": DispatchIn,
    "reply": ReplyIn,
    "on_the_spot": OnTheSpotIn,
    "callback": CallbackIn,
    "extension": ExtensionIn,
    "merge": MergeIn,
}
