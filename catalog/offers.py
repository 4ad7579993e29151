"""Where and how an item is offered to an applicant: the 通办 rules of the catalog, asked
by every entry of a case (portal, window intake, API, a case arriving from another node).

An applicant is served at a **place**: the division of the window that receives the case,
or, online, the division the applicant says they live in. Set against the item's own
division it gives the **scope**:

- inside the owner's division, or in the same city → `local` (本地办理: no 通办 rule);
- another city of the same province → 省内通办 (`in_province`), offered by the province's
  省内通办 list or, failing it, by the 跨省通办 list (what any other province may do, another
  city of the same province may do too);
- another province → 区域通办 (`regional`) where a regional scheme has both provinces as
  members and its list offers the item, else 跨省通办 (`cross_province`).

Away from home, the item must be offered in that scope and **mode**: an availability of
the version in force for the scope and mode that covers the place (inside its divisions,
or the scheme's members; none listed = the whole scope), and an entry naming the mode on a
list in force of that scope (and scheme) — the published 通办 list is the promise, and
the case records which list version made it. The channel must be one of the item's 申报方式.
An item that needs several organisations (an availability in 多地联办) runs as 多地联办
wherever it is applied for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from catalog.models import ItemVersion, ListEntry, ListVersion, Mode, Scope, ServiceItem
from catalog.selectors import current_list_versions
from core.exceptions import RuleViolation
from core.models import Division, division_code_prefix

LOCAL = "local"
SCOPE_CHOICES = [*Scope.choices, (LOCAL, "本地办理")]
# A case received at the owner's own counter, or a window of the same city (一窗受理): not
# one of the three 通办 modes.
WINDOW = "window"
MODE_CHOICES = [*Mode.choices, (WINDOW, "窗口受理")]

# The 申报方式 each channel of a case needs.
CHANNEL_NEEDS = {
    "online": ({"online", "mobile"}, "网上办理"),
    "window": ({"window"}, "窗口办理"),
    "api": ({"window", "online"}, "窗口或网上办理"),
}


@dataclass(frozen=True)
class Offer:
    """How a case is handled: its scope and mode, and the list version that promises it
    (None for a local case, or an item another node owns and lists)."""

    scope: str
    mode: str
    list_version: ListVersion | None


def inside(place: Division, area: Division) -> bool:
    return place.code.startswith(division_code_prefix(area.code))


def scope_of(place: Division, owner: Division, schemes: list[str]) -> list[tuple[str, str]]:
    """How a place may be served for an item of `owner`'s division: (the scope the case
    is in, the scope of the list that may offer it — `regional:<scheme code>` for a
    scheme joining both provinces), most specific first."""
    if inside(place, owner) or place.code[:4] == owner.code[:4]:
        return [(LOCAL, LOCAL)]
    if place.code[:2] == owner.code[:2]:
        return [(Scope.IN_PROVINCE, Scope.IN_PROVINCE), (Scope.IN_PROVINCE, Scope.CROSS_PROVINCE)]
    regional = [(Scope.REGIONAL, f"{Scope.REGIONAL}:{code}") for code in schemes]
    return [*regional, (Scope.CROSS_PROVINCE, Scope.CROSS_PROVINCE)]


def check_channel(item_version: ItemVersion, channel: str) -> None:
    wanted, label = CHANNEL_NEEDS.get(channel, (set(), channel))
    if not wanted & set(item_version.application_channels or []):
        raise RuleViolation(
            "channel_not_offered",
            f"“{item_version.name}”的申报方式不含{label}，请按办事指南所列方式申请",
        )


def offer_for(
    item_version: ItemVersion,
    *,
    place: Division,
    channel: str,
    mode: str | None = None,
    on: dt.date | None = None,
) -> Offer:
    """The scope and mode a case of `item_version` takes when its applicant is served at
    `place` through `channel` (online, window, api); `mode` asks for one. Raises
    `channel_not_offered`, `not_available_here` or `mode_not_offered`."""
    check_channel(item_version, channel)
    item: ServiceItem = item_version.item
    availabilities = list(
        item_version.availabilities.select_related("scheme").prefetch_related(
            "divisions", "scheme__members"
        )
    )
    needs_steps = any(a.mode == Mode.JOINT for a in availabilities)
    schemes = sorted(
        {
            a.scheme.code
            for a in availabilities
            if a.scheme is not None
            and any(inside(place, m) for m in a.scheme.members.all())
            and any(inside(item.division, m) for m in a.scheme.members.all())
        }
    )
    scopes = scope_of(place, item.division, schemes)
    if scopes == [(LOCAL, LOCAL)]:
        local_mode = Mode.JOINT if needs_steps else (Mode.ONLINE if channel == "online" else WINDOW)
        if mode is not None and mode != local_mode:
            raise RuleViolation(
                "mode_not_offered", f"“{item_version.name}”在本地办理，不按所选模式办理"
            )
        return Offer(LOCAL, local_mode, None)
    if mode is not None:
        preference = [mode]
    elif channel == "online":
        preference = [Mode.JOINT, Mode.ONLINE] if needs_steps else [Mode.ONLINE]
    else:
        preference = [Mode.JOINT] if needs_steps else [Mode.PROXY, Mode.JOINT]
    entries = _entries_in_force(item, on)
    offered_elsewhere = False
    for case_scope, wanted in scopes:
        scope, _, scheme = wanted.partition(":")
        for candidate in availabilities:
            if candidate.scope != scope or (scheme and candidate.scheme.code != scheme):  # type: ignore[union-attr]
                continue
            if not _covers(candidate, place):
                continue
            entry = _entry_for(entries, scope, scheme, candidate.mode)
            listed = entry is not None or not item.organisation.is_local
            offered_elsewhere |= listed
            if candidate.mode not in preference or not listed:
                continue
            return Offer(case_scope, candidate.mode, entry.list_version if entry else None)
    label = dict(Scope.choices).get(scopes[0][0], "")
    if offered_elsewhere:
        modes = "、".join(dict(MODE_CHOICES).get(m, m) for m in preference)
        raise RuleViolation(
            "mode_not_offered",
            f"“{item_version.name}”在{place.name}的{label}未开通{modes}",
        )
    raise RuleViolation(
        "not_available_here",
        f"“{item_version.name}”未列入{place.name}可办理的{label}清单，请到{item.organisation.name}办理",
    )


def _covers(availability: object, place: Division) -> bool:
    divisions = list(availability.divisions.all())  # type: ignore[attr-defined]
    if divisions:
        return any(inside(place, d) for d in divisions)
    scheme = availability.scheme  # type: ignore[attr-defined]
    if scheme is not None:
        return any(inside(place, m) for m in scheme.members.all())
    return True


def _entries_in_force(item: ServiceItem, on: dt.date | None) -> list[ListEntry]:
    return list(
        ListEntry.objects.filter(
            item=item, list_version__in=current_list_versions(on or timezone.localdate())
        ).select_related("list_version__item_list__scheme")
    )


def _entry_for(entries: list[ListEntry], scope: str, scheme: str, mode: str) -> ListEntry | None:
    for entry in entries:
        item_list = entry.list_version.item_list
        if item_list.scope != scope or mode not in (entry.modes or []):
            continue
        if scheme and (item_list.scheme is None or item_list.scheme.code != scheme):
            continue
        return entry
    return None
