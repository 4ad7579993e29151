"""The item listing searched in the database: matched, ranked and cut to a page there
(decision 150), the node's own province first, in a constant number of queries."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog import selectors
from catalog.models import ItemSearchEntry
from catalog.services import draft_item_version, publish_item_version, refresh_search_job
from core.actors import SystemActor
from tests import builders


def test_search_ranks_own_province_first_then_by_match(client, settings):
    settings.NODE_DIVISION = "210000"
    jilin = builders.organisation("长春市公安局", division="220100")
    dalian = builders.organisation("大连市公安局", division="210200")
    foreign = builders.item("户口迁移（投靠）", org=jilin, keywords="户口迁移")
    weak = builders.item("开具证明", org=dalian, keywords="户口迁移")
    strong = builders.item("户口迁移（投靠）", org=dalian, keywords="户口迁移")
    builders.item("异地就医结算备案", org=dalian, themes=("medical",))

    def found(q: str) -> list[int]:
        return [v.item_id for v in selectors.filter_item_versions(selectors.ItemFilter(q=q))]

    # The own province's matches first, whatever their rank; another province's after.
    assert set(found("户口迁移")[:2]) == {strong.item_id, weak.item_id}
    assert found("户口迁移")[2:] == [foreign.item_id]
    assert found("hkqy")[-1] == foreign.item_id
    assert found("开具") == [weak.item_id]

    # The database cuts the pages: the same order, page after page, the count of all.
    first = client.get("/api/v1/items?q=户口迁移&page_size=2").json()
    second = client.get("/api/v1/items?q=户口迁移&page_size=2&page=2").json()
    assert first["count"] == second["count"] == 3
    codes = [row["code"] for row in first["items"] + second["items"]]
    by_id = {v.item_id: v.item.code for v in (foreign, weak, strong)}
    assert codes == [by_id[i] for i in found("户口迁移")]


def test_one_character_search_is_a_substring_match_ordered_by_code(settings):
    settings.NODE_DIVISION = "210000"
    a = builders.item("开具户籍类证明")
    b = builders.item("出生医学证明")
    builders.item("异地就医结算备案")
    found = [v.item_id for v in selectors.filter_item_versions(selectors.ItemFilter(q="证"))]
    assert sorted(found) == sorted([a.item_id, b.item_id])
    codes = [v.item.code for v in selectors.filter_item_versions(selectors.ItemFilter(q="证"))]
    assert codes == sorted(codes)


def test_search_listing_query_count_is_constant(client, settings):
    settings.NODE_DIVISION = "210000"
    jilin = builders.organisation("长春市公安局", division="220100")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/api/v1/items?q=户口迁移&page_size=50")
            assert response.status_code == 200
        return len(ctx.captured_queries)

    builders.item("户口迁移（夫妻投靠）", result_licence_type=None)
    builders.item("户口迁移（投靠子女）", org=jilin)
    few = count()
    for n in range(8):
        builders.item(f"户口迁移（第{n}类）", org=jilin if n % 2 else None)
    assert client.get("/api/v1/items?q=户口迁移").json()["count"] == 10
    assert count() <= few + 1  # the licence type's prefetch is skipped while every row has none


def _found(q: str, on: dt.date | None = None) -> list[tuple[int, int]]:
    """(item, version number) of each search result."""
    versions = selectors.filter_item_versions(selectors.ItemFilter(q=q, on=on))
    return [(v.item_id, v.number) for v in versions]


def test_publishing_a_new_version_moves_the_item_in_search(settings):
    # The search entry keeps the version in force (decision 156): publishing a new one,
    # through the service every entry point calls, replaces it there.
    settings.NODE_DIVISION = "210000"
    v1 = builders.item("户口迁移（投靠）", effective_from=dt.date(2024, 1, 1))
    other = builders.item("出生医学证明")
    assert _found("户口迁移") == [(v1.item_id, 1)]
    v2 = draft_item_version(v1.item, effective_from=dt.date(2025, 1, 1), actor=SystemActor("t"))
    v2.name, v2.keywords = "出生登记", "新生儿 落户"
    v2.save()
    assert _found("户口迁移") == [(v1.item_id, 1)]  # a draft changes nothing
    publish_item_version(v2, actor=SystemActor("t"))
    assert _found("户口迁移") == []
    assert set(_found("出生")) == {(v1.item_id, 2), (other.item_id, 1)}
    assert _found("csdj") == [(v1.item_id, 2)]
    # An item whose entry is gone (no published version left) is not found.
    ItemSearchEntry.objects.filter(item=other.item).delete()
    assert _found("出生医学") == []


def test_a_version_published_ahead_takes_effect_in_search_on_its_day(settings, monkeypatch):
    settings.NODE_DIVISION = "210000"
    today = timezone.localdate()
    v1 = builders.item("户口迁移（投靠）", effective_from=dt.date(2024, 1, 1))
    ahead = today + dt.timedelta(days=10)
    v2 = draft_item_version(v1.item, effective_from=ahead, actor=SystemActor("t"))
    publish_item_version(v2, actor=SystemActor("t"))
    entry = ItemSearchEntry.objects.get(item=v1.item)
    assert (entry.version_id, entry.stale_on) == (v1.pk, ahead)
    assert _found("hkqy") == [(v1.item_id, 1)]  # today: version 1 is in force
    assert _found("hkqy", on=ahead) == [(v1.item_id, 2)]

    # Its day comes before the periodic job has run: searches look the version up.
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: ahead)
    assert _found("hkqy") == [(v1.item_id, 2)]
    assert refresh_search_job() is not None
    entry.refresh_from_db()
    assert (entry.version_id, entry.stale_on) == (v2.pk, None)
    assert _found("hkqy") == [(v1.item_id, 2)]
    assert refresh_search_job() is None  # nothing left to do


def test_search_reads_the_entry_table_once_per_page_whatever_the_matches(client, settings):
    settings.NODE_DIVISION = "210000"
    for n in range(3):
        builders.item(f"户口迁移（第{n}类）")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/api/v1/items?q=hkqy").json()["count"] == 3
    for n in range(3, 12):
        builders.item(f"户口迁移（第{n}类）")
    with CaptureQueriesContext(connection) as many:
        assert client.get("/api/v1/items?q=hkqy").json()["count"] == 12
    assert len(many.captured_queries) == len(few.captured_queries)
    page = [q["sql"] for q in many.captured_queries if "catalog_itemsearchentry" in q["sql"]]
    # The stale-entry check, the count and the page; each version is the entry's, not
    # looked up per match among the item's versions.
    assert len(page) == 3
    assert not any('U0."effective_from"' in sql for sql in page)


def test_search_counts_on_the_entries_alone_unless_another_filter_narrows(settings):
    settings.NODE_DIVISION = "210000"
    jilin = builders.organisation("长春市公安局", division="220100")
    for n in range(4):
        builders.item(f"户口迁移（第{n}类）", org=jilin if n % 2 else None)
    unpublished = builders.item("户口迁移（未发布）", publish=False)
    found = selectors.filter_item_versions(selectors.ItemFilter(q="hkqy"))
    with CaptureQueriesContext(connection) as counted:
        assert found.count() == 4 == len(list(found.all()))
    assert "catalog_itemversion" not in counted.captured_queries[-1]["sql"]
    assert unpublished.item_id not in {v.item_id for v in found}
    # Narrowed by another filter, or afterwards, the versions are counted.
    narrowed = selectors.filter_item_versions(selectors.ItemFilter(q="hkqy", division="220100"))
    assert narrowed.count() == 2 == len(list(narrowed))
    assert found.filter(item__organisation=jilin).count() == 2
    assert found.exclude(item__organisation=jilin).count() == 2


def test_a_page_is_cut_on_the_entries_then_only_its_versions_are_read(client, settings):
    # Decision 313: the pagers' slice ranks and cuts the matching entries alone, then
    # reads the page's versions by id with what a row shows, in the entries' order.
    settings.NODE_DIVISION = "210000"
    jilin = builders.organisation("长春市公安局", division="220100")
    for n in range(7):
        builders.item(f"户口迁移（第{n}类）", org=jilin if n % 3 == 0 else None)
    builders.item("户口迁移（未发布）", publish=False)
    found = selectors.filter_item_versions(selectors.ItemFilter(q="户口迁移"))
    whole = [v.pk for v in found.all()]  # the usual path: every match joined, then sorted
    assert len(whole) == 7
    pages = []
    for start in (0, 3, 6, 9):
        results = selectors.filter_item_versions(selectors.ItemFilter(q="户口迁移"))
        with CaptureQueriesContext(connection) as ctx:
            page = results[start : start + 3]
            names = [v.item.organisation.name for v in page]  # joined, no query per row
        assert len(names) == min(3, max(0, 7 - start))
        pages += [v.pk for v in page]
        if page:
            assert len(ctx.captured_queries) <= 5  # the cut, the rows, their prefetches
            cut, rows = ctx.captured_queries[0]["sql"], ctx.captured_queries[1]["sql"]
            assert "catalog_itemsearchentry" in cut and "catalog_itemversion" not in cut
            assert "catalog_itemsearchentry" not in rows
    assert pages == whole
    # A queryset derived from the results reads the usual way, with the same rows.
    derived = found.select_related("item__organisation")[0:3]
    assert [v.pk for v in derived] == whole[:3]
    # The API's pages follow the same order and count.
    api = client.get("/api/v1/items?q=户口迁移&page_size=3&page=2").json()
    assert api["count"] == 7
    assert [row["code"] for row in api["items"]] == [v.item.code for v in found.all()[3:6]]
