"""Reads of the catalog, shared by pages, API and exports so that they agree on what is
"current" and issue a constant number of queries per listing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any, cast

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    Expression,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    prefetch_related_objects,
)
from django.utils import timezone

from catalog.form_schema import FormField, parse_form_fields
from catalog.models import (
    Audience,
    Availability,
    ItemList,
    ItemSearchEntry,
    ItemVersion,
    ListEntry,
    ListVersion,
    Material,
    Mode,
    PublicationStatus,
    RegionalScheme,
    Scope,
    ServiceItem,
    Theme,
    ZoneSource,
)
from catalog.search import ITEM_INDEX, item_search_terms
from core.exceptions import NotFound, ProblemList
from core.models import Division, Organisation, division_code_prefix
from core.selectors import known_division, known_organisation, unknown
from federation import directory
from federation.directory import DirectoryUnavailable

PUBLISHED = PublicationStatus.PUBLISHED


def today() -> dt.date:
    return timezone.localdate()


def _in_force(on: dt.date) -> Q:
    return Q(status=PUBLISHED, effective_from__lte=on)


def _with_listing_data(versions: QuerySet[ItemVersion]) -> QuerySet[ItemVersion]:
    """Join and prefetch what a list row or a guide shows of an item version."""
    return versions.select_related(
        "item__organisation__division", "item__division", "category", "result_licence_type"
    ).prefetch_related(
        "themes",
        Prefetch(
            "availabilities",
            queryset=Availability.objects.select_related("scheme").prefetch_related("divisions"),
        ),
    )


def current_item_versions(*, on: dt.date | None = None) -> QuerySet[ItemVersion]:
    """The version of every item in force on `on` (today by default), one row per item,
    with what a list or guide shows already joined or prefetched."""
    on = on or today()
    latest = (
        ItemVersion.objects.filter(_in_force(on), item=OuterRef("item"))
        .order_by("-effective_from", "-number")
        .values("pk")[:1]
    )
    return _with_listing_data(
        ItemVersion.objects.filter(_in_force(on), pk=Subquery(latest))
    ).order_by("item__code")


@dataclass
class ItemFilter:
    """Filters of the item listing; every one optional."""

    scope: str | None = None
    mode: str | None = None
    theme: str | None = None
    audience: str | None = None
    division: str | None = None
    organisation: str | None = None
    q: str | None = None
    on: dt.date | None = field(default=None)


def filter_item_versions(f: ItemFilter) -> QuerySet[ItemVersion]:
    """Current item versions matching the filter, best search match first when `q` is set."""
    terms = item_search_terms(f.q) if f.q else None
    if f.q is None or terms is None:
        return _filtered(current_item_versions(on=f.on), f).order_by(_own_province(), "item__code")
    fast = item_search_terms(f.q, path="search_entry")
    if fast and (f.on is None or f.on == today()) and not _stale_search_entries():
        # The search table knows each item's version in force, code and division (decision
        # 156): PostgreSQL matches, ranks and sorts there, then joins the page's rows only.
        matched = _with_listing_data(SearchResults(ItemVersion).filter(search_entry__isnull=False))
        results = cast(
            SearchResults,
            _search_page(
                _filtered(matched, f).filter(fast.matches),
                _own_province("search_entry__division"),
                fast.rank,
                "search_entry__code",
                # Sorted on the entries before the join, so the item's division (56 rows)
                # is joined to the page's rows: one query fewer than its prefetch.
                joined=("item", "item__division"),
            ),
        )
        if f == ItemFilter(q=f.q, on=f.on):  # nothing but the query narrows the results
            on_entries = ITEM_INDEX.terms(f.q, "")
            assert on_entries is not None  # the same tokens as `fast`
            entries = ItemSearchEntry.objects.filter(on_entries.matches, version__isnull=False)
            results.counted = entries
            ranked_by = [on_entries.rank] if on_entries.rank is not None else []
            results.ranked = entries.order_by(_own_province("division"), *ranked_by, "code")
        return results
    # Another day, or a new version took effect and the periodic job has not refreshed its
    # entry yet: the version in force is looked up per match (decision 150).
    return _search_page(
        _filtered(current_item_versions(on=f.on), f).filter(terms.matches),
        _own_province(),
        terms.rank,
        "item__code",
    )


class SearchResults(QuerySet[ItemVersion]):
    """The versions a search found. When nothing but the query narrows them:

    - counted on the search table alone (`counted`): every entry with a version in force is
      one result, and the count then needs no probe of the versions table per match
      (decision 157);
    - a page of them (`results[a:b]`, as the API's and the portal's pagers cut) is cut on
      the search table alone (`ranked`, the entries in the listing's order), and only the
      page's versions are then read, with what a row shows joined (decision 313). This
      holds for the queryset as `filter_item_versions` returned it: one derived from it
      (another filter, order or join) reads the usual way."""

    counted: QuerySet[ItemSearchEntry] | None = None
    ranked: QuerySet[ItemSearchEntry] | None = None

    def _clone(self) -> SearchResults:
        clone = cast(SearchResults, super()._clone())  # type: ignore[misc]
        clone.counted = self.counted
        return clone

    def _filter_or_exclude_inplace(self, negate: bool, args: Any, kwargs: Any) -> None:
        self.counted = None  # narrowed further: the entries alone no longer count it
        super()._filter_or_exclude_inplace(negate, args, kwargs)  # type: ignore[misc]

    def count(self) -> int:
        if self.counted is not None and not self.query.is_sliced and self._result_cache is None:
            return self.counted.count()
        return super().count()

    def __getitem__(self, k: Any) -> Any:
        if (
            isinstance(k, slice)
            and k.step is None
            and self.ranked is not None
            and self._result_cache is None
        ):
            ids = list(self.ranked.values_list("version_id", flat=True)[k])
            rows = {v.pk: v for v in _with_listing_data(ItemVersion.objects.filter(pk__in=ids))}
            return [rows[pk] for pk in ids if pk in rows]
        return super().__getitem__(k)


def _stale_search_entries() -> bool:
    return ItemSearchEntry.objects.filter(stale_on__lte=today()).exists()


def _search_page(
    qs: QuerySet[ItemVersion],
    own: Case,
    rank: Expression | None,
    code: str,
    *,
    joined: tuple[str, ...] = ("item",),
) -> QuerySet[ItemVersion]:
    # The database matches, ranks and (with the page's LIMIT) cuts: the GIN index finds
    # the matches, one sort keeps the best page (decision 150). Thousands of rows may match
    # and be sorted, so the sort carries only the version and what `joined` names: the
    # organisation, divisions, category and licence type of the page's rows come by prefetch.
    prefetched = [
        "item__organisation__division",
        "item__division",
        "category",
        "result_licence_type",
    ]
    return (
        qs.select_related(None)
        .select_related(*joined)
        .prefetch_related(*(p for p in prefetched if p not in joined))
        .order_by(own, *([rank] if rank is not None else []), code)
    )


def _filtered(qs: QuerySet[ItemVersion], f: ItemFilter) -> QuerySet[ItemVersion]:
    """`qs` narrowed by the filter's fields other than the query and the day."""
    if f.scope or f.mode:
        avail = Availability.objects.filter(version=OuterRef("pk"))
        if f.scope:
            avail = avail.filter(scope=f.scope)
        if f.mode:
            avail = avail.filter(mode=f.mode)
        qs = qs.filter(pk__in=avail.values("version"))
    if f.theme:
        qs = qs.filter(
            pk__in=ItemVersion.themes.through.objects.filter(theme__code=f.theme).values(
                "itemversion_id"
            )
        )
    if f.audience:
        qs = (
            qs.filter(audience__in=[f.audience, Audience.BOTH])
            if f.audience != Audience.BOTH
            else qs.filter(audience=Audience.BOTH)
        )
    if f.division:
        qs = qs.filter(item__division__code__startswith=division_code_prefix(f.division))
    if f.organisation:
        qs = qs.filter(item__organisation__uscc=f.organisation)
    return qs


def _own_province(division: str = "item__division__code") -> Case:
    """0 for an item of the node's own province (its people mostly come for its items),
    1 for the others: the first sort key of every item listing."""
    return Case(
        When(
            **{f"{division}__startswith": division_code_prefix(settings.NODE_DIVISION)},
            then=Value(0),
        ),
        default=Value(1),
        output_field=IntegerField(),
    )


def guide_prefetches() -> list[Prefetch]:
    return [
        Prefetch("materials", queryset=Material.objects.select_related("licence_type")),
    ]


def get_item(code: str) -> ServiceItem:
    try:
        return ServiceItem.objects.select_related("organisation", "division").get(code=code)
    except ServiceItem.DoesNotExist as exc:
        raise NotFound("item_not_found", f"事项 {code} 不存在") from exc


def current_version_of(code: str, *, on: dt.date | None = None) -> ItemVersion:
    """The guide of item `code` in force today, with everything the guide page shows."""
    version = (
        current_item_versions(on=on)
        .filter(item__code=code)
        .prefetch_related(*guide_prefetches())
        .first()
    )
    if version is None:
        get_item(code)
        raise NotFound("item_not_in_force", f"事项 {code} 当前没有生效的版本")
    return version


def version_to_apply_for(code: str) -> ItemVersion:
    """The version of item `code` in force today, as an application needs it: the item and
    its organisation joined, none of the guide's prefetches (the case services read the
    availabilities and materials they check themselves). The same version as
    `current_version_of`: the latest in force by effective date, then number."""
    version = (
        ItemVersion.objects.filter(_in_force(today()), item__code=code)
        .select_related("item__organisation__division", "item__division", "category")
        .order_by("-effective_from", "-number")
        .first()
    )
    if version is None:
        get_item(code)
        raise NotFound("item_not_in_force", f"事项 {code} 当前没有生效的版本")
    return version


def item_versions(code: str) -> QuerySet[ItemVersion]:
    """All published versions of an item, newest first."""
    item = get_item(code)
    return item.versions.filter(status=PUBLISHED).select_related("category").order_by("-number")


def item_version(code: str, number: int) -> ItemVersion:
    version = (
        _with_listing_data(
            ItemVersion.objects.filter(item__code=code, number=number, status=PUBLISHED)
        )
        .prefetch_related(*guide_prefetches())
        .first()
    )
    if version is None:
        get_item(code)
        raise NotFound("item_version_not_found", f"事项 {code} 没有已发布的第 {number} 版")
    return version


# Lists -----------------------------------------------------------------------------------


def published_list_versions(item_list: ItemList) -> QuerySet[ListVersion]:
    return item_list.versions.filter(status=PUBLISHED).order_by("-number")


def current_list_version(item_list: ItemList, *, on: dt.date | None = None) -> ListVersion | None:
    on = on or today()
    return item_list.versions.filter(_in_force(on)).order_by("-effective_from", "-number").first()


def lists_with_current_version(
    *, on: dt.date | None = None
) -> list[tuple[ItemList, ListVersion | None]]:
    """Every list with its version in force, in two queries."""
    lists = list(ItemList.objects.select_related("scheme").order_by("scope", "code"))
    current = {v.item_list_id: v for v in current_list_versions(on)}
    return [(lst, current.get(lst.pk)) for lst in lists]


def current_list_versions(on: dt.date | None) -> QuerySet[ListVersion]:
    """The version in force on `on` of every list, one row per list that has one."""
    on = on or today()
    latest = (
        ListVersion.objects.filter(_in_force(on), item_list=OuterRef("item_list"))
        .order_by("-effective_from", "-number")
        .values("pk")[:1]
    )
    return ListVersion.objects.filter(_in_force(on), pk=Subquery(latest))


def get_list(code_or_id: str | int) -> ItemList:
    lookup = Q(code=str(code_or_id))
    if str(code_or_id).isdigit():
        lookup |= Q(pk=int(code_or_id))
    item_list = ItemList.objects.select_related("scheme").filter(lookup).first()
    if item_list is None:
        raise NotFound("list_not_found", f"清单 {code_or_id} 不存在")
    return item_list


def get_list_version(item_list: ItemList, number: int) -> ListVersion:
    version = item_list.versions.filter(number=number, status=PUBLISHED).first()
    if version is None:
        raise NotFound(
            "list_version_not_found", f"清单 {item_list.name} 没有已发布的第 {number} 版"
        )
    return version


# What a row of a list shows about each entry, joined in the entries' own query.
_ENTRY_RELATED = ("item__organisation", "item__division", "item_version__category")


def list_entries(version: ListVersion) -> QuerySet[ListEntry]:
    return version.entries.select_related(*_ENTRY_RELATED).order_by("position", "id")


def zone_entries(scope: str, *, on: dt.date | None = None) -> list[ListEntry]:
    """The entries of the lists in force for a zone (通办专区), each item once."""
    current = [
        v for lst, v in lists_with_current_version(on=on) if lst.scope == scope and v is not None
    ]
    entries = (
        ListEntry.objects.filter(list_version__in=current)
        .select_related(
            "item__organisation",
            "item__division",
            "item_version__category",
            "list_version__item_list",
        )
        .prefetch_related("item_version__themes")
        .order_by("list_version__item_list__code", "position", "id")
    )
    seen: set[int] = set()
    unique: list[ListEntry] = []
    for entry in entries:
        if entry.item_id not in seen:
            seen.add(entry.item_id)
            unique.append(entry)
    return unique


# Diffs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryChange:
    """An item on both list versions whose entry or pinned rules changed."""

    old: ListEntry
    new: ListEntry
    changes: tuple[str, ...]


@dataclass(frozen=True)
class ListDiff:
    old: ListVersion
    new: ListVersion
    added: tuple[ListEntry, ...]
    removed: tuple[ListEntry, ...]
    changed: tuple[EntryChange, ...]

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff_list_versions(old: ListVersion, new: ListVersion) -> ListDiff:
    """What changed from `old` to `new`: items added, removed, and changed (modes, note,
    or the item version the entry pins). Two queries, whatever the list's length."""
    if old.item_list_id != new.item_list_id:
        raise NotFound("list_version_mismatch", "只能比较同一清单的两个版本")
    before = {e.item_id: e for e in list_entries(old)}
    after = {e.item_id: e for e in list_entries(new)}
    added = tuple(e for i, e in after.items() if i not in before)
    removed = tuple(e for i, e in before.items() if i not in after)
    changed: list[EntryChange] = []
    for item_id, new_entry in after.items():
        old_entry = before.get(item_id)
        if old_entry is None:
            continue
        changes: list[str] = []
        if sorted(old_entry.modes) != sorted(new_entry.modes):
            changes.append("业务模式")
        if old_entry.note != new_entry.note:
            changes.append("备注")
        if old_entry.item_version_id != new_entry.item_version_id:
            changes.append("事项版本")
        if changes:
            changed.append(EntryChange(old_entry, new_entry, tuple(changes)))
    return ListDiff(old, new, added, removed, tuple(changed))


# Browsing (portal) -------------------------------------------------------------------------


def zone_item_counts(*, on: dt.date | None = None) -> dict[str, int]:
    """How many distinct items each zone (通办专区) offers today, by scope: the same items
    the zone pages list (`zone_entries`; `regional_zone_versions` for the regional zone),
    counted in the database. Four queries."""
    current = [v.pk for _, v in lists_with_current_version(on=on) if v is not None]
    counts = dict.fromkeys(Scope.values, 0)
    rows = (
        ListEntry.objects.filter(list_version__in=current)
        .exclude(list_version__item_list__scope=Scope.REGIONAL)
        .values("list_version__item_list__scope")
        .annotate(n=Count("item", distinct=True))
        .order_by()
    )
    for row in rows:
        counts[row["list_version__item_list__scope"]] = row["n"]
    counts[Scope.REGIONAL] = _regional_zone(theme=None, audience=None, node=None, on=on).count()
    return counts


def regional_zone_versions(
    *,
    theme: str | None = None,
    audience: str | None = None,
    node: str | None = None,
    on: dt.date | None = None,
) -> QuerySet[ItemVersion]:
    """The regional zone (区域通办专区) across the member nodes: exactly the entries of the
    区域通办 lists in force of every member — this node's own lists, and for each other
    member the entries it last said it offers (`ZoneSource.offered`, kept by `catalog.zone`),
    whose items name their node (`item.organisation.node`). An item a member took off its
    list is gone from the zone, whatever its availabilities say.

    `node` narrows to one node's items ("" for this node's own). This node's items come
    first, then each other node's by division and code; a fixed number of queries."""
    return _regional_zone(theme=theme, audience=audience, node=node, on=on).order_by(
        "item__organisation__node", "item__division__code", "item__code"
    )


def _regional_zone(
    *, theme: str | None, audience: str | None, node: str | None, on: dt.date | None
) -> QuerySet[ItemVersion]:
    own = ListEntry.objects.filter(
        list_version__in=current_list_versions(on or today()),
        list_version__item_list__scope=Scope.REGIONAL,
    ).values("item_id")
    listed = Q(item__organisation__node="", item_id__in=own)
    for source in ZoneSource.objects.all():
        codes = [entry.get("item") for entry in source.offered or []]
        listed |= Q(item__organisation__node=source.node, item__code__in=codes)
    versions = filter_item_versions(ItemFilter(theme=theme, audience=audience, on=on)).filter(
        listed
    )
    if node is not None:
        versions = versions.filter(item__organisation__node=node)
    return versions


def regional_zone_modes(on: dt.date | None = None) -> dict[str, list[str]]:
    """The modes each item of the regional zone is listed with, by item code: from this
    node's lists in force and the members' synced entries. Two queries."""
    modes: dict[str, list[str]] = {}
    own = ListEntry.objects.filter(
        list_version__in=current_list_versions(on or today()),
        list_version__item_list__scope=Scope.REGIONAL,
    ).values_list("item__code", "modes")
    offered = [
        (entry.get("item", ""), entry.get("modes") or [])
        for source in ZoneSource.objects.all()
        for entry in source.offered or []
    ]
    for code, entry_modes in [*own, *offered]:
        known = modes.setdefault(code, [])
        known += [m for m in entry_modes if m not in known]
    return {code: sorted(m, key=Mode.values.index) for code, m in modes.items()}


def regional_scheme_names() -> list[str]:
    """The names of the schemes published item versions offer the regional scope under.
    One query."""
    schemes = RegionalScheme.objects.filter(
        availabilities__scope=Scope.REGIONAL, availabilities__version__status=PUBLISHED
    )
    return list(schemes.distinct().order_by("code").values_list("name", flat=True))


def node_display_name(division: str, fallback: str) -> str:
    """What pages call a node: the name of its province (吉林省), else `fallback` (its
    name in the directory). One query."""
    name = Division.objects.filter(code=division).values_list("name", flat=True).first()
    return name or fallback


def member_name(node: str) -> str:
    """What pages call member node `node` when no sync has named it yet: its province
    as the directory places it, else its id."""
    try:
        member = directory.current().node(node)
    except DirectoryUnavailable:
        member = None
    return node if member is None else node_display_name(member.division, member.name)


def zone_sources() -> dict[str, ZoneSource]:
    """The other member nodes whose items the regional zone holds a cached copy of, with
    their last sync, by node id. One query."""
    return {source.node: source for source in ZoneSource.objects.order_by("node")}


def zone_source_of(item: ServiceItem) -> ZoneSource | None:
    """The sync record of the node an item belongs to; None for this node's own items."""
    if item.organisation.is_local:
        return None
    return ZoneSource.objects.filter(node=item.organisation.node).first()


def zone_lists(scope: str, *, on: dt.date | None = None) -> list[tuple[ItemList, ListVersion]]:
    """The lists of a zone with the version of each in force (lists with none are left out)."""
    return [(lst, v) for lst, v in lists_with_current_version(on=on) if lst.scope == scope and v]


def _audience_matches(audience: str, wanted: str) -> bool:
    # Same rule as filter_item_versions: an item for both kinds serves either.
    if wanted == Audience.BOTH:
        return audience == Audience.BOTH
    return audience in (wanted, Audience.BOTH)


def filter_zone_entries(
    scope: str,
    *,
    theme: str | None = None,
    audience: str | None = None,
    on: dt.date | None = None,
) -> list[ListEntry]:
    """`zone_entries` narrowed by theme code and audience, judged on the item version each
    entry pins. Filters the prefetched rows, so the query count stays that of zone_entries."""
    entries = zone_entries(scope, on=on)
    if theme:
        entries = [
            e
            for e in entries
            if e.item_version is not None
            and any(t.code == theme for t in e.item_version.themes.all())
        ]
    if audience:
        entries = [
            e
            for e in entries
            if e.item_version is not None and _audience_matches(e.item_version.audience, audience)
        ]
    return entries


@dataclass(frozen=True)
class BrowseFacets:
    """What the catalog can be browsed by: every theme, the organisations that implement at
    least one item, and the divisions those items belong to together with their parents."""

    themes: list[Theme]
    organisations: list[Organisation]
    divisions: list[Division]


def browse_facets() -> BrowseFacets:
    """The values of the browse filters, in three queries."""
    themes = list(Theme.objects.order_by("position", "code"))
    organisations = list(
        Organisation.objects.filter(items__isnull=False)
        .select_related("division")
        .distinct()
        .order_by("division__code", "name")
    )
    divisions = list(
        Division.objects.filter(Q(items__isnull=False) | Q(children__items__isnull=False))
        .distinct()
        .order_by("code")
    )
    return BrowseFacets(themes=themes, organisations=organisations, divisions=divisions)


def list_entry_counts(versions: list[ListVersion]) -> dict[int, int]:
    """Number of entries of each list version, keyed by version id, in one query."""
    rows = (
        ListEntry.objects.filter(list_version__in=versions)
        .values("list_version")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["list_version"]: row["n"] for row in rows}


def form_fields_of(version: ItemVersion) -> list[FormField]:
    """The application form of a version as parsed fields; a stored field that no longer
    parses is left out (publishing checks the form, so this only guards old data)."""
    return parse_form_fields(version.form_fields, ProblemList())


# API reads ---------------------------------------------------------------------------------


def check_item_filter(f: ItemFilter) -> ItemFilter:
    """The filter with every value checked against what exists, so that a typo is an error
    (`unknown_scope`, `unknown_theme`, `unknown_division` …, 422) rather than an empty list.
    The organisation comes back as its normalised 统一社会信用代码."""
    choices = (
        ("scope", Scope, "通办范围"),
        ("mode", Mode, "业务模式"),
        ("audience", Audience, "服务对象"),
    )
    for name, enum, label in choices:
        value = getattr(f, name)
        if value and value not in enum.values:
            raise unknown(
                f"unknown_{name}",
                f"未知的{label}：{value}（可选：{'、'.join(enum.values)}）",
                field=name,
            )
    if f.theme and not Theme.objects.filter(code=f.theme).exists():
        raise unknown("unknown_theme", f"未知的主题：{f.theme}", field="theme")
    if f.division:
        known_division(f.division)
    if f.organisation:
        f = replace(f, organisation=known_organisation(f.organisation))
    return f


def _entries_prefetch() -> Prefetch:
    return Prefetch(
        "entries",
        queryset=ListEntry.objects.select_related(*_ENTRY_RELATED).order_by("position", "id"),
    )


def lists_in_force(*, on: dt.date | None = None) -> QuerySet[ItemList]:
    """Every list with `versions_in_force` prefetched: its version in force on `on`, as a
    list of zero or one. Two queries, whatever the number of lists."""
    return (
        ItemList.objects.select_related("scheme")
        .prefetch_related(
            Prefetch("versions", queryset=current_list_versions(on), to_attr="versions_in_force")
        )
        .order_by("scope", "code")
    )


def version_in_force(item_list: ItemList) -> ListVersion | None:
    """The version in force of a list fetched by `lists_in_force` or `get_list_in_force`."""
    versions: list[ListVersion] = item_list.versions_in_force  # type: ignore[attr-defined]
    return versions[0] if versions else None


def get_list_in_force(code_or_id: str | int, *, on: dt.date | None = None) -> ItemList:
    """One list (by id or code) with `versions_in_force` prefetched, and that version's
    entries with what a row shows. Three queries."""
    item_list = get_list(code_or_id)
    prefetch_related_objects(
        [item_list],
        Prefetch(
            "versions",
            queryset=current_list_versions(on).prefetch_related(_entries_prefetch()),
            to_attr="versions_in_force",
        ),
    )
    return item_list


def get_list_version_with_entries(item_list: ItemList, number: int) -> ListVersion:
    """A published version of a list with its entries prefetched (constant queries)."""
    version = get_list_version(item_list, number)
    prefetch_related_objects([version], _entries_prefetch())
    return version


def current_version_number(code: str, *, on: dt.date | None = None) -> int | None:
    """The number of item `code`'s version in force, or None; one query."""
    return (
        ItemVersion.objects.filter(_in_force(on or today()), item__code=code)
        .order_by("-effective_from", "-number")
        .values_list("number", flat=True)
        .first()
    )
