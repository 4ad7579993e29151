"""What every console page's frame needs: the viewer's staff roles (set on the request by
`console.views.staff_only`) and the menu entries they open."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.models import Role


def staff(request: HttpRequest) -> dict[str, Any]:
    roles = list(getattr(request, "staff_roles", []))
    if not roles:
        return {}
    return {
        "staff_roles": roles,
        "is_clerk": any(r.role == Role.WINDOW_CLERK for r in roles),
        "may_see_coverage": any(r.role in (Role.SUPERVISOR, Role.ORG_ADMIN) for r in roles),
        # The hall's staff: its clerks, and the organisations' admins and supervisors.
        "may_see_consultations": any(
            r.role in (Role.WINDOW_CLERK, Role.ORG_ADMIN, Role.SUPERVISOR) for r in roles
        ),
    }
