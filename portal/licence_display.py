"""What the licence pages show, as template context: the QR code and the seal as inline SVG,
the licence's events in words, the verification outcome with its symbol, and the minimal
face a verifier sees. Shared by the portal's 证照夹 and /verify/ and by the console; no rule
is decided here (`licences.services` verifies, `licences.selectors` scopes).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.safestring import SafeString, mark_safe

from core.calendar import chinese_date
from licences.models import Licence, LicenceEvent, Seal
from licences.rendering import FontMissing, qr_svg, render_licence_pdf, verify_url
from licences.seal_image import label_for, seal_svg
from licences.selectors import face_for
from licences.services import Verification, record_download

logger = logging.getLogger(__name__)

# A word and a symbol for every outcome, never a colour alone (WCAG 1.4.1).
OUTCOME_SYMBOLS = {
    "valid": "✓",
    "tampered": "✗",
    "malformed": "?",
    "revoked": "⊘",
    "expired": "!",
    "unknown_issuer": "?",
    "unconfirmed": "?",
}
OUTCOME_ADVICE = {
    "valid": "证照真实有效，可以作为办事依据。",
    "tampered": "请勿采信：令牌内容与签发机构的电子签名不符，可能被篡改或伪造。",
    "malformed": "无法核验：输入的内容不是完整的电子证照二维码令牌或证照标识，可能扫描或复制不完整，"
    "请重新扫描或核对后再试。这不表示证照被篡改。",
    "revoked": "请勿采信：该证照已不再有效，请持证人向签发机构了解情况。",
    "expired": "请勿采信：该证照已超过有效期，请持证人申请换发。",
    "unknown_issuer": "无法确认真伪：签名所用的印章不在本节点信任的公钥中，请向签发地核实。",
    # Another node's licence whose signature holds but whose issuer could not confirm its
    # status: amber like an unknown issuer, never green.
    "unconfirmed": "暂不能作为办事依据：证照的电子签名真实，但其现在是否有效（有无撤销）尚未得到"
    "签发节点确认，请稍后再次核验或向签发地核实。",
}
CHANNEL_LABELS = {"page": "核验页面", "api": "核验接口", "federation": "其他节点"}


def licence_qr(licence: Licence) -> SafeString:
    return qr_svg(verify_url(licence.token), label=f"{licence.licence_type.name}核验二维码")


def seal_image(seal: Seal, *, size: int = 140) -> SafeString:
    """The seal as the PDF draws it (organisation's name on the arc, purpose below)."""
    name = seal.organisation.name
    # seal_svg escapes every text it draws.
    return mark_safe(seal_svg(name, label_for(seal.name, name), size=size))


def validity(valid_from: dt.date | str | None, valid_until: dt.date | str | None) -> str:
    """有效期 in words: 2026年1月2日至2027年1月2日, or …起长期有效."""

    def chinese(day: dt.date | str) -> str:
        return chinese_date(dt.date.fromisoformat(day) if isinstance(day, str) else day)

    if not valid_from:
        return "—"
    if not valid_until:
        return f"{chinese(valid_from)}起长期有效"
    return f"{chinese(valid_from)}至{chinese(valid_until)}"


@dataclass(frozen=True)
class EventRow:
    """One line of a licence's history: when, what, with which outcome, by whom."""

    at: dt.datetime
    kind: str
    kind_label: str
    outcome: str
    outcome_label: str
    actor: str
    note: str


def _note(event: LicenceEvent) -> str:
    detail: dict[str, Any] = event.detail or {}
    match event.kind:
        case LicenceEvent.Kind.ISSUED:
            return f"依办件 {detail.get('case', '')} 签发" if detail.get("case") else ""
        case LicenceEvent.Kind.VERIFIED:
            channel = CHANNEL_LABELS.get(str(detail.get("channel", "")), "")
            reason = str(detail.get("reason", ""))
            return "；".join(part for part in (f"经{channel}" if channel else "", reason) if part)
        case LicenceEvent.Kind.USED:
            return f"代替办件 {detail.get('case', '')} 的申请材料（免提交）"
        case LicenceEvent.Kind.DOWNLOADED:
            return "下载版式文件（PDF）"
        case LicenceEvent.Kind.REVOKED:
            return f"撤销原因：{detail.get('reason', '')}"
        case LicenceEvent.Kind.SUPERSEDED:
            return f"已换发为 {detail.get('by', '')}"
    return ""


def event_rows(events: Iterable[LicenceEvent], *, me: Any = None) -> list[EventRow]:
    """The events in words; the viewer's own acts say 本人 (a citizen's account name is a
    hash, not something they would recognise)."""
    rows = []
    for event in events:
        actor = event.actor_label
        if me is not None and event.actor_id is not None and event.actor_id == me.pk:
            actor = "本人"
        rows.append(
            EventRow(
                at=event.at,
                kind=event.kind,
                kind_label=event.get_kind_display(),
                outcome=event.outcome,
                outcome_label=Verification.OUTCOME_LABELS.get(event.outcome, event.outcome),
                actor=actor,
                note=_note(event),
            )
        )
    return rows


def pdf_response(request: HttpRequest, licence: Licence) -> HttpResponse | None:
    """The licence's PDF as a download, the download logged; None if no CJK font is
    installed (the node cannot draw it; nothing is logged then)."""
    try:
        content = render_licence_pdf(licence, face=face_for(licence, request.user))
    except FontMissing:
        logger.exception("licence PDF of %s could not be drawn", licence.identifier)
        return None
    record_download(licence, actor=request.user)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="licence-{licence.serial}.pdf"'
    return response


PDF_UNAVAILABLE: dict[str, Any] = {
    "message": "暂时无法生成版式文件：服务器未安装所需的中文字体。请稍后再试或联系 12345。",
    "problems": [],
}
