"""Catalog data for the portal pages, built through the catalog's services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from catalog.models import ItemList, ItemVersion, ListEntry, ListVersion
from catalog.services import draft_list_version, publish_list_version
from core.actors import SystemActor
from tests import builders


@dataclass
class Catalog:
    """A small published catalog: three items and one list per zone."""

    household: ItemVersion
    social: ItemVersion
    licence: ItemVersion
    cross: ItemList
    regional: ItemList
    local: ItemList


def publish_list(
    lst: ItemList,
    entries: list[tuple[ItemVersion, list[str]]],
    *,
    number: int = 1,
    effective_from: dt.date = dt.date(2024, 6, 1),
    note: str = "首次发布",
) -> ListVersion:
    """A published list version whose entries each name their own modes."""
    version = ListVersion.objects.create(
        item_list=lst, number=number, effective_from=effective_from, change_note=note
    )
    for position, (item_version, modes) in enumerate(entries, start=1):
        ListEntry.objects.create(
            list_version=version, item=item_version.item, modes=modes, position=position
        )
    return publish_list_version(version, actor=SystemActor("test"))


@pytest.fixture
def catalog() -> Catalog:
    scheme = builders.northeast_scheme()
    police = builders.organisation("沈阳市公安局", "210100")
    hrss = builders.organisation("辽宁省人力资源和社会保障厅", "210000")
    market = builders.organisation("大连市市场监督管理局", "210200")
    household = builders.item(
        "户口迁移（夫妻投靠）",
        org=police,
        themes=("household", "marriage_birth"),
        scopes=(("cross_province", "online"), ("regional", "proxy"), ("in_province", "online")),
        scheme=scheme,
    )
    social = builders.item(
        "社会保障卡申领",
        org=hrss,
        themes=("social_security",),
        scopes=(("cross_province", "online"), ("in_province", "online")),
        promised_limit=5,
    )
    licence = builders.item(
        "工业产品生产许可证核发",
        org=market,
        audience="company",
        themes=("business",),
        scopes=(("regional", "proxy"),),
        scheme=scheme,
    )
    cross = builders.item_list("cross-province", "cross_province", name="全国跨省通办事项清单")
    publish_list(cross, [(household, ["online"]), (social, ["online"])])
    regional = builders.item_list(
        "northeast", "regional", scheme=scheme, name="东北三省一区区域通办事项清单"
    )
    publish_list(regional, [(household, ["proxy"]), (licence, ["proxy"])])
    local = builders.item_list("in-province", "in_province", name="辽宁省省内通办事项清单")
    publish_list(local, [(household, ["online"]), (social, ["online"])])
    return Catalog(household, social, licence, cross, regional, local)


@pytest.fixture
def two_list_versions(catalog: Catalog) -> tuple[ListVersion, ListVersion]:
    """The cross-province list again as version 2: 居民身份证换领 added, the social
    security item's note changed, the household item removed."""
    old = catalog.cross.versions.get(number=1)
    id_card = builders.item("居民身份证换领", scopes=(("cross_province", "proxy"),))
    draft = draft_list_version(
        catalog.cross,
        effective_from=dt.date(2025, 1, 1),
        actor=SystemActor("test"),
        change_note="新增居民身份证换领；移除户口迁移",
    )
    draft.entries.filter(item=catalog.household.item).delete()
    entry = draft.entries.get(item=catalog.social.item)
    entry.note = "可通过辽事通办理"
    entry.save()
    ListEntry.objects.create(list_version=draft, item=id_card.item, modes=["proxy"], position=9)
    new = publish_list_version(draft, actor=SystemActor("test"))
    return old, new


@pytest.fixture
def world():
    """Organisations, an item with 容缺 and 告知承诺, staff and applicants (tests/case_pages.py)."""
    from tests.case_pages import build_world

    return build_world()
