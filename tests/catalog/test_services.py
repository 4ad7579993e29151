"""Publishing item and list versions: the rules, the freeze, the diff; licence types."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from catalog import selectors
from catalog.models import ItemVersion, LicenceType, ListEntry, Material, PublicationStatus
from catalog.services import (
    draft_item_version,
    draft_list_version,
    publish_item_version,
    publish_list_version,
    save_licence_type,
)
from core.actors import SystemActor
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
        publish_item_version(version, actor=SystemActor("test"))
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
        publish_item_version(version, actor=SystemActor("test"))
    fields = {p.field for p in info.value.problems}
    assert {"conditions", "promised_limit", "application_channels", "result_licence_type"} <= fields
    assert any(f and f.startswith("form_fields[0]") for f in fields)
    version.refresh_from_db()
    assert version.status == PublicationStatus.DRAFT
    assert not AuditEvent.objects.filter(action="publish_item_version").exists()


def test_new_version_copies_and_pins_current():
    v1 = builders.item(effective_from=dt.date(2024, 1, 1))
    v2 = draft_item_version(v1.item, effective_from=dt.date(2025, 1, 1), actor=SystemActor("test"))
    assert v2.number == 2 and v2.status == PublicationStatus.DRAFT
    assert [m.name for m in v2.materials.all()] == [m.name for m in v1.materials.all()]
    assert set(v2.availabilities.values_list("scope", "mode")) == {("cross_province", "online")}
    v2.promised_limit = 5
    v2.save()
    publish_item_version(v2, actor=SystemActor("test"))
    assert selectors.current_version_of(v1.item.code).number == 2
    assert selectors.current_version_of(v1.item.code, on=dt.date(2024, 6, 1)).number == 1
    with pytest.raises(RuleViolation) as info:
        draft_item_version(v1.item, effective_from=dt.date(2026, 1, 1), actor=SystemActor("test"))
        draft_item_version(v1.item, effective_from=dt.date(2026, 1, 1), actor=SystemActor("test"))
    assert info.value.code == "draft_exists"


def test_version_effective_before_predecessor_is_refused():
    v1 = builders.item(effective_from=dt.date(2025, 1, 1))
    v2 = draft_item_version(v1.item, effective_from=dt.date(2024, 1, 1), actor=SystemActor("test"))
    with pytest.raises(RuleViolation) as info:
        publish_item_version(v2, actor=SystemActor("test"))
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
        publish_list_version(bad, actor=SystemActor("test"))
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
    a2 = draft_item_version(a.item, effective_from=dt.date(2024, 9, 1), actor=SystemActor("test"))
    publish_item_version(a2, actor=SystemActor("test"))
    second = draft_list_version(
        lst,
        effective_from=dt.date(2024, 10, 1),
        actor=SystemActor("test"),
        change_note="新增异地就医结算备案，移出户籍证明",
    )
    second.entries.filter(item=b.item).delete()
    ListEntry.objects.create(list_version=second, item=c.item, modes=["online"], position=3)
    publish_list_version(second, actor=SystemActor("test"))
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
        lst, effective_from=dt.date(2024, 12, 31), actor=SystemActor("test"), change_note="回溯"
    )
    with pytest.raises(RuleViolation) as info:
        publish_list_version(draft, actor=SystemActor("test"))
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
    publish_item_version(version, actor=SystemActor("test"))  # 220100 and 230100 are members
    other = builders.item(scopes=(("in_province", "online"),), publish=False)
    Availability.objects.get(version=other).divisions.set(Division.objects.filter(code="220100"))
    with pytest.raises(RuleViolation, match="不在本省"):
        publish_item_version(other, actor=SystemActor("test"))


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


# Licence types ------------------------------------------------------------------------------

LICENCE_CODE = "11100000000013338W011"


def test_licence_type_stores_its_face_normalised():
    licence = save_licence_type(
        code=LICENCE_CODE.lower(),
        name="户籍证明",
        issuer_kind="公安派出所",
        face_fields=[
            {"name": "applicant_name", "label": "姓名", "type": "text", "required": True},
            {"name": "members", "label": "户内人数", "type": "number", "min": 1, "help": ""},
        ],
        valid_years=1,
        allow_multiple=True,
        actor=SystemActor("test"),
    )
    licence.refresh_from_db()
    assert licence.code == LICENCE_CODE
    assert licence.face_fields == [
        {"name": "applicant_name", "label": "姓名", "type": "text"},
        {"name": "members", "label": "户内人数", "type": "number", "min": "1"},
    ]
    assert (licence.issuer_kind, licence.valid_years, licence.allow_multiple) == (
        "公安派出所",
        1,
        True,
    )
    assert AuditEvent.objects.filter(action="create_licence_type").count() == 1


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        (
            {"face_fields": [{"name": "姓名", "label": "姓名", "type": "text"}]},
            "licence_type_face_invalid",
            "face_fields[0].name",
        ),
        (
            {"face_fields": [{"name": "kind", "label": "户别", "type": "choice"}]},
            "licence_type_face_invalid",
            "face_fields[0].choices",
        ),
        (
            {
                "face_fields": [
                    {"name": "a", "label": "甲", "type": "text"},
                    {"name": "a", "label": "乙", "type": "date"},
                ]
            },
            "licence_type_face_invalid",
            "face_fields[1].name",
        ),
        ({"face_fields": [{"name": "a", "label": "甲"}]}, "licence_type_face_invalid", None),
        ({"valid_years": 0}, "licence_type_validity_invalid", None),
        ({"valid_years": 101}, "licence_type_validity_invalid", None),
        ({"issuer_kind": "机" * 65}, "licence_type_issuer_kind_too_long", None),
    ],
)
def test_bad_licence_type_is_refused_and_nothing_written(change, code, field):
    face = [{"name": "applicant_name", "label": "姓名", "type": "text"}]
    save_licence_type(
        code=LICENCE_CODE, name="户籍证明", face_fields=face, actor=SystemActor("test")
    )
    audit_rows = AuditEvent.objects.count()
    with pytest.raises(RuleViolation) as info:
        save_licence_type(
            **{"code": LICENCE_CODE, "name": "改名", "actor": SystemActor("test"), **change}
        )
    assert info.value.code == code
    if field:
        assert field in {p.field for p in info.value.problems}
        assert "照面字段" in str(info.value)
    stored = LicenceType.objects.get()
    assert (stored.name, stored.face_fields) == ("户籍证明", face)
    assert AuditEvent.objects.count() == audit_rows


def test_licence_result_is_published_only_when_the_form_gives_the_face():
    licence = save_licence_type(
        code=LICENCE_CODE,
        name="户籍证明",
        face_fields=[
            {"name": "reason", "label": "事由", "type": "text"},
            {"name": "registered_address", "label": "户籍地址", "type": "address"},
            {"name": "note", "label": "备注", "type": "text", "required": False},
        ],
        actor=SystemActor("test"),
    )
    version = builders.item(publish=False, result_type="licence", result_licence_type=licence)
    with pytest.raises(RuleViolation) as info:
        publish_item_version(version, actor=SystemActor("test"))
    [problem] = info.value.problems
    assert problem.field == "result_licence_type"
    assert "registered_address（户籍地址）" in problem.reason and "note" not in problem.reason
    version.form_fields = [
        *version.form_fields,
        {"name": "registered_address", "label": "户籍地址", "type": "address"},
    ]
    version.save()
    publish_item_version(version, actor=SystemActor("test"))
