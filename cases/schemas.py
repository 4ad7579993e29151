"""Shapes of the cases API (request bodies and answers)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Optional

from ninja import Schema
from pydantic import Field, create_model

from cases.models import Case
from cases.payloads import PAYLOADS, StepAssignment
from cases.selectors import row_applicant
from cases.workflow import state_label
from core.schemas import RowId


class ApplicantIn(Schema):
    """Who applies, when staff or a department system apply on someone's behalf."""

    kind: str = Field(pattern="^(person|company)$")
    name: str = Field(min_length=1, max_length=128)
    id_number: str | None = Field(default=None, description="自然人：公民身份号码")
    mobile: str | None = None
    uscc: str | None = Field(default=None, description="法人：统一社会信用代码")
    legal_representative: str | None = None


class CaseIn(Schema):
    item: str = Field(description="事项编码")
    form: dict[str, Any] = Field(default_factory=dict, description="申请表，键为字段名")
    applicant: ApplicantIn | None = Field(
        default=None, description="代他人申请时填写；本人申请时省略"
    )
    company: str | None = Field(
        default=None, description="以经办法人身份申请时：其统一社会信用代码"
    )
    assisted: bool = Field(default=False, description="代办帮办（老年人、残疾人等）")
    submit: bool = Field(default=False, description="创建后立即提交（材料须已齐全或已承诺）")
    idempotency_key: str = Field(default="", max_length=64)
    window: int | None = Field(
        default=None,
        description="窗口人员收件时：收件窗口的 id（GET /api/v1/halls）；只在一个入驻该事项的窗口时可省略",
    )
    place: str | None = Field(
        default=None,
        max_length=12,
        description="网上申请：申请人常住地行政区划代码（据此确定通办范围）；省略时取身份证号码的发证地",
    )


def _action_in() -> type[Schema]:
    """The body of an action: its note, and the fields of its payload (the action's
    `payload` in the workflow definition; `allowed_actions` says which) — every payload
    schema's fields, each optional here and checked by the engine against the action's own
    schema."""
    fields: dict[str, Any] = {"note": (str, Field(default="", description="说明"))}
    for name, schema in PAYLOADS.items():
        for field, info in schema.model_fields.items():
            fields.setdefault(
                field,
                (
                    Optional[info.annotation],  # noqa: UP045 - a type built at run time
                    Field(default=None, description=f"{info.description}（{name}）"),
                ),
            )
    model: type[Schema] = create_model("ActionIn", __base__=Schema, **fields)
    return model


if TYPE_CHECKING:

    class ActionIn(Schema):
        note: str

else:
    ActionIn = _action_in()


class DeficiencyIn(Schema):
    materials: list[RowId]
    due_date: dt.date


class VerificationIn(Schema):
    truthful: bool
    note: str = Field(min_length=1)


class RevealIn(Schema):
    purpose: str = Field(min_length=2, max_length=200, description="查看完整个人信息的用途")


class OrgOut(Schema):
    uscc: str
    name: str


class EventOut(Schema):
    at: dt.datetime
    actor: str
    organisation: str | None
    action: str
    from_state: str
    to_state: str
    note: str
    node: str = Field(description="发生在哪个节点（空为本节点）")


class StepOut(Schema):
    id: int
    order: int
    name: str
    organisation: str
    remote: bool = Field(description="承办机构在其他节点")
    status: str
    status_label: str
    note: str
    finished_at: dt.datetime | None


class SegmentOut(Schema):
    label: str
    organisation: str
    node: str
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    due_date: dt.date | None


class StepsIn(Schema):
    steps: list[StepAssignment] = Field(min_length=1)
    note: str = ""


class StepResultIn(Schema):
    passed: bool
    note: str = ""


class ForeignLicenceIn(Schema):
    material: RowId = Field(description="材料要求 id")
    token: str = Field(description="其他节点签发的电子证照二维码令牌（TB1.…）或电子证照标识")


class PartyIn(Schema):
    name: str
    mobile: str
    address: str


class ShipmentIn(Schema):
    purpose: str = Field(description="materials / supplement / result")
    contents: str
    sender: PartyIn
    recipient: PartyIn
    to_window: bool = Field(default=True, description="寄往对方机构窗口（否则寄给收件人本人）")


class ShipmentOut(Schema):
    tracking_number: str
    purpose: str
    status: str
    carrier: str


class PauseOut(Schema):
    reason: str
    reason_label: str
    detail: str
    started_on: dt.date
    ended_on: dt.date | None
    days: int


class CaseDeadlineOut(Schema):
    accepted_on: dt.date | None
    due_date: dt.date | None
    provisional: bool
    unit: str
    promised_limit: int
    paused_days: int
    pauses: list[PauseOut]
    clock_state: str
    warning: str
    state_due_date: dt.date | None


class CaseMaterialOut(Schema):
    id: int
    name: str
    necessity: str
    provided: bool
    covered_by: str
    file: dict[str, Any] | None


class CommitmentOut(Schema):
    id: int
    kind: str
    kind_label: str
    status: str
    due_date: dt.date | None
    notice: str
    materials: list[str]


class AllowedActionOut(Schema):
    name: str
    label: str
    note_required: bool
    payload: str | None = Field(description="附加数据格式（见 ActionIn），无则为空")
    grave: bool = Field(description="终止或拒绝类操作")
    hint: str


class CaseRowOut(Schema):
    number: str
    item_code: str
    item_name: str
    state: str
    state_label: str
    applicant: str
    handling_org: str
    due_date: dt.date | None
    warning: str
    created_at: dt.datetime

    @staticmethod
    def resolve_item_code(obj: Case) -> str:
        return obj.item_version.item.code

    @staticmethod
    def resolve_item_name(obj: Case) -> str:
        return obj.item_version.name

    @staticmethod
    def resolve_state_label(obj: Case) -> str:
        return state_label(obj)

    @staticmethod
    def resolve_applicant(obj: Case, context: dict[str, Any]) -> str:
        return row_applicant(obj, context["request"].user)

    @staticmethod
    def resolve_handling_org(obj: Case) -> str:
        return obj.handling_org.name


class CaseWindowOut(Schema):
    """The window (专窗) a window case was taken in at."""

    id: int
    hall: str
    hall_code: str
    number: str
    name: str


class CaseOut(Schema):
    number: str
    item: dict[str, Any]
    mode: str
    mode_label: str
    channel: str
    state: str
    state_label: str
    finished: bool
    applicant: dict[str, Any]
    assisted: bool
    receiving_org: OrgOut
    window: CaseWindowOut | None = Field(description="收件窗口（窗口收件的办件）")
    handling_org: OrgOut
    form: dict[str, Any]
    materials: list[CaseMaterialOut]
    commitments: list[CommitmentOut]
    deadline: CaseDeadlineOut
    timeline: list[EventOut]
    allowed_actions: list[AllowedActionOut]
    submitted_at: dt.datetime | None
    closed_at: dt.datetime | None
    outcome_note: str
    counterpart_node: str = Field(description="协同办理的另一个节点（空为单节点办件）")
    steps: list[StepOut]
    segments: list[SegmentOut]


class CoverageOut(Schema):
    organisation: dict[str, str]
    approved: int
    with_licence: int
    share: float | None
