"""Values every portal page needs: the node's name, whether 长辈模式 is on, the main
navigation with the entry of the current section marked, and who is signed in."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from accounts.models import Person
from cases.selectors import is_staff_member
from core.personal_data import mask_name

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
        {"items", "item_guide", "item_versions", "item_version", "apply"},
    ),
    ("事项清单", "portal:lists", {}, {"lists", "list_detail", "list_version", "list_diff"}),
    ("一件事", "portal:bundles", {}, {"bundles", "bundle_guide", "bundle_apply"}),
    ("办事大厅", "portal:halls", {}, {"halls", "hall"}),
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


class Account:
    """The signed-in user as the header shows them. Each value is read on first use only,
    so a page that does not show it costs no query."""

    def __init__(self, user: Any) -> None:
        self.user = user

    @cached_property
    def label(self) -> str:
        person = Person.objects.filter(user=self.user).only("name").first()
        if person is not None:
            return mask_name(person.name)
        # Staff are people too: their name, as the console's header shows it.
        return str(self.user.get_full_name() or self.user.get_username())

    @cached_property
    def unread(self) -> int:
        return int(self.user.notifications.filter(read_at__isnull=True).count())

    @cached_property
    def is_staff_member(self) -> bool:
        return is_staff_member(self.user)


def portal(request: HttpRequest) -> dict[str, Any]:
    """The context every template gets (registered in settings.TEMPLATES)."""
    user = getattr(request, "user", None)
    return {
        "node_name": settings.NODE_NAME,
        "elder_mode": request.COOKIES.get(ELDER_MODE_COOKIE) == "1",
        "nav_links": _nav(request),
        "account": Account(user) if user is not None and user.is_authenticated else None,
    }
