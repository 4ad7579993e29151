"""The person or company a sharing call is about."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from core.exceptions import RuleViolation
from core.personal_data import lookup_hash, mask_id_number
from core.validators import normalize_id_number, normalize_uscc

PERSON, COMPANY = "person", "company"


@dataclass(frozen=True)
class Subject:
    """The person or company a call is about: its kind and checked code. Only the keyed
    hash and the masked code are ever stored."""

    kind: str
    code: str

    @property
    def hash(self) -> str:
        return lookup_hash(self.code)

    @property
    def masked(self) -> str:
        if self.kind == PERSON:
            return mask_id_number(self.code)
        return self.code[:8] + "****" + self.code[-2:]


def subject_of(kind: str, code: str) -> Subject:
    """A checked subject; a bad code is refused with the validators' own code."""
    try:
        if kind == PERSON:
            return Subject(kind, normalize_id_number(code))
        if kind == COMPANY:
            return Subject(kind, normalize_uscc(code))
    except ValidationError as exc:
        raise RuleViolation(
            exc.code or "subject_invalid", exc.messages[0], field="subject"
        ) from exc
    raise RuleViolation("subject_kind_unknown", f"未知的信息主体类型：{kind}", field="subject_kind")
