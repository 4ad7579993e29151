"""The citizen portal's pages: parse the request, call catalog selectors, render.

No business rules live here. Every listing issues a constant number of queries whatever the
number of rows (the selectors join and prefetch what the templates show). A code that names
nothing gives the Chinese 404 page with the selector's message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ParamSpec

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from catalog.models import ItemList, ItemVersion, ListVersion, Scope, ServiceItem
from catalog.selectors import (
    browse_facets,
    current_list_version,
    current_version_number,
    current_version_of,
    diff_list_versions,
    filter_item_versions,
    filter_zone_entries,
    form_fields_of,
    get_list,
    get_list_version,
    item_version,
    item_versions,
    list_entries,
    list_entry_counts,
    lists_with_current_version,
    member_name,
    node_display_name,
    published_list_versions,
    regional_scheme_names,
    regional_zone_modes,
    regional_zone_versions,
    zone_item_counts,
    zone_lists,
    zone_source_of,
    zone_sources,
)
from portal.context_processors import ELDER_MODE_COOKIE
from portal.forms import (
    ElderModeForm,
    ItemFilterForm,
    ListDiffForm,
    RegionalZoneFilterForm,
    ZoneFilterForm,
)

ITEMS_PER_PAGE = 20
ZONE_ENTRIES_PER_PAGE = 50
ELDER_MODE_MAX_AGE = 365 * 24 * 3600

P = ParamSpec("P")


@dataclass(frozen=True)
class Zone:
    """A 通办专区 as the portal presents it."""

    scope: str
    title: str
    summary: str

    @property
    def url(self) -> str:
        return reverse("portal:zone", kwargs={"scope": self.scope})


ZONES = {
    Scope.CROSS_PROVINCE: Zone(
        Scope.CROSS_PROVINCE,
        "跨省通办专区",
        "全国跨省通办事项：在本省办理外省事项，或在外省办理本省事项，不必往返奔波。",
    ),
    Scope.REGIONAL: Zone(
        Scope.REGIONAL,
        "区域通办专区",
        "区域协作机制各成员地区之间异地办理的事项，在成员地区任一窗口或网上即可办理。",
    ),
    Scope.IN_PROVINCE: Zone(
        Scope.IN_PROVINCE,
        "省内通办专区",
        "在省内任一市、县（区）办理其他市、县（区）的事项，就近办、一次办。",
    ),
}


@dataclass(frozen=True)
class ZoneSummary:
    """A zone on the home page: how many items it offers, under which regional schemes."""

    zone: Zone
    count: int
    schemes: list[str]


@dataclass(frozen=True)
class ListRow:
    """A list on the lists page with its version in force and that version's size."""

    item_list: ItemList
    version: ListVersion | None
    count: int


def _not_found(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "portal/not_found.html", {"message": message}, status=404)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The node's 404 page (handler404): in Chinese, with the way back."""
    return _not_found(request, "您访问的页面不存在，可能已被移动或删除。")


# Home and zones ------------------------------------------------------------------------


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """首页: the three zones with their item counts, search, browse entries and the lists."""
    lists = lists_with_current_version()
    counts = zone_item_counts()
    zones = [
        ZoneSummary(
            zone=zone,
            count=counts.get(scope, 0),
            schemes=_scheme_names(lst for lst, _ in lists if lst.scope == scope),
        )
        for scope, zone in ZONES.items()
    ]
    context = {
        "zones": zones,
        "lists": lists,
        "facets": browse_facets(),
    }
    return render(request, "portal/home.html", context)


def _scheme_names(lists: Iterable[ItemList]) -> list[str]:
    return list(dict.fromkeys(lst.scheme.name for lst in lists if lst.scheme is not None))


@dataclass(frozen=True)
class ZoneRow:
    """An item of the regional zone, shaped like a list entry for the entries table: its
    version in force, the modes it offers in the zone, and, for an item of another member
    node, that node's name."""

    item_version: ItemVersion
    modes: list[str]
    node_name: str = ""

    @property
    def item(self) -> ServiceItem:
        return self.item_version.item


@require_safe
def zone(request: HttpRequest, scope: str) -> HttpResponse:
    """通办专区: the items of the zone's lists in force, filterable by theme and audience;
    the regional zone lists the items of every member node (`regional_zone`)."""
    if scope not in ZONES:
        return _not_found(request, f"没有“{scope}”这个通办专区。")
    if scope == Scope.REGIONAL:
        return regional_zone(request)
    facets = browse_facets()
    form = ZoneFilterForm(request.GET, facets=facets)
    form.is_valid()
    values = form.valid_values()
    entries = filter_zone_entries(scope, theme=values.get("theme"), audience=values.get("audience"))
    lists = zone_lists(scope)
    page = Paginator(entries, ZONE_ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "zone": ZONES[Scope(scope)],
        "schemes": _scheme_names(lst for lst, _ in lists),
        "lists": lists,
        "form": form,
        "show_list": len(lists) > 1,
        "page": page,
        "rows": page.object_list,
    }
    return render(request, "portal/zone.html", context)


def regional_zone(request: HttpRequest) -> HttpResponse:
    """区域通办专区: the items of this node and of every other member node (cached from the
    federation, `catalog.zone`), each naming the node that handles it, filterable by theme,
    audience and member province, with when each member's data were last updated."""
    sources = zone_sources()
    local_name = node_display_name(settings.NODE_DIVISION, settings.NODE_NAME)
    members = [(settings.NODE_ID, local_name), *((s.node, s.name) for s in sources.values())]
    form = RegionalZoneFilterForm(request.GET, facets=browse_facets(), members=members)
    form.is_valid()
    values = form.valid_values()
    versions = regional_zone_versions(
        theme=values.get("theme"), audience=values.get("audience"), node=form.node_filter()
    )
    page = Paginator(versions, ZONE_ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    names = {node: source.name for node, source in sources.items()}
    modes = regional_zone_modes()
    rows = [
        ZoneRow(version, modes.get(version.item.code, []), _node_name(version.item, names))
        for version in page.object_list
    ]
    lists = zone_lists(Scope.REGIONAL)
    context = {
        "zone": ZONES[Scope.REGIONAL],
        "schemes": list(
            dict.fromkeys([*_scheme_names(lst for lst, _ in lists), *regional_scheme_names()])
        ),
        "lists": lists,
        "form": form,
        "show_list": False,
        "page": page,
        "rows": rows,
        "local_name": local_name,
        "sources": list(sources.values()),
    }
    return render(request, "portal/zone.html", context)


def _node_name(item: ServiceItem, names: dict[str, str]) -> str:
    """The name of the member node that handles an item; empty for this node's own."""
    node = item.organisation.node
    return names.get(node, node) if node else ""


# Items -----------------------------------------------------------------------------------


@require_safe
def item_search(request: HttpRequest) -> HttpResponse:
    """事项查询: browse and search every item in force, with filters and pages."""
    form = ItemFilterForm(request.GET, facets=browse_facets())
    form.is_valid()
    versions = filter_item_versions(form.item_filter())
    context = {
        "form": form,
        "page": Paginator(versions, ITEMS_PER_PAGE).get_page(request.GET.get("page")),
    }
    return render(request, "portal/items.html", context)


@require_safe
def item_guide(request: HttpRequest, code: str) -> HttpResponse:
    """办事指南 of the version in force."""
    version = current_version_of(code)
    return _render_guide(request, version, is_current=True)


@require_safe
def item_version_guide(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """办事指南 of one published version, current or not."""
    version = item_version(code, number)
    return _render_guide(
        request, version, is_current=current_version_number(code) == version.number
    )


def _render_guide(request: HttpRequest, version: ItemVersion, *, is_current: bool) -> HttpResponse:
    # An item of another member node (regional zone): name the node that handles it and
    # when its copy here was last synced.
    source = zone_source_of(version.item)
    node = version.item.organisation.node
    handling_node = "" if not node else source.name if source is not None else member_name(node)
    context = {
        "version": version,
        "item": version.item,
        "is_current": is_current,
        "materials": list(version.materials.all()),
        "form_fields": form_fields_of(version),
        "source": source,
        "handling_node": handling_node,
    }
    return render(request, "portal/item_guide.html", context)


@require_safe
def item_history(request: HttpRequest, code: str) -> HttpResponse:
    """版本记录 of an item: every published version with its change note."""
    versions = list(item_versions(code))
    context = {
        "item_name": versions[0].name if versions else code,
        "code": code,
        "versions": versions,
        "current_number": current_version_number(code),
    }
    return render(request, "portal/item_versions.html", context)


# Lists -----------------------------------------------------------------------------------


@require_safe
def lists(request: HttpRequest) -> HttpResponse:
    """事项清单: every list with the version in force and its size."""
    rows = lists_with_current_version()
    counts = list_entry_counts([v for _, v in rows if v is not None])
    context = {
        "rows": [
            ListRow(item_list=lst, version=v, count=counts.get(v.pk, 0) if v else 0)
            for lst, v in rows
        ]
    }
    return render(request, "portal/lists.html", context)


@require_safe
def list_detail(request: HttpRequest, code: str) -> HttpResponse:
    """A list's version in force and its version history with change notes."""
    item_list = get_list(code)
    return _render_list(request, item_list, current_list_version(item_list), is_current=True)


@require_safe
def list_version_detail(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """One published version of a list."""
    item_list = get_list(code)
    version = get_list_version(item_list, number)
    current = current_list_version(item_list)
    return _render_list(
        request, item_list, version, is_current=current is not None and current.pk == version.pk
    )


def _render_list(
    request: HttpRequest, item_list: ItemList, version: ListVersion | None, *, is_current: bool
) -> HttpResponse:
    history = list(published_list_versions(item_list))
    context = {
        "item_list": item_list,
        "version": version,
        "is_current": is_current,
        "entries": list(list_entries(version)) if version else [],
        # Each published version with the one before it, which it can be compared with.
        "history": list(zip(history, [*history[1:], None], strict=True)),
    }
    return render(request, "portal/list_detail.html", context)


@require_safe
def list_diff(request: HttpRequest, code: str) -> HttpResponse:
    """版本比较: items added, removed and changed between two versions of a list."""
    item_list = get_list(code)
    versions = {v.number: v for v in published_list_versions(item_list)}
    form = ListDiffForm(request.GET, numbers=list(versions))
    diff = None
    if form.is_valid():
        old, new = form.cleaned_data["from_version"], form.cleaned_data["to_version"]
        if old is not None and new is not None:
            diff = diff_list_versions(versions[old], versions[new])
    context = {"item_list": item_list, "form": form, "diff": diff, "version_count": len(versions)}
    return render(request, "portal/list_diff.html", context)


# 长辈模式 ---------------------------------------------------------------------------------


@require_POST
def elder_mode(request: HttpRequest) -> HttpResponse:
    """Switch 长辈模式 on or off with a cookie, then go back to the page the button was on
    (a path of this site only; anything else goes to the home page)."""
    form = ElderModeForm(request.POST)
    target = reverse("portal:home")
    if not form.is_valid():
        return HttpResponseRedirect(target)
    next_url = form.cleaned_data["next"]
    if (
        next_url.startswith("/")
        and not next_url.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        target = next_url
    response = HttpResponseRedirect(target)
    response.set_cookie(
        ELDER_MODE_COOKIE,
        form.cleaned_data["elder_mode"],
        max_age=ELDER_MODE_MAX_AGE,
        samesite="Lax",
        httponly=True,
        secure=request.is_secure(),
    )
    return response
