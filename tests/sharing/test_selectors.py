"""The coverage figures supervision reads: 减材料 per item, 应享尽享 per provider."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import ItemVersion, Material
from catalog.services import publish_item_version
from core.actors import SystemActor
from sharing import engine, selectors
from tests import builders
from tests.sharing import helpers


def _item_with_codes(*codes, licence=False):
    version = builders.item(publish=False)
    for position, code in enumerate(codes, start=1):
        Material.objects.filter(version=version, position=position).update(code=code)
    if licence:
        Material.objects.filter(version=version, position=2).update(
            licence_type=builders.licence_type()
        )
    publish_item_version(version, actor=SystemActor("test"))
    return version


def test_materials_replaced_by_sharing_or_licences_per_item():
    helpers.household_resource(material_codes=["HJ-HKB"])
    helpers.household_resource(
        code="NOT-SHARED", sharing_class="not_shared", material_codes=["HY-JHZ"]
    )
    shared = _item_with_codes("HJ-HKB", "HY-JHZ")
    both = _item_with_codes("HJ-HKB", "", licence=True)
    plain = _item_with_codes("", "")
    with CaptureQueriesContext(connection) as queries:
        rows = {r.item_version_id: r for r in selectors.item_coverage()}
    assert len(queries) <= 3
    assert (rows[shared.pk].materials, rows[shared.pk].by_sharing, rows[shared.pk].replaced) == (
        2,
        1,
        1,
    )
    assert (rows[both.pk].by_licence, rows[both.pk].by_sharing, rows[both.pk].replaced) == (1, 1, 2)
    assert rows[both.pk].share == 1.0 and rows[plain.pk].replaced == 0
    subset = selectors.item_coverage(ItemVersion.objects.filter(pk=plain.pk))
    assert [r.item_version_id for r in subset] == [plain.pk]


def test_share_of_requests_answered_within_deadline_per_provider():
    resource = helpers.household_resource()
    reviewer = builders.staff("reviewer", resource.provider)
    consumers = [
        builders.organisation(f"需求部门{n}", division="210200", seed=9700 + n) for n in range(3)
    ]
    on_time = helpers.request(resource, consumers[0])
    engine.take_action(on_time, "approve", actor=reviewer)
    late = helpers.request(resource, consumers[1])
    # Started long ago: the clock's due date (recomputed from its start) has passed.
    late.started_on, late.due_date = dt.date(2020, 1, 2), dt.date(2020, 1, 13)
    late.save(update_fields=["started_on", "due_date"])
    engine.take_action(late, "refuse", actor=reviewer, note="不符合条件")
    waiting = helpers.request(resource, consumers[2])  # not due yet: not counted
    assert waiting.answered_on is None
    with CaptureQueriesContext(connection) as queries:
        (row,) = selectors.provider_timeliness()
    assert len(queries) == 1
    assert (row.provider_name, row.due, row.answered, row.answered_in_time) == (
        "大连市公安局",
        2,
        2,
        1,
    )
    assert row.share == 0.5
    (later,) = selectors.provider_timeliness(as_of=dt.date(2099, 1, 1))
    assert later.due == 3 and later.answered_in_time == 1
