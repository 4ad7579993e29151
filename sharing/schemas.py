"""The JSON shapes of the sharing API. No schema carries a subject's ID number back: the
data log shows the masked code only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Schema
from pydantic import Field


class FieldOut(Schema):
    name: str
    label: str
    type: str = "string"
    sensitivity: str = "internal"


class ResourceOut(Schema):
    code: str
    name: str
    provider: str
    subject_kind: str
    sharing_class: str
    legal_basis: str
    update_frequency: str
    methods: list[str]
    fields: list[FieldOut]
    material_codes: list[str]


class RemoteRequestOut(Schema):
    """A request sent to another node, as this node's live copy has it: reviewed there;
    its status follows the provider's notices (`sharing.request_status`, `sharing.granted`)
    or the provider node's refusal of the envelope (`rejected`)."""

    reference: str
    node: str = Field(validation_alias="provider_node")
    resource: str = Field(validation_alias="resource_code")
    resource_name: str
    provider: str = Field(validation_alias="provider_name")
    consumer: str = Field(validation_alias="consumer.uscc")
    fields: list[str]
    methods: list[str]
    purpose: str
    valid_until: dt.date
    state: str = Field(validation_alias="status")
    state_label: str = Field(validation_alias="get_status_display")
    provider_number: str
    grant: str = Field(validation_alias="grant_number")
    reason: str
    created_at: dt.datetime
    updated_at: dt.datetime


class RequestIn(Schema):
    """需求清单: the resource, the fields and methods asked for, the purpose, the scene
    (item codes) and the legal basis, until when."""

    resource: str = Field(max_length=40)
    consumer: str = Field(
        default="", max_length=18, description="需求部门统一社会信用代码（身兼多个部门时必填）"
    )
    fields: list[str] = Field(max_length=100)
    methods: list[str] = Field(max_length=3)
    purpose: str = Field(default="", max_length=300)
    legal_basis: str = Field(default="", max_length=300)
    scene_items: list[str] = Field(default_factory=list, max_length=100)
    valid_until: dt.date


class ActionIn(Schema):
    note: str = Field(default="", max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict)


class RequestOut(Schema):
    number: str
    resource: str
    provider: str
    consumer: str
    state: str
    state_label: str = ""
    fields: list[str]
    methods: list[str]
    purpose: str
    legal_basis: str
    valid_until: dt.date
    due_date: dt.date | None
    answered_on: dt.date | None
    refusal_reason: str
    grant: str | None
    # The grant's credential, present once: in the answer to the approval that issued it.
    credential: str | None = None
    # The actions the caller may take now (in the answer about one request).
    allowed_actions: list[str] = Field(default_factory=list)

    @staticmethod
    def resolve_resource(obj: Any) -> str:
        return str(obj.resource.code)

    @staticmethod
    def resolve_provider(obj: Any) -> str:
        return str(obj.resource.provider.name)

    @staticmethod
    def resolve_consumer(obj: Any) -> str:
        return str(obj.consumer.name)

    @staticmethod
    def resolve_state_label(obj: Any) -> str:
        from sharing.engine import PROCESS

        return PROCESS.state_label(obj)

    @staticmethod
    def resolve_grant(obj: Any) -> str | None:
        grant = getattr(obj, "grant", None)
        return grant.number if grant is not None else None

    @staticmethod
    def resolve_credential(obj: Any) -> str | None:
        return getattr(obj, "issued_credential", None)

    @staticmethod
    def resolve_allowed_actions(obj: Any) -> list[str]:
        return list(getattr(obj, "allowed_actions", []))


class SubjectIn(Schema):
    grant: str = Field(max_length=32)
    credential: str = Field(max_length=80)
    subject_kind: str = Field(max_length=16)
    subject: str = Field(max_length=18)
    purpose: str = Field(default="", max_length=300)
    case_number: str = Field(default="", max_length=40)


class VerifyIn(SubjectIn):
    """共享核验: is `field` of the subject's record equal to `value`, `within` the division
    `value`, or does it `exist`? The answer is yes or no, never the data."""

    field: str = Field(max_length=64)
    op: str = Field(default="equals", max_length=16)
    value: str = Field(default="", max_length=200)


class QueryIn(SubjectIn):
    fields: list[str] = Field(max_length=100)


class BulkIn(Schema):
    grant: str = Field(max_length=32)
    credential: str = Field(max_length=80)
    purpose: str = Field(default="", max_length=300)


class AnswerOut(Schema):
    method: str
    grant: str
    match: bool | None = None
    found: bool | None = None
    record: dict[str, Any] | None = None
    records: list[dict[str, Any]] | None = None


class LogEntryOut(Schema):
    at: dt.datetime
    consumer: str
    consumer_node: str
    resource: str
    method: str
    subject: str
    purpose: str
    case_number: str
    outcome: str
    answer: dict[str, Any]

    @staticmethod
    def resolve_consumer(obj: Any) -> str:
        return str(obj.consumer_label)

    @staticmethod
    def resolve_resource(obj: Any) -> str:
        return obj.resource.name if obj.resource is not None else ""

    @staticmethod
    def resolve_subject(obj: Any) -> str:
        return str(obj.subject_masked)
