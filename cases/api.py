"""JSON endpoints of cases: apply, read, act, upload. Callers authenticate with a bearer
token (apps, department systems) or the portal session; every read goes through the one
scoping primitive, so a case outside the caller's scope answers 404."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from accounts.auth import API_AUTH
from cases import commitments, joint, materials, selectors, services, shipping
from cases.engine import take_action
from cases.schemas import (
    ActionIn,
    CaseIn,
    CaseOut,
    CaseRowOut,
    CoverageOut,
    DeficiencyIn,
    ForeignLicenceIn,
    RevealIn,
    ShipmentIn,
    ShipmentOut,
    StepResultIn,
    StepsIn,
    VerificationIn,
)
from cases.workflow import definition_of
from catalog.models import Material
from catalog.selectors import version_to_apply_for
from core import blobs
from core.api import paginated
from core.exceptions import NotFound, RuleViolation
from core.schemas import ProblemOut, RowId
from core.selectors import known_division
from delivery.carriers import Party
from halls.selectors import known_window
from licences.schemas import UseLicenceIn
from licences.selectors import wallet

router = Router(tags=["办件"], auth=API_AUTH)

ERRORS = {401: ProblemOut, 403: ProblemOut, 404: ProblemOut, 409: ProblemOut, 422: ProblemOut}


def _detail(request: HttpRequest, number: str) -> dict[str, Any]:
    return selectors.case_view(selectors.find_case_detail(request.user, number), request.user)


@router.post("/cases", response={201: CaseOut, **ERRORS}, summary="申请（创建办件，可同时提交）")
def create_case(request: HttpRequest, payload: CaseIn) -> Status[dict[str, Any]]:
    case = services.apply(
        actor=request.user,
        item_version=version_to_apply_for(payload.item),
        form_data=payload.form,
        on_behalf_of=payload.applicant.dict() if payload.applicant else None,
        company_uscc=payload.company,
        assisted=payload.assisted,
        idempotency_key=payload.idempotency_key or request.headers.get("Idempotency-Key", ""),
        submit=payload.submit,
        place=known_division(payload.place) if payload.place else None,
        window=known_window(payload.window) if payload.window is not None else None,
        delivery=payload.delivery.dict() if payload.delivery else None,
    )
    return Status(201, _detail(request, case.number))


@router.get(
    "/cases", response={200: list[CaseRowOut], **ERRORS}, summary="我可见的办件（按期限排序，分页）"
)
@paginated
def list_cases(
    request: HttpRequest, state: str | None = None, warning: str | None = None
) -> selectors.ScopedCases:
    # Counted and paged on the scope's union, as the console's inbox (decisions 310, 318).
    return selectors.ScopedCases(
        request.user, selectors.listing_rows(), state=state or "", warning=warning or ""
    )


@router.get(
    "/cases/{number}",
    response={200: CaseOut, **ERRORS},
    summary="办件详情：状态、时间线、期限与暂停天数、材料、可执行操作",
)
def get_case(request: HttpRequest, number: str) -> dict[str, Any]:
    return _detail(request, number)


@router.post(
    "/cases/{number}/actions/{action}",
    response={200: CaseOut, **ERRORS},
    summary="执行办件操作（不允许的操作返回 409 或 403）",
)
def act(request: HttpRequest, number: str, action: str, payload: ActionIn) -> dict[str, Any]:
    case = selectors.find_case_for(request.user, number)
    given = payload.model_dump(exclude_unset=True, exclude={"note"})
    # An empty field is no input: clients may send every field of the body's schema.
    data = {k: v for k, v in given.items() if v not in (None, "", [])}
    take_action(case, action, actor=request.user, note=payload.note or "", data=data)
    return _detail(request, number)


@router.post(
    "/cases/{number}/materials",
    response={201: CaseOut, **ERRORS},
    summary="上传申请材料（按内容校验类型与大小）",
)
def upload_material(
    request: HttpRequest,
    number: str,
    material: Form[RowId],
    file: File[UploadedFile],
    paper_custody: Form[str] = "",
) -> Status[dict[str, Any]]:
    case = selectors.find_case_for(request.user, number)
    requirement = Material.objects.filter(version_id=case.item_version_id, pk=material).first()
    if requirement is None:
        raise RuleViolation("material_not_of_item", f"材料 {material} 不是该事项的申请材料")
    content = file.read(settings.CASE_UPLOAD_MAX_BYTES + 1)
    materials.add_material(
        case,
        requirement,
        content=content,
        name=file.name or "",
        actor=request.user,
        paper_custody=paper_custody,
    )
    return Status(201, _detail(request, number))


@router.get(
    "/cases/{number}/materials/{material_id}/file",
    response={200: None, **ERRORS},
    summary="读取申请材料文件（原样字节，附 Repr-Digest；工作人员每次读取均记入个人信息访问记录）",
    openapi_extra={
        "responses": {
            "200": {
                "description": "材料文件",
                "content": {t: {} for t in sorted(materials.ALLOWED_UPLOADS)},
            }
        }
    },
)
def material_file(
    request: HttpRequest, number: str, material_id: int, purpose: str = ""
) -> HttpResponse:
    read = materials.read_material(number, material_id, viewer=request.user, purpose=purpose)
    m = read.material
    return blobs.file_response(
        read.content, content_type=m.content_type, name=m.original_name, digest=m.sha256
    )


@router.post(
    "/cases/{number}/commitments/deficiency",
    response={201: CaseOut, **ERRORS},
    summary="签署容缺受理承诺书",
)
def sign_deficiency(
    request: HttpRequest, number: str, payload: DeficiencyIn
) -> Status[dict[str, Any]]:
    case = selectors.get_case_for(request.user, number)
    materials = list(case.item_version.materials.filter(pk__in=payload.materials))
    if len(materials) != len(set(payload.materials)):
        raise RuleViolation("material_not_of_item", "所列材料不全是该事项的申请材料")
    commitments.sign_deficiency_commitment(
        case, materials=materials, due_date=payload.due_date, actor=request.user
    )
    return Status(201, _detail(request, number))


@router.post(
    "/cases/{number}/commitments/notification",
    response={201: CaseOut, **ERRORS},
    summary="签署告知承诺书（代替所告知的证明材料）",
)
def sign_notification(request: HttpRequest, number: str) -> Status[dict[str, Any]]:
    case = selectors.get_case_for(request.user, number)
    commitments.sign_notification_commitment(case, actor=request.user)
    return Status(201, _detail(request, number))


@router.post(
    "/cases/{number}/commitments/{commitment_id}/verification",
    response={200: CaseOut, **ERRORS},
    summary="告知承诺核查结论",
)
def verify(
    request: HttpRequest, number: str, commitment_id: RowId, payload: VerificationIn
) -> dict[str, Any]:
    case = selectors.get_case_for(request.user, number)
    commitment = case.commitments.filter(pk=commitment_id).first()
    if commitment is None:
        raise NotFound("commitment_not_found", "承诺不存在")
    commitments.record_verification(
        commitment, truthful=payload.truthful, note=payload.note, actor=request.user
    )
    return _detail(request, number)


@router.post(
    "/cases/{number}/personal-data",
    response={200: dict[str, Any], **ERRORS},
    summary="查看申请表中的完整个人信息（须说明用途，记入访问日志）",
)
def reveal(request: HttpRequest, number: str, payload: RevealIn) -> dict[str, Any]:
    case = selectors.get_case_for(request.user, number)
    return services.reveal_form(case, viewer=request.user, purpose=payload.purpose)


@router.post(
    "/cases/{number}/materials/licence",
    response={201: CaseOut, **ERRORS},
    summary="以本人电子证照代替申请材料（免提交，当场核验）",
)
def use_licence(request: HttpRequest, number: str, payload: UseLicenceIn) -> Status[dict[str, Any]]:
    case = selectors.get_case_for(request.user, number)
    requirement = case.item_version.materials.filter(pk=payload.material).first()
    if requirement is None:
        raise RuleViolation("material_not_of_item", f"材料 {payload.material} 不是该事项的申请材料")
    licence = wallet(request.user).filter(identifier=payload.identifier.strip().upper()).first()
    if licence is None:
        raise RuleViolation("licence_not_applicants", "证照夹中没有该电子证照", status=403)
    materials.use_licence(case, requirement, licence, actor=request.user)
    return Status(201, _detail(request, number))


@router.post(
    "/cases/{number}/materials/foreign-licence",
    response={201: CaseOut, **ERRORS},
    summary="以其他节点签发的电子证照代替申请材料（离线验签，并向签发节点确认有效与持证人）",
)
def use_foreign_licence(
    request: HttpRequest, number: str, payload: ForeignLicenceIn
) -> Status[dict[str, Any]]:
    case = selectors.get_case_for(request.user, number)
    requirement = case.item_version.materials.filter(pk=payload.material).first()
    if requirement is None:
        raise RuleViolation("material_not_of_item", f"材料 {payload.material} 不是该事项的申请材料")
    materials.use_foreign_licence(case, requirement, payload.token, actor=request.user)
    return Status(201, _detail(request, number))


@router.post(
    "/cases/{number}/steps",
    response={200: CaseOut, **ERRORS},
    summary="分派多地联办环节（受理后；相同顺序的环节并行，其他节点的环节经节点交换送达）",
)
def assign_steps(request: HttpRequest, number: str, payload: StepsIn) -> dict[str, Any]:
    case = selectors.get_case_for(request.user, number)
    spec = definition_of(case).action_with_payload(case.state, "steps")
    if spec is None:
        raise RuleViolation("steps_not_now", "办件当前状态下不能分派联办环节", status=409)
    take_action(
        case,
        spec.name,
        actor=request.user,
        note=payload.note,
        data={"steps": [step.model_dump() for step in payload.steps]},
    )
    return _detail(request, number)


@router.post(
    "/cases/{number}/steps/{step_id}",
    response={200: CaseOut, **ERRORS},
    summary="记录本机构承办的多地联办环节的办理结果",
)
def step_result(
    request: HttpRequest, number: str, step_id: RowId, payload: StepResultIn
) -> dict[str, Any]:
    case = selectors.get_case_for(request.user, number)
    step = case.steps.filter(pk=step_id).first()
    if step is None:
        raise NotFound("step_not_found", f"办件 {number} 没有环节 {step_id}")
    joint.complete_step(step, passed=payload.passed, note=payload.note, actor=request.user)
    return _detail(request, number)


@router.post(
    "/cases/{number}/shipments",
    response={201: ShipmentOut, **ERRORS},
    summary="寄递办件的纸质材料或办理结果（下单后运单号记入办件时间线）",
)
def post_shipment(request: HttpRequest, number: str, payload: ShipmentIn) -> Status[Any]:
    case = selectors.get_case_for(request.user, number)
    shipment = shipping.post(
        case,
        purpose=payload.purpose,
        sender=Party(**payload.sender.dict()),
        recipient=Party(**payload.recipient.dict()),
        to_window=payload.to_window,
        contents=payload.contents,
        actor=request.user,
    )
    return Status(201, shipment)


@router.get(
    "/licence-library/coverage",
    response={200: list[CoverageOut], **ERRORS},
    summary="证照库入库率：已批准的出证办件中已签发电子证照的比例（按办理机构；监督人员和机构管理员）",
)
def licence_coverage(request: HttpRequest) -> list[dict[str, Any]]:
    if not selectors.may_see_licence_coverage(request.user):
        raise RuleViolation(
            "coverage_forbidden", "证照库入库率仅供监督人员和机构管理员查看", status=403
        )
    return [
        {
            "organisation": {"uscc": r.organisation.uscc, "name": r.organisation.name},
            "approved": r.approved,
            "with_licence": r.with_licence,
            "share": r.share,
        }
        for r in selectors.licence_coverage_for(request.user)
    ]
