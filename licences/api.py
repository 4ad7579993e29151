"""JSON endpoints of seals and licences: the public key set, verification (public), the
holder's wallet, licence detail, canonical bytes, PDF, and revocation by staff."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router

from accounts.auth import API_AUTH
from core.schemas import ProblemOut, RowId
from licences import canonical, selectors, services
from licences.rendering import render_licence_pdf, verify_url
from licences.schemas import LicenceOut, LicenceRowOut, RevokeIn, SealOut, VerifyIn, VerifyOut
from licences.throttling import throttle_anonymous_verification

router = Router(tags=["电子印章与电子证照"])


def anyone(request: HttpRequest) -> bool:
    """Verification is public: a caller with a token or session is known (and logged, and
    not throttled); anyone else is let through as anonymous."""
    return True


ERRORS = {401: ProblemOut, 403: ProblemOut, 404: ProblemOut, 409: ProblemOut, 422: ProblemOut}


def _seal_out(seal: Any) -> dict[str, Any]:
    return {
        "id": seal.pk,
        "organisation": {"uscc": seal.organisation.uscc, "name": seal.organisation.name},
        "name": seal.name,
        "algorithm": seal.algorithm,
        "fingerprint": seal.fingerprint,
        "valid_from": seal.valid_from,
        "valid_until": seal.valid_until,
        "status": seal.status,
        "public_key_url": f"/api/v1/seals/{seal.pk}",
    }


@router.get("/seals", response=list[SealOut], summary="本节点的印章公钥集（含已吊销的）")
def list_seals(request: HttpRequest) -> list[dict[str, Any]]:
    return [_seal_out(s) for s in selectors.key_set()]


@router.get(
    "/seals/{seal_id}",
    response={200: None, 404: ProblemOut},
    summary="印章公钥（PEM）",
    openapi_extra={"responses": {"200": {"content": {"application/x-pem-file": {}}}}},
)
def seal_public_key(request: HttpRequest, seal_id: RowId) -> HttpResponse:
    seal = selectors.get_seal(seal_id)
    response = HttpResponse(seal.public_pem, content_type="application/x-pem-file")
    response["Content-Disposition"] = f'inline; filename="seal-{seal.pk}.pem"'
    return response


@router.post(
    "/licences/verify",
    response={200: VerifyOut, 422: ProblemOut, 429: ProblemOut},
    summary="核验电子证照二维码令牌（离线验签，并向签发节点查询状态；各节点签发的均可）",
    description="可匿名调用；匿名调用按来源地址限流（超出时返回 429 `rate_limited`）。",
    auth=[*API_AUTH, anyone],
)
def verify(request: HttpRequest, payload: VerifyIn) -> dict[str, Any]:
    throttle_anonymous_verification(request)
    result = services.verify_token(payload.token, actor=request.user, channel="api")
    return {
        "outcome": result.outcome,
        "outcome_label": result.label,
        "code": result.code,
        "reason": result.reason,
        "signature_ok": result.signature_ok,
        "status": result.status,
        "status_checked": result.status_checked,
        "revocation_checked": result.revocation_checked,
        "identifier": result.identifier,
        "node": {
            "id": result.node_id,
            "name": result.node_name,
            "label": result.node_label,
            "local": result.local,
        }
        if result.node_id
        else None,
        "checked_at": result.checked_at,
        "face": result.face,
    }


@router.get(
    "/licences",
    response={200: list[LicenceRowOut], **ERRORS},
    auth=API_AUTH,
    summary="我可见的电子证照（持证人为证照夹，工作人员为本机构签发的）",
)
def list_licences(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        selectors.licence_row(licence) for licence in selectors.licences_for(request.user)[:200]
    ]


@router.get(
    "/licences/{identifier}",
    response={200: LicenceOut, **ERRORS},
    auth=API_AUTH,
    summary="电子证照详情（含签名、印章与全部使用和核验记录）",
)
def get_licence(request: HttpRequest, identifier: str) -> dict[str, Any]:
    licence = selectors.get_licence_for(request.user, identifier)
    return selectors.licence_view(licence, verify_url(licence.token), request.user)


@router.get(
    "/licences/{identifier}/canonical",
    response={200: None, **ERRORS},
    auth=API_AUTH,
    summary="签名所覆盖的规范化字节（用于以 openssl 独立验签；仅持证人本人）",
)
def canonical_form(request: HttpRequest, identifier: str) -> HttpResponse:
    licence = selectors.canonical_for(request.user, identifier)
    return HttpResponse(canonical.canonical_bytes(licence), content_type="application/json")


@router.get(
    "/licences/{identifier}/pdf",
    response={200: None, **ERRORS},
    auth=API_AUTH,
    summary="电子证照版式文件（PDF）",
)
def licence_pdf(request: HttpRequest, identifier: str) -> HttpResponse:
    licence = selectors.get_licence_for(request.user, identifier)
    services.record_download(licence, actor=request.user)
    face = selectors.face_for(licence, request.user)
    response = HttpResponse(render_licence_pdf(licence, face=face), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="licence-{licence.serial}.pdf"'
    return response


@router.post(
    "/licences/{identifier}/revoke",
    response={200: LicenceOut, **ERRORS},
    auth=API_AUTH,
    summary="撤销电子证照（颁证机构审批人员或机构管理员）",
)
def revoke(request: HttpRequest, identifier: str, payload: RevokeIn) -> dict[str, Any]:
    licence = selectors.get_licence_for(request.user, identifier)
    licence = services.revoke_licence_as_staff(licence, reason=payload.reason, actor=request.user)
    return selectors.licence_view(licence, verify_url(licence.token), request.user)
