"""Result documents (办理结果文书): the sealed electronic form of a decision that is not a
licence of the catalog — a 证明, 批文 or 报告 without a licence type of its own, and every
refusal (不予受理, 不予许可 / 不予办理 with reasons).

A result document is a licence of the library (`Licence`) of one of the platform's own
document types below, so it has everything a licence has: the identifier, the seal over
the canonical form, the QR token, the PDF, the 证照夹 entry, verification on every node.
The types are the platform's, the same on every node; they are made on first use and are
not part of the catalog exchange (catalog/transfer skips them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from catalog.models import PLATFORM_DEFINING_BODY, LicenceType

# The defining body of the platform's document types: a 统一社会信用代码 with its check
# character; type codes are it followed by a 3-digit sequence (GB/T 36904).
DEFINING_BODY = PLATFORM_DEFINING_BODY
DEFINING_BODY_NAME = "通办平台"

FACE_FIELDS: list[dict[str, Any]] = [
    {"name": "item_name", "label": "事项名称", "type": "text", "max_length": 200},
    {"name": "result_name", "label": "办理结果", "type": "text", "required": False},
    {"name": "case_number", "label": "办件编号", "type": "text", "max_length": 40},
    {"name": "decision", "label": "决定", "type": "text", "max_length": 40},
    {"name": "reasons", "label": "理由", "type": "textarea", "required": False},
    {"name": "decided_on", "label": "决定日期", "type": "date"},
]


@dataclass(frozen=True)
class DocumentType:
    key: str
    sequence: str
    name: str

    @property
    def code(self) -> str:
        return f"{DEFINING_BODY}{self.sequence}"


CERTIFICATE = DocumentType("certificate", "001", "办理结果证明")
APPROVAL = DocumentType("approval", "002", "批准文书")
REPORT = DocumentType("report", "003", "鉴定报告")
NOT_ACCEPTED = DocumentType("not_accepted", "004", "不予受理决定书")
DENIED = DocumentType("denied", "005", "不予行政许可决定书")
NOT_GRANTED = DocumentType("not_granted", "006", "不予办理决定书")

DOCUMENT_TYPES = {
    t.key: t for t in (CERTIFICATE, APPROVAL, REPORT, NOT_ACCEPTED, DENIED, NOT_GRANTED)
}
DOCUMENT_CODES = frozenset(t.code for t in DOCUMENT_TYPES.values())
REFUSALS = frozenset({NOT_ACCEPTED.code, DENIED.code, NOT_GRANTED.code})


def document_licence_type(document: DocumentType) -> LicenceType:
    """The licence type of `document`, made the first time it is needed (idempotent)."""
    licence_type, _ = LicenceType.objects.get_or_create(
        code=document.code,
        defaults={
            "name": document.name,
            "defining_organisation": DEFINING_BODY_NAME,
            "holder_kind": "both",
            "issuer_kind": "作出决定的行政机关或公共服务机构",
            "face_fields": FACE_FIELDS,
            "valid_years": None,
            "allow_multiple": True,
        },
    )
    return licence_type


def is_result_document(licence_type: LicenceType) -> bool:
    return licence_type.code in DOCUMENT_CODES


def is_refusal(licence_type: LicenceType) -> bool:
    return licence_type.code in REFUSALS
