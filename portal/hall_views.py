"""The public pages of the service halls: the list of halls, and one hall — what its
windows receive (grouped by list), where it is, when it is open, whom to call."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from catalog.models import Mode
from halls import selectors

MODE_LABELS = dict(Mode.choices)


@require_safe
def halls(request: HttpRequest) -> HttpResponse:
    """办事大厅: every service hall of the node, by division. One query."""
    return render(request, "portal/halls.html", {"halls": list(selectors.list_halls())})


@require_safe
def hall_detail(request: HttpRequest, code: str) -> HttpResponse:
    """One hall: where, when, whom to call, its windows and what they receive."""
    hall = selectors.get_hall(code)
    windows = selectors.hall_windows(hall)
    groups = selectors.received_by_hall(windows)
    for group in groups:
        for item in group.items:
            item.modes = [MODE_LABELS.get(m, m) for m in item.modes]
    context = {"hall": hall, "windows": windows, "groups": groups}
    return render(request, "portal/hall_detail.html", context)
