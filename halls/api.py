"""JSON endpoints of the service halls: the list, and one hall with its windows and what
they receive. Public, like the catalog; a constant number of queries."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router

from core.api import paginated
from core.schemas import ProblemOut
from halls import selectors
from halls.models import ServiceHall
from halls.schemas import HallOut, HallRowOut

router = Router(tags=["办事大厅"])


@router.get("/halls", response=list[HallRowOut], summary="办事大厅列表（分页）")
@paginated
def list_halls(request: HttpRequest) -> QuerySet[ServiceHall]:
    return selectors.list_halls()


@router.get(
    "/halls/{code}",
    response={200: HallOut, 404: ProblemOut},
    summary="办事大厅详情：地址、办公时间、电话、窗口及可办理的事项",
)
def get_hall(request: HttpRequest, code: str) -> dict[str, Any]:
    hall = selectors.get_hall(code)
    windows = selectors.hall_windows(hall)
    groups = selectors.received_by_hall(windows)
    return {
        **{f: getattr(hall, f) for f in ("code", "name", "kind", "address", "phone", "directions")},
        "get_kind_display": hall.get_kind_display(),
        "hours_lines": hall.hours_lines(),
        "division": hall.division,
        "organisation": hall.organisation,
        "window_count": len(windows),
        "windows": [
            {
                "id": w.pk,
                "number": w.number,
                "name": w.name,
                "organisation": w.organisation,
                "lists": list(w.lists.all()),
                "items": [i.code for i in w.items.all()],
            }
            for w in windows
        ],
        "received": [
            {"item_list": g.item_list, "windows": g.windows, "items": g.items} for g in groups
        ],
    }
