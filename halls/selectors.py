"""Reads of service halls, their windows and consultations, shared by the portal, the
console and the API; each issues a constant number of queries whatever the number of rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery

from accounts.models import StaffRole
from catalog.models import (
    ItemList,
    ItemVersion,
    ListEntry,
    PublicationStatus,
    Scope,
    ServiceItem,
    ZoneSource,
)
from catalog.selectors import current_list_versions, today
from core.exceptions import NotFound
from core.selectors import unknown
from halls.models import Consultation, ServiceHall, Window

# Halls -------------------------------------------------------------------------------------


def list_halls() -> QuerySet[ServiceHall]:
    """Every hall, by division, with its division, organisation and number of windows."""
    return ServiceHall.objects.select_related("division", "organisation").annotate(
        window_count=Count("windows")
    )


def get_hall(code: str) -> ServiceHall:
    hall = ServiceHall.objects.select_related("division", "organisation").filter(code=code).first()
    if hall is None:
        raise NotFound("hall_not_found", f"服务大厅 {code} 不存在")
    return hall


def hall_windows(hall: ServiceHall) -> list[Window]:
    """The hall's windows with what they receive (lists and single items): three queries."""
    return list(
        hall.windows.select_related("organisation")
        .prefetch_related(Prefetch("lists", ItemList.objects.order_by("scope", "code")), "items")
        .order_by("number")
    )


@dataclass
class ReceivedItem:
    code: str
    name: str
    organisation: str
    modes: list[str]
    windows: list[str] = field(default_factory=list)


@dataclass
class ReceivedGroup:
    """What a hall receives from one list in force (or, `item_list` None, single items)."""

    item_list: ItemList | None
    windows: list[str]
    items: list[ReceivedItem]

    @property
    def title(self) -> str:
        return self.item_list.name if self.item_list else "单独入驻的事项"


def received_by_hall(windows: list[Window], *, on: dt.date | None = None) -> list[ReceivedGroup]:
    """What the windows receive, grouped by list: each list's entries in force, then the
    items named on windows one by one. Two queries over `hall_windows`' result."""
    lists: dict[int, ItemList] = {}
    list_windows: dict[int, list[str]] = {}
    item_windows: dict[int, list[str]] = {}
    for window in windows:
        for item_list in window.lists.all():
            lists[item_list.pk] = item_list
            list_windows.setdefault(item_list.pk, []).append(window.label)
        for item in window.items.all():
            item_windows.setdefault(item.pk, []).append(window.label)
    groups: list[ReceivedGroup] = []
    if lists:
        entries = (
            ListEntry.objects.filter(
                list_version__in=current_list_versions(on), list_version__item_list__in=list(lists)
            )
            .select_related("item__organisation", "item_version", "list_version")
            .order_by("position", "id")
        )
        by_list: dict[int, list[ReceivedItem]] = {}
        for entry in entries:
            by_list.setdefault(entry.list_version.item_list_id, []).append(
                ReceivedItem(
                    code=entry.item.code,
                    name=entry.item_version.name if entry.item_version else entry.item.code,
                    organisation=entry.item.organisation.name,
                    modes=list(entry.modes or []),
                )
            )
        for pk, item_list in sorted(lists.items(), key=lambda p: (p[1].scope, p[1].code)):
            groups.append(ReceivedGroup(item_list, list_windows[pk], by_list.get(pk, [])))
    if item_windows:
        in_force = Q(status=PublicationStatus.PUBLISHED, effective_from__lte=on or today())
        latest = (
            ItemVersion.objects.filter(in_force, item=OuterRef("item"))
            .order_by("-effective_from", "-number")
            .values("pk")[:1]
        )
        versions = (
            ItemVersion.objects.filter(
                in_force, pk=Subquery(latest), item_id__in=list(item_windows)
            )
            .select_related("item__organisation")
            .order_by("item__code")
        )
        singles = [
            ReceivedItem(
                code=v.item.code,
                name=v.name,
                organisation=v.item.organisation.name,
                modes=[],
                windows=item_windows[v.item_id],
            )
            for v in versions
        ]
        if singles:
            groups.append(ReceivedGroup(None, [], singles))
    return groups


# Windows -----------------------------------------------------------------------------------


def window_receives(window: Window, item: ServiceItem, *, on: dt.date | None = None) -> bool:
    """Whether `window` receives `item`: named on the window, or on the version in force of
    a list the window receives. A window receiving a 区域通办 list receives the regional
    zone (decision 64): this node's entries of that list, and another member's item that
    member lists in force (`ZoneSource.offered`)."""
    if window.items.filter(pk=item.pk).exists():
        return True
    if ListEntry.objects.filter(
        item=item,
        list_version__in=current_list_versions(on),
        list_version__item_list__windows=window,
    ).exists():
        return True
    node = item.organisation.node
    if not node or not window.lists.filter(scope=Scope.REGIONAL).exists():
        return False
    source = ZoneSource.objects.filter(node=node).first()
    return source is not None and any(
        entry.get("item") == item.code for entry in source.offered or []
    )


def received_items(windows: list[Window], *, on: dt.date | None = None) -> Q:
    """A filter on item versions (or anything with an `item`) for the items some of
    `windows` receive — the same rule as `window_receives`, for a listing."""
    ids = [w.pk for w in windows]
    own = ListEntry.objects.filter(
        list_version__in=current_list_versions(on), list_version__item_list__windows__in=ids
    ).values("item_id")
    named = ServiceItem.objects.filter(windows__in=ids).values("pk")
    received = Q(item_id__in=own) | Q(item_id__in=named)
    if ItemList.objects.filter(windows__in=ids, scope=Scope.REGIONAL).exists():
        for source in ZoneSource.objects.all():
            codes = [entry.get("item") for entry in source.offered or []]
            received |= Q(item__organisation__node=source.node, item__code__in=codes)
    return received


def windows_of_clerk(user: Any) -> QuerySet[Window]:
    """The windows a clerk is assigned to, with their hall and organisation."""
    if not getattr(user, "is_authenticated", False):
        return Window.objects.none()
    return (
        Window.objects.filter(clerks=user)
        .select_related("hall__division", "organisation")
        .order_by("hall__code", "number")
    )


def get_window(pk: int) -> Window:
    window = Window.objects.select_related("hall__division", "organisation").filter(pk=pk).first()
    if window is None:
        raise NotFound("window_not_found", f"窗口 {pk} 不存在")
    return window


def known_window(pk: int) -> Window:
    """The window named by a request body; `unknown_window` (422) if none is."""
    window = Window.objects.select_related("hall__division", "organisation").filter(pk=pk).first()
    if window is None:
        raise unknown("unknown_window", f"窗口 {pk} 不存在", field="window")
    return window


# Consultations ---------------------------------------------------------------------------


def halls_of_staff(user: Any) -> QuerySet[ServiceHall]:
    """The halls whose staff `user` is: assigned to one of its windows, or holding a staff
    role at the organisation that runs it."""
    if not getattr(user, "is_authenticated", False):
        return ServiceHall.objects.none()
    orgs = StaffRole.objects.filter(user=user).values("organisation_id")
    assigned = Window.objects.filter(clerks=user).values("hall_id")
    return ServiceHall.objects.filter(Q(pk__in=assigned) | Q(organisation_id__in=orgs))


def consultations_for(user: Any, *, window: int | None = None) -> QuerySet[Consultation]:
    """The consultations recorded at the halls whose staff `user` is, newest first."""
    qs = Consultation.objects.filter(window__hall__in=halls_of_staff(user))
    if window is not None:
        qs = qs.filter(window_id=window)
    return qs.select_related("window__hall", "clerk", "item").order_by("-at", "-id")
