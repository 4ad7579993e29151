"""The item listing searched in the database: matched, ranked and cut to a page there
(decision 150), the node's own province first, in a constant number of queries."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import selectors
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
