"""JSON endpoints of 一件事 bundle cases: apply, give each material once, submit, read the
combined status, timeline and result, withdraw. The same services as the portal pages
(cases/bundles.py); every read goes through `bundles.bundle_cases_for`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from accounts.auth import API_AUTH
from cases import bundles
from cases.models import BundleCase
from catalog.bundles import current_bundle_version
from core.api import paginated
from core.schemas import ProblemOut
from core.selectors import known_division

router = Router(tags=["一件事"], auth=API_AUTH)

ERRORS = {401: ProblemOut, 403: ProblemOut, 404: ProblemOut, 409: ProblemOut, 422: ProblemOut}


class BundleCaseIn(Schema):
    bundle: str = Field(description="一件事代码，按其当前生效版本申请")
    form: dict[str, Any] = Field(description="合并申请表的答复（每个字段只填一次）")
    company: str | None = Field(None, description="以法人名义申请时，法人的统一社会信用代码")
    place: str | None = Field(None, description="办理地（居住地）行政区划代码")
    idempotency_key: str = Field("", max_length=64)


class WithdrawIn(Schema):
    note: str = Field("", max_length=500)


class SubCaseOut(Schema):
    order: int
    item: str
    organisation: str
    node: str = Field(description="承办节点，空为本节点")
    status: str
    status_label: str
    case_number: str | None
    case_state: str | None
    note: str


class BundleMaterialStateOut(Schema):
    key: str
    name: str
    required: bool
    items: list[str]
    produced_by: str | None = Field(description="由哪个前序事项的结果证照自动提供")
    given: bool


class TimelineRowOut(Schema):
    at: dt.datetime
    actor: str
    what: str
    note: str
    item: str


class ResultRowOut(Schema):
    item: str
    name: str
    identifier: str
    case_number: str


class BundleCaseRowOut(Schema):
    number: str
    bundle: str = Field(validation_alias="bundle_version.bundle.code")
    name: str = Field(validation_alias="bundle_version.bundle.name")
    status: BundleCase.Status
    status_label: str = Field(validation_alias="get_status_display")
    due_date: dt.date | None
    created_at: dt.datetime
    submitted_at: dt.datetime | None


class BundleCaseOut(Schema):
    """A bundle case with its one status, deadline, sub-cases, what a stopped step blocks,
    materials, merged timeline and results."""

    number: str
    bundle: str
    name: str
    status: BundleCase.Status
    status_label: str
    due_date: dt.date | None
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    current: list[str]
    sub_cases: list[SubCaseOut]
    blocked: list[dict[str, str]]
    materials: list[BundleMaterialStateOut]
    timeline: list[TimelineRowOut]
    results: list[ResultRowOut]


def _detail(request: HttpRequest, number: str) -> dict[str, Any]:
    return overview_data(bundles.bundle_overview(bundles.get_bundle_case_for(request.user, number)))


def overview_data(view: bundles.BundleOverview) -> dict[str, Any]:
    """The API body of a bundle case (also what its page shows)."""
    bc = view.bundle_case
    return {
        "number": bc.number,
        "bundle": bc.bundle_version.bundle.code,
        "name": bc.bundle_version.bundle.name,
        "status": bc.status,
        "status_label": view.status_label,
        "due_date": view.due_date,
        "created_at": bc.created_at,
        "submitted_at": bc.submitted_at,
        "current": view.current,
        "sub_cases": [
            {
                "order": s.order,
                "item": bundles.item_name(s.step),
                "organisation": s.step.item.organisation.name,
                "node": s.step.item.organisation.node,
                "status": s.status,
                "status_label": s.get_status_display(),
                "case_number": s.case.number if s.case else None,
                "case_state": s.case.state if s.case else None,
                "note": s.note,
            }
            for s in view.sub_cases
        ],
        "blocked": [
            {"item": bundles.item_name(s.step), "blocks": blocks} for s, blocks in view.blocked
        ],
        "materials": [
            {
                "key": m.key,
                "name": m.name,
                "required": m.required,
                "items": m.item_names,
                "produced_by": bundles.item_name(m.produced_by) if m.produced_by else None,
                "given": m.key in view.given,
            }
            for m in view.materials
        ],
        "timeline": [vars(r) for r in view.timeline],
        "results": [vars(r) for r in view.results],
    }


@router.post(
    "/bundle-cases",
    response={201: BundleCaseOut, **ERRORS},
    summary="申请一件事（草稿：随后逐项提交材料，再提交）",
    description="答复使同一事项适用两次时返回 422 `bundle_item_twice`；某一事项在申请人所在地"
    "不能办理时返回 422 `bundle_item_not_available`；均不留下任何数据。",
)
def create_bundle_case(request: HttpRequest, payload: BundleCaseIn) -> Status[dict[str, Any]]:
    bundle_case = bundles.start_bundle_case(
        bundle_version=current_bundle_version(payload.bundle),
        form_data=payload.form,
        actor=request.user,
        company_uscc=payload.company,
        place=known_division(payload.place) if payload.place else None,
        idempotency_key=payload.idempotency_key or request.headers.get("Idempotency-Key", ""),
    )
    return Status(201, _detail(request, bundle_case.number))


@router.get(
    "/bundle-cases",
    response={200: list[BundleCaseRowOut], **ERRORS},
    summary="我可见的一件事办件（分页）",
)
@paginated
def list_bundle_cases(request: HttpRequest) -> QuerySet[BundleCase]:
    return bundles.list_bundle_cases(request.user)


@router.get(
    "/bundle-cases/{number}",
    response={200: BundleCaseOut, **ERRORS},
    summary="一件事详情：统一状态、期限、子办件、时间线与办理结果",
)
def get_bundle_case(request: HttpRequest, number: str) -> dict[str, Any]:
    return _detail(request, number)


@router.post(
    "/bundle-cases/{number}/materials",
    response={201: BundleCaseOut, **ERRORS},
    summary="提交一件事的一份材料（各事项共用，只交一次）",
)
def upload_bundle_material(
    request: HttpRequest, number: str, key: Form[str], file: File[UploadedFile]
) -> Status[dict[str, Any]]:
    bundle_case = bundles.get_bundle_case_for(request.user, number)
    content = file.read(settings.CASE_UPLOAD_MAX_BYTES + 1)
    bundles.add_bundle_material(
        bundle_case, key, content=content, name=file.name or "", actor=request.user
    )
    return Status(201, _detail(request, number))


@router.post(
    "/bundle-cases/{number}/submit",
    response={200: BundleCaseOut, **ERRORS},
    summary="提交一件事：首批事项的子办件送交各承办部门",
)
def submit_bundle_case(request: HttpRequest, number: str) -> dict[str, Any]:
    bundles.submit_bundle_case(
        bundles.get_bundle_case_for(request.user, number), actor=request.user
    )
    return _detail(request, number)


@router.post(
    "/bundle-cases/{number}/withdraw",
    response={200: BundleCaseOut, **ERRORS},
    summary="撤回一件事：未决定的子办件一并撤回",
    description="已进入审查、按流程不能撤回的子办件存在时返回 409 `bundle_withdraw_not_possible`。",
)
def withdraw_bundle_case(request: HttpRequest, number: str, payload: WithdrawIn) -> dict[str, Any]:
    bundles.withdraw_bundle_case(
        bundles.get_bundle_case_for(request.user, number), actor=request.user, note=payload.note
    )
    return _detail(request, number)
