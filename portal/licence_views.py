"""电子证照 in the portal: the holder's 证照夹 (/my/licences/), one licence with its QR code,
seal, PDF and every use and verification, and the public verification page (/verify/) that
the QR code opens — for licences of this node and of every other node of the federation.

The wallet and the licence page show only the signed-in user's own licences
(`licences.selectors.wallet`): anyone else's, staff included, is a 404. /verify/ is public
and shows only the minimal face the token itself carries (masked holder); every
verification is logged by `licences.services.verify_token`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from licences.models import Licence
from licences.recognition import Recognition
from licences.rendering import face_rows, verify_url
from licences.selectors import effective_status, events_of, get_wallet_licence, wallet
from licences.services import verify_token
from licences.throttling import throttle_anonymous_verification
from portal.forms import VerifyTokenForm
from portal.licence_display import (
    OUTCOME_ADVICE,
    OUTCOME_SYMBOLS,
    PDF_UNAVAILABLE,
    event_rows,
    licence_qr,
    pdf_response,
    seal_image,
    validity,
)
from signon.relying import needs_identity

logger = logging.getLogger(__name__)

LICENCES_PER_PAGE = 20
EVENTS_PER_PAGE = 50


@login_required
@require_safe
def wallet_page(request: HttpRequest) -> HttpResponse:
    """证照夹: every licence the user holds (as a person, or as a company's agent)."""
    page = Paginator(wallet(request.user), LICENCES_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {"licence": licence, "status": effective_status(licence)} for licence in page.object_list
    ]
    # Signed in from another node without having shared the ID number yet: the licences
    # held here cannot be found until the person agrees to share it (signon.relying).
    home = needs_identity(request.user)
    context = {"page": page, "rows": rows, "identity_node": home}
    return render(request, "portal/wallet.html", context)


def _licence_page(
    request: HttpRequest,
    licence: Licence,
    *,
    status: int = 200,
    error: dict[str, Any] | None = None,
) -> HttpResponse:
    events = Paginator(events_of(licence), EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "licence": licence,
        "status": effective_status(licence),
        "face_rows": face_rows(licence),
        "validity": validity(licence.valid_from, licence.valid_until),
        "qr": licence_qr(licence),
        "verify_link": verify_url(licence.token),
        "seal_image": seal_image(licence.seal),
        "events": events,
        "event_rows": event_rows(events.object_list, me=request.user),
        "error": error,
    }
    return render(request, "portal/licence.html", context, status=status)


@login_required
@require_safe
def licence_detail(request: HttpRequest, identifier: str) -> HttpResponse:
    """One licence of my wallet: its face, QR code, seal, download, and its history."""
    return _licence_page(request, get_wallet_licence(request.user, identifier))


@login_required
@require_safe
def licence_pdf(request: HttpRequest, identifier: str) -> HttpResponse:
    """下载 the licence as a PDF (logged as a download)."""
    licence = get_wallet_licence(request.user, identifier)
    return pdf_response(request, licence) or _licence_page(
        request, licence, status=503, error=PDF_UNAVAILABLE
    )


def _signature_text(result: Recognition) -> str:
    if result.signature_ok:
        source = "本节点的电子印章" if result.local else "节点目录公布的签发节点印章公钥"
        return f"有效（已用{source}离线验签）"
    return "无效" if result.outcome == "tampered" else "未核验"


def _status_text(result: Recognition) -> str:
    if result.local:
        return "已向签发机构查询撤销状态" if result.status_checked else "未能查询撤销状态"
    if result.status_checked:
        return f"已向签发节点（{result.node_label}）查询撤销状态：{result.status_label}"
    return "暂无法核实：未能向签发节点查询撤销状态"


def recognition_context(result: Recognition) -> dict[str, Any]:
    """The outcome of /verify/ as the page shows it, for a licence of this node or of
    another: the issuing node, the signature check, the status as its issuer gives it, and
    only the token's minimal face."""
    rows: list[tuple[str, str]] = []
    if result.signature_ok:
        rows = [
            ("证照类型", result.licence_type_name or "—"),
            ("持证主体", result.holder_name_masked or "—"),
            ("持证主体代码", result.holder_masked or "—"),
            ("签发机构", result.issuer_name or "—"),
            ("有效期", validity(result.valid_from, result.valid_until)),
            ("电子证照标识", result.identifier or "—"),
        ]
    elif result.identifier:
        rows = [("电子证照标识", result.identifier)]
    return {
        "outcome": result.outcome,
        "classes": f"verdict-{result.outcome}",
        "label": result.label,
        "symbol": OUTCOME_SYMBOLS[result.outcome],
        "advice": OUTCOME_ADVICE[result.outcome],
        "reason": result.reason,
        "code": result.code,
        "node": result.node_label if result.node_id and not result.local else "",
        "node_name": result.node_name,
        "signature": _signature_text(result),
        "revocation": _status_text(result),
        "checked_at": result.checked_at,
        "face_rows": rows,
    }


@never_cache
@require_safe
def verify(request: HttpRequest) -> HttpResponse:
    """电子证照核验, public: what the QR code opens (`?t=<token>`), or a form to paste a
    token. A licence of any node of the federation verifies here (`licences.recognition`).
    Shows the outcome in words, symbol and colour, the reason, the issuing node, the
    signature check, the status as the issuer gives it, and the token's minimal face only."""
    form = VerifyTokenForm(request.GET if "t" in request.GET else None)
    result = None
    status = 200
    if form.is_bound:
        throttle_anonymous_verification(request)
        if form.is_valid():
            outcome = verify_token(form.cleaned_data["t"], actor=request.user, channel="page")
            result = recognition_context(outcome)
            form = VerifyTokenForm()
        else:
            status = 422
    return render(request, "portal/verify.html", {"form": form, "result": result}, status=status)
