"""The kinds of things that can be rated (评价对象), a strict registry (core/registry.py).

An app whose service events are rated registers, in its `AppConfig.ready()`, a resolver
`resolve(reference, event) -> RatedService` under its kind: the ratings app registers
`case` itself (it stands above cases); the hotline registers `ticket`. A resolver raises
`RuleViolation` for an unknown reference or event, or an event that has not happened."""

from __future__ import annotations

from collections.abc import Callable

from core.exceptions import RuleViolation
from core.registry import Registry
from ratings.models import RatedService

Resolver = Callable[[str, str], RatedService]

SUBJECT_KINDS: Registry[Resolver] = Registry("rated subject kind")


def register_subject_kind(kind: str, resolve: Resolver) -> None:
    SUBJECT_KINDS.register(kind, resolve)


def resolve(kind: str, reference: str, event: str) -> RatedService:
    resolver = SUBJECT_KINDS.get(kind)
    if resolver is None:
        raise RuleViolation(
            "rating_subject_unknown", f"不能评价的对象类别：{kind}", field="subject_kind"
        )
    return resolver(reference, event)
