"""The bench's generators at small sizes: the catalog and the citizens they make are what
the platform's own code finds and accepts (search, tokens, ID numbers)."""

import pytest
from stdnum.cn import ric, uscc

from accounts.services import authenticate_token
from bench.catalog import BASIC_CODE_PREFIX, generate_items, generated_count
from bench.people import ensure_citizens, id_number, issue_tokens
from catalog.models import ItemSearchEntry, ItemVersion, ServiceItem
from catalog.search import build_document, search_item_ids
from catalog.selectors import ItemFilter, filter_item_versions

pytestmark = pytest.mark.django_db


def test_generated_items_are_published_searchable_and_made_once():
    result = generate_items(60)
    assert (result.created, result.total) == (60, 60)
    items = ServiceItem.objects.filter(basic_code__startswith=BASIC_CODE_PREFIX)
    assert items.count() == 60 == generated_count()
    assert items.values("division").distinct().count() > 5
    assert items.values("organisation").distinct().count() > 20
    assert all(uscc.is_valid(i.organisation.uscc) for i in items.select_related("organisation"))
    # Each version is published, listed as current, and has materials and a document
    # equal to the one the catalog's own indexing builds.
    assert filter_item_versions(ItemFilter()).filter(item__in=items).count() == 60
    version = ItemVersion.objects.select_related("item__organisation").get(item=items.first())
    assert version.materials.count() == 2 and version.availabilities.count() == 1
    entry = ItemSearchEntry.objects.get(item=version.item)
    assert entry.document == build_document(version)
    # What ranking needs, as `refresh_search_entry` keeps it (decision 156).
    assert (entry.version_id, entry.code, entry.division, entry.stale_on) == (
        version.pk,
        version.item.code,
        version.item.division.code,
        None,
    )

    assert generate_items(60).created == 0  # made once
    assert generate_items(80).created == 20  # extended, not rebuilt
    assert generated_count() == 80


def test_generated_items_are_found_by_chinese_words_and_pinyin_initials():
    generate_items(120)
    by_words = set(search_item_ids("户口迁移") or [])
    by_initials = set(search_item_ids("hkqy") or [])
    assert by_words and by_words == by_initials
    names = ItemVersion.objects.filter(item_id__in=by_words).values_list("name", flat=True)
    assert all("户口迁移" in n for n in names)


def test_generated_citizens_have_valid_numbers_and_working_tokens():
    assert all(ric.is_valid(id_number(i)) for i in range(0, 30_000, 97))
    assert len({id_number(i) for i in range(3000)}) == 3000
    people = ensure_citizens(3)
    assert ensure_citizens(3) == people  # made once
    tokens = issue_tokens(people)
    assert [authenticate_token(t) for t in tokens] == [p.user for p in people]
    fresh = issue_tokens(people)
    assert authenticate_token(tokens[0]) is None and authenticate_token(fresh[0]) == people[0].user
