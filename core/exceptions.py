"""The one error type business rules raise.

Services raise `RuleViolation` with a stable machine code and a Chinese message; pages show
the message, the API answers an RFC 9457 problem document carrying the code. `details`
names what exactly was wrong (a field, a row) so a long import can report every problem at
once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where, and why (in Chinese)."""

    reason: str
    field: str | None = None
    row: int | None = None
    code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class RuleViolation(Exception):
    """A request that breaks a business rule; nothing was changed."""

    status = 422

    def __init__(
        self,
        code: str,
        message: str,
        *,
        problems: list[Problem] | None = None,
        status: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # `field`: the one input the refusal is about, so a form shows it there.
        self.problems: list[Problem] = problems or (
            [Problem(message, field=field)] if field else []
        )
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        lines = [self.message]
        for p in self.problems:
            where = []
            if p.row is not None:
                where.append(f"第 {p.row} 行")
            if p.field:
                where.append(f"字段 {p.field}")
            lines.append(f"  - {'，'.join(where) + '：' if where else ''}{p.reason}")
        return "\n".join(lines)


class NotFound(RuleViolation):
    """The thing asked for does not exist (or is not visible to the caller)."""

    status = 404


@dataclass
class ProblemList:
    """Collects problems while validating many rows, then raises them together."""

    problems: list[Problem] = field(default_factory=list)

    def add(
        self,
        reason: str,
        *,
        field: str | None = None,
        row: int | None = None,
        code: str | None = None,
    ) -> None:
        self.problems.append(Problem(reason=reason, field=field, row=row, code=code))

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self, code: str, message: str) -> None:
        if self.problems:
            raise RuleViolation(code, message, problems=list(self.problems))
