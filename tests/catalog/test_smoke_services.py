from tests import builders


def test_publish_and_search():
    from catalog.search import search_item_ids

    v = builders.item()
    assert v.is_published
    assert search_item_ids("户口迁移") == [v.item_id]
    assert search_item_ids("hkqy") == [v.item_id]
