"""Reads of accounts shared by the apps above: who holds which staff role where."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User

from accounts.models import StaffRole


def staff_user(actor: Any, roles: Iterable[str], organisations: Iterable[Any]) -> User | None:
    """The signed-in user behind `actor` if they hold one of `roles` in one of
    `organisations` (instances or ids); None otherwise. Every service that lets staff act
    for an organisation asks this one question."""
    if not isinstance(actor, User):
        return None
    ids = [getattr(o, "pk", o) for o in organisations]
    held = StaffRole.objects.filter(user=actor, role__in=list(roles), organisation_id__in=ids)
    return actor if held.exists() else None
