"""JSON endpoints of data sharing: the catalog (public), sharing requests and their
actions (staff), verification, record queries and bulk pulls under a grant (department
systems: a bearer token of a staff account of the consuming organisation plus the grant's
credential), and the data log of the signed-in person or company agent.

A call outside its grant answers a problem document with a stable code
(`grant_other_organisation`, `grant_expired`, `fields_not_granted`, `method_not_granted`,
`subject_not_in_case`, `purpose_required` …) and nothing else; it is logged and alerted."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Status

from accounts.auth import API_AUTH
from accounts.models import StaffRole
from core.api import paginated
from core.exceptions import RuleViolation
from core.models import Organisation
from core.schemas import ProblemOut
from sharing import engine, exchange, selectors, services
from sharing.calls import Call, Question, call_grant
from sharing.models import AccessLog, DataResource, RemoteRequest, SharingRequest
from sharing.schemas import (
    ActionIn,
    AnswerOut,
    BulkIn,
    LogEntryOut,
    QueryIn,
    RemoteRequestOut,
    RequestIn,
    RequestOut,
    ResourceOut,
    VerifyIn,
)
from sharing.subjects import subject_of

router = Router(tags=["数据共享"])

ERRORS = {401: ProblemOut, 403: ProblemOut, 404: ProblemOut, 409: ProblemOut, 422: ProblemOut}
CALL_ERRORS = {**ERRORS, 503: ProblemOut}


def resource_out(resource: DataResource) -> dict[str, Any]:
    return {
        "code": resource.code,
        "name": resource.name,
        "provider": resource.provider.name,
        "subject_kind": resource.subject_kind,
        "sharing_class": resource.sharing_class,
        "legal_basis": resource.legal_basis,
        "update_frequency": resource.update_frequency,
        "methods": resource.methods,
        "fields": resource.fields,
        "material_codes": resource.material_codes,
    }


def request_out(found: SharingRequest, user: Any) -> SharingRequest:
    """One request with the actions `user` may take now (for RequestOut)."""
    found.allowed_actions = [a.name for a in engine.PROCESS.allowed(found, user)]  # type: ignore[attr-defined]
    return found


@router.get(
    "/sharing/resources",
    response={200: list[ResourceOut]},
    summary="政务信息资源共享目录（只含目录，不含数据）",
)
def list_resources(request: HttpRequest) -> list[dict[str, Any]]:
    return [resource_out(r) for r in selectors.published_resources()]


def _consumer(user: Any, uscc: str) -> Organisation:
    """The organisation of this node the staff member asks for (named by `uscc` when they
    work for more than one)."""
    roles = StaffRole.objects.filter(user_id=user.pk or 0).select_related("organisation")
    if uscc:
        roles = roles.filter(organisation__uscc=uscc)
    orgs = {r.organisation_id: r.organisation for r in roles}
    if len(orgs) != 1:
        raise RuleViolation(
            "consumer_required" if orgs else "action_forbidden",
            "请指明需求部门（consumer）" if orgs else "只有部门工作人员可以提出共享需求",
            status=422 if orgs else 403,
        )
    return next(iter(orgs.values()))


@router.post(
    "/sharing/requests",
    response={201: RequestOut, **ERRORS},
    auth=API_AUTH,
    summary="提出共享需求（需求清单）",
)
def create_request(request: HttpRequest, payload: RequestIn) -> Status[SharingRequest]:
    resource = selectors.get_resource(payload.resource)
    found = services.submit_request(
        resource=resource,
        consumer=_consumer(request.user, payload.consumer),
        fields=payload.fields,
        methods=payload.methods,
        purpose=payload.purpose,
        legal_basis=payload.legal_basis,
        valid_until=payload.valid_until,
        scene_items=payload.scene_items,
        actor=request.user,
    )
    return Status(201, request_out(found, request.user))


@router.get(
    "/sharing/requests",
    response={200: list[RequestOut], **ERRORS},
    auth=API_AUTH,
    summary="本部门提出或审核的共享需求",
)
@paginated
def list_requests(request: HttpRequest, state: str = "") -> QuerySet[SharingRequest]:
    return selectors.requests_for(request.user, state=state)


@router.post(
    "/sharing/requests/{number}/actions/{action}",
    response={200: RequestOut, **ERRORS},
    auth=API_AUTH,
    summary="共享需求操作（同意授权、不予共享、提请协调、裁定、撤回）",
)
def act_on_request(
    request: HttpRequest, number: str, action: str, payload: ActionIn
) -> SharingRequest:
    found = selectors.get_request_for(request.user, number)
    changed = engine.take_action(
        found, action, actor=request.user, note=payload.note, data=payload.data
    )
    return request_out(changed, request.user)


@router.get(
    "/sharing/nodes/{node}/resources",
    response={200: list[ResourceOut], **CALL_ERRORS},
    auth=API_AUTH,
    summary="另一节点的共享目录（供本节点部门提出共享需求）",
)
def remote_resources(request: HttpRequest, node: str) -> list[dict[str, Any]]:
    selectors.department_roles(request.user, doing="查看其他节点的共享目录")
    return exchange.remote_catalog(node)


@router.post(
    "/sharing/nodes/{node}/requests",
    response={202: RemoteRequestOut, **CALL_ERRORS},
    auth=API_AUTH,
    summary="向另一节点的提供部门提出共享需求（经联邦报文送达，由对方审核）",
)
def create_remote_request(
    request: HttpRequest, node: str, payload: RequestIn
) -> Status[RemoteRequest]:
    consumer = _consumer(request.user, payload.consumer)
    remote = exchange.file_remote_request(
        node=node,
        resource_code=payload.resource,
        consumer=consumer,
        fields=payload.fields,
        methods=payload.methods,
        purpose=payload.purpose,
        legal_basis=payload.legal_basis,
        valid_until=payload.valid_until,
        scene_items=payload.scene_items,
        actor=request.user,
    )
    return Status(202, remote)


@router.get(
    "/sharing/remote-requests",
    response={200: list[RemoteRequestOut], **ERRORS},
    auth=API_AUTH,
    summary="本部门向其他节点提出的共享需求及其状态",
)
@paginated
def list_remote_requests(request: HttpRequest, state: str = "") -> QuerySet[RemoteRequest]:
    return selectors.remote_requests_of(request.user, state=state)


def _call(request: HttpRequest, call: Call) -> dict[str, Any]:
    return call_grant(call, actor=request.user).as_dict()


@router.post(
    "/sharing/verify",
    response={200: AnswerOut, **CALL_ERRORS},
    auth=API_AUTH,
    exclude_none=True,
    summary="共享核验：只答是/否，不返回数据",
)
def verify(request: HttpRequest, payload: VerifyIn) -> dict[str, Any]:
    return _call(
        request,
        Call(
            grant_number=payload.grant,
            method="verify",
            subject=subject_of(payload.subject_kind, payload.subject),
            purpose=payload.purpose,
            case_number=payload.case_number,
            question=Question(payload.field, payload.op, payload.value),
            credential=payload.credential,
        ),
    )


@router.post(
    "/sharing/query",
    response={200: AnswerOut, **CALL_ERRORS},
    auth=API_AUTH,
    exclude_none=True,
    summary="共享查询：只返回授权字段",
)
def query(request: HttpRequest, payload: QueryIn) -> dict[str, Any]:
    return _call(
        request,
        Call(
            grant_number=payload.grant,
            method="query",
            subject=subject_of(payload.subject_kind, payload.subject),
            purpose=payload.purpose,
            case_number=payload.case_number,
            fields=payload.fields,
            credential=payload.credential,
        ),
    )


@router.post(
    "/sharing/bulk",
    response={200: AnswerOut, **CALL_ERRORS},
    auth=API_AUTH,
    exclude_none=True,
    summary="批量交换（须有批量授权）",
)
def bulk(request: HttpRequest, payload: BulkIn) -> dict[str, Any]:
    return _call(
        request,
        Call(
            grant_number=payload.grant,
            method="bulk",
            subject=None,
            purpose=payload.purpose,
            credential=payload.credential,
        ),
    )


@router.get(
    "/sharing/my-data-log",
    response={200: list[LogEntryOut], **ERRORS},
    auth=API_AUTH,
    summary="我的数据被谁调用（本人及本人经办的企业）",
)
@paginated
def my_data_log(request: HttpRequest, company: bool = False) -> QuerySet[AccessLog]:
    if company:
        return selectors.data_log_of_companies(request.user)
    person = getattr(request.user, "person", None)
    if person is None:
        return AccessLog.objects.none()
    return selectors.data_log_of_person(person)
