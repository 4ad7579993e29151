"""Values every portal page needs: the node's name, whether 长辈模式 is on, and the main
navigation with the entry of the current section marked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

ELDER_MODE_COOKIE = "elder_mode"


@dataclass(frozen=True)
class NavLink:
    """One entry of the main navigation; `current` is "page", "true" (a page inside the
    section) or "" — the value of its aria-current attribute."""

    label: str
    url: str
    current: str


# (label, URL name, its kwargs, the URL names that belong to the section)
_NAV: list[tuple[str, str, dict[str, str], set[str]]] = [
    ("首页", "portal:home", {}, {"home"}),
    ("跨省通办", "portal:zone", {"scope": "cross_province"}, set()),
    ("区域通办", "portal:zone", {"scope": "regional"}, set()),
    ("省内通办", "portal:zone", {"scope": "in_province"}, set()),
    (
        "事项查询",
        "portal:items",
        {},
        {"items", "item_guide", "item_versions", "item_version"},
    ),
    ("事项清单", "portal:lists", {}, {"lists", "list_detail", "list_version", "list_diff"}),
]


def _nav(request: HttpRequest) -> list[NavLink]:
    match = getattr(request, "resolver_match", None)
    name = match.url_name if match and match.namespace == "portal" else None
    kwargs = match.kwargs if match else {}
    links = []
    for label, url_name, url_kwargs, section in _NAV:
        url = reverse(url_name, kwargs=url_kwargs)
        if url == request.path:
            current = "page"
        elif name in section or (url_kwargs and name == "zone" and kwargs == url_kwargs):
            current = "true"
        else:
            current = ""
        links.append(NavLink(label, url, current))
    return links


def portal(request: HttpRequest) -> dict[str, Any]:
    """The context every template gets (registered in settings.TEMPLATES)."""
    return {
        "node_name": settings.NODE_NAME,
        "elder_mode": request.COOKIES.get(ELDER_MODE_COOKIE) == "1",
        "nav_links": _nav(request),
    }
