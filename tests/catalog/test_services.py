"""Publishing item and list versions: the rules, the freeze, the diff."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from catalog import selectors
from catalog.models import ItemVersion, ListEntry, Material, PublicationStatus
from catalog.services import (
    draft_item_version,
    draft_list_version,
    publish_item_version,
    publish_list_version,
)
from core.exceptions import RuleViolation
from core.models import AuditEvent
from tests import builders


def test_published_version_is_frozen_everywhere():
    version = builders.item()
    version.name = "改名"
    with pytest.raises(ValidationError, match="已发布的版本不可修改"):
        version.save()
    material = version.materials.first()
    material.notes = "x"
    with pytest.raises(ValidationError):
        material.save()
    with pytest.raises(ValidationError):
        Material.objects.create(
            version=version, name="新增材料", necessity="required", source_type="applicant"
        )
    with pytest.raises(ValidationError):
        material.delete()
    with pytest.raises(RuleViolation) as info:
        publish_item_version(version, actor="test")
    assert info.value.code == "version_published"


def test_incomplete_guide_is_not_published_and_nothing_changes():
    version = builders.item(
        publish=False,
        conditions="",
        promised_limit=30,
        legal_limit=20,
        application_channels=["online", "fax"],
        result_type="licence",
        form_fields=[{"name": "Bad Name", "label": "x", "type": "text"}],
    )
    with pytest.raises(RuleViolation) as info:
        publish_item_version(version, actor="test")
    fields = {p.field for p in info.value.problems}
    assert {"conditions", "promised_limit", "application_channels", "result_licence_type"} <= fields
    assert any(f and f.startswith("form_fields[0]") for f in fields)
    version.refresh_from_db()
    assert version.status == PublicationStatus.DRAFT
    assert not AuditEvent.objects.filter(action="publish_item_version").exists()


def test_new_version_copies_and_pins_current():
    v1 = builders.item(effective_from=dt.date(2024, 1, 1))
    v2 = draft_item_version(v1.item, effective_from=dt.date(2025, 1, 1), actor="test")
    assert v2.number == 2 and v2.status == PublicationStatus.DRAFT
    assert [m.name for m in v2.materials.all()] == [m.name for m in v1.materials.all()]
    assert set(v2.availabilities.values_list("scope", "mode")) == {("cross_province", "online")}
    v2.promised_limit = 5
    v2.save()
    publish_item_version(v2, actor="test")
    assert selectors.current_version_of(v1.item.code).number == 2
    assert selectors.current_version_of(v1.item.code, on=dt.date(2024, 6, 1)).number == 1
    with pytest.raises(RuleViolation) as info:
        draft_item_version(v1.item, effective_from=dt.date(2026, 1, 1), actor="test")
        draft_item_version(v1.item, effective_from=dt.date(2026, 1, 1), actor="test")
    assert info.value.code == "draft_exists"


def test_version_effective_before_predecessor_is_refused():
    v1 = builders.item(effective_from=dt.date(2025, 1, 1))
    v2 = draft_item_version(v1.item, effective_from=dt.date(2024, 1, 1), actor="test")
    with pytest.raises(RuleViolation) as info:
        publish_item_version(v2, actor="test")
    assert info.value.code == "version_effective_before_predecessor"
    v2.refresh_from_db()
    assert v2.status == PublicationStatus.DRAFT


def test_list_publication_rules():
    online = builders.item("开具户籍类证明")
    only_in_province = builders.item("失业登记", scopes=(("in_province", "online"),))
    lst = builders.item_list()
    bad = builders.list_version(
        lst, [online, only_in_province], publish=False, modes=("online", "proxy"), note=""
    )
    with pytest.raises(RuleViolation) as info:
        publish_list_version(bad, actor="test")
    reasons = " ".join(p.reason for p in info.value.problems)
    assert "变更说明" in reasons
    assert "未开通跨省通办" in reasons
    assert "异地代收代办" in reasons
    bad.refresh_from_db()
    assert bad.status == PublicationStatus.DRAFT
    assert not ListEntry.objects.filter(list_version=bad, item_version__isnull=False).exists()


def test_list_diff_added_removed_changed():
    a = builders.item("户口迁移（夫妻投靠）")
    b = builders.item("开具户籍类证明")
    c = builders.item("异地就医结算备案", themes=("medical",))
    lst = builders.item_list()
    first = builders.list_version(lst, [a, b], effective_from=dt.date(2024, 6, 1))
    a2 = draft_item_version(a.item, effective_from=dt.date(2024, 9, 1), actor="test")
    publish_item_version(a2, actor="test")
    second = draft_list_version(
        lst,
        effective_from=dt.date(2024, 10, 1),
        actor="test",
        change_note="新增异地就医结算备案，移出户籍证明",
    )
    second.entries.filter(item=b.item).delete()
    ListEntry.objects.create(list_version=second, item=c.item, modes=["online"], position=3)
    publish_list_version(second, actor="test")
    diff = selectors.diff_list_versions(first, second)
    assert [e.item_id for e in diff.added] == [c.item_id]
    assert [e.item_id for e in diff.removed] == [b.item_id]
    assert [(ch.new.item_id, ch.changes) for ch in diff.changed] == [(a.item_id, ("事项版本",))]
    pinned = second.entries.get(item=a.item).item_version
    assert pinned.number == 2
    # The earlier list version keeps pinning the rules it was published with.
    assert first.entries.get(item=a.item).item_version.number == 1


def test_list_effective_before_predecessor_is_refused():
    a = builders.item()
    lst = builders.item_list()
    builders.list_version(lst, [a], effective_from=dt.date(2025, 1, 1))
    draft = draft_list_version(
        lst, effective_from=dt.date(2024, 12, 31), actor="test", change_note="回溯"
    )
    with pytest.raises(RuleViolation) as info:
        publish_list_version(draft, actor="test")
    assert info.value.code == "version_effective_before_predecessor"


def test_regional_availability_must_stay_inside_the_scheme():
    from catalog.models import Availability
    from core.models import Division

    scheme = builders.northeast_scheme()
    version = builders.item(scopes=(("regional", "proxy"),), scheme=scheme, publish=False)
    avail = Availability.objects.get(version=version)
    avail.divisions.set(
        Division.objects.filter(code__in=["220100", "110000"])
        | Division.objects.filter(code="230100")
    )
    publish_item_version(version, actor="test")  # 220100 and 230100 are members
    other = builders.item(scopes=(("in_province", "online"),), publish=False)
    Availability.objects.get(version=other).divisions.set(Division.objects.filter(code="220100"))
    with pytest.raises(RuleViolation, match="不在本省"):
        publish_item_version(other, actor="test")


def test_search_words_initials_and_fallback():
    from catalog.search import search_item_ids

    a = builders.item("户口迁移（夫妻投靠）")
    b = builders.item("开具户籍类证明", keywords="户籍证明")
    c = builders.item("异地就医结算备案", themes=("medical",))
    assert search_item_ids("户口迁移") == [a.item_id]
    assert search_item_ids("hkqy") == [a.item_id]
    assert search_item_ids("HKQY") == [a.item_id]
    assert set(search_item_ids("户籍")) == {a.item_id, b.item_id}  # a by its theme 户籍
    assert search_item_ids("开具证明") == [b.item_id]
    assert search_item_ids("就医 备案") == [c.item_id]
    assert search_item_ids("yd") == [c.item_id]  # 异地
    assert set(search_item_ids("证")) == {b.item_id}  # one character: substring
    assert search_item_ids("") is None
    assert search_item_ids("不存在的事项名称") == []


def test_item_filter_combinations():
    scheme = builders.northeast_scheme()
    a = builders.item("户口迁移", audience="person")
    b = builders.item(
        "内资企业设立登记",
        audience="company",
        themes=("startup",),
        scopes=(("regional", "proxy"),),
        scheme=scheme,
    )
    F = selectors.ItemFilter
    ids = lambda f: {v.item_id for v in selectors.filter_item_versions(f)}  # noqa: E731
    assert ids(F(scope="regional")) == {b.item_id}
    assert ids(F(mode="online")) == {a.item_id}
    assert ids(F(theme="startup")) == {b.item_id}
    assert ids(F(audience="company")) == {b.item_id}
    assert ids(F(division="210000")) == {a.item_id, b.item_id}
    assert ids(F(division="220000")) == set()
    assert ids(F(organisation=a.item.organisation.uscc)) == {a.item_id}
    assert ids(F(q="企业")) == {b.item_id}


def test_unpublished_items_are_invisible():
    builders.item(publish=False)
    assert not selectors.current_item_versions().exists()
    assert ItemVersion.objects.count() == 1
