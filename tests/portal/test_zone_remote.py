"""The regional zone page with the items of every member node: each remote item names the
node that handles it, the page says when each member's data were last updated, filters by
member province, keeps a constant number of queries; a remote item's guide says who handles
it and still offers applying here (the cases app routes the case to its owner)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog import zone
from catalog.models import ZoneSource
from core.actors import SystemActor
from core.models import Organisation
from tests import builders
from tests.portal.html import assert_accessible_structure, text

ANSWER = Path(__file__).parents[1] / "catalog" / "data" / "jilin_zone.json"
CERTIFICATE = "200000100000-220100000000-000-11220100001325601D-3-00"  # 开具户籍类证明
SYNCED = dt.datetime(2026, 11, 29, 1, 30, tzinfo=dt.UTC)  # 09:30 in Beijing


def get_text(client: Client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, url
    assert_accessible_structure(response.content)
    return text(response.content)


def cache_jilin(*, error: str = "") -> ZoneSource:
    """Jilin's items as a sync leaves them: imported, with the source's record."""
    answer = json.loads(ANSWER.read_text(encoding="utf-8"))
    imported = zone.import_zone(answer, node="jilin", division="220000", actor=SystemActor("test"))
    return ZoneSource.objects.create(
        node="jilin",
        name="吉林省",
        synced_at=SYNCED,
        attempted_at=SYNCED + dt.timedelta(minutes=10) if error else SYNCED,
        item_count=imported.items,
        offered=imported.entries,
        last_error=error,
    )


@pytest.fixture
def jilin(catalog) -> ZoneSource:
    """The portal's small catalog (Liaoning) and Jilin's cached items."""
    return cache_jilin()


def test_zone_lists_the_items_of_every_member_with_their_node(client, jilin):
    page = get_text(client, "/zones/regional/")
    assert "区域通办专区（东北三省一区）" in page
    assert "户口迁移（夫妻投靠） 沈阳市公安局 沈阳市 异地代收代办 10 个工作日" in page
    assert "开具户籍类证明 吉林省 · 长春市公安局 长春市" in page
    assert "就业登记 吉林省 · 长春市人力资源和社会保障局 长春市" in page
    assert "区域通办专区事项（共 4 项）" in page
    # This node's items come first.
    assert page.index("工业产品生产许可证核发") < page.index("开具户籍类证明")


def test_zone_says_when_each_members_data_were_updated(client, jilin):
    page = get_text(client, "/zones/regional/")
    assert "成员省份的事项数据" in page
    assert "辽宁省：本平台事项" in page
    assert "吉林省：数据更新于 2026年11月29日 09:30，共 2 项" in page


def test_a_member_that_could_not_be_reached_keeps_its_items(client, catalog):
    cache_jilin(error="无法连接：Connection refused")
    page = get_text(client, "/zones/regional/")
    assert (
        "吉林省：数据更新于 2026年11月29日 09:30，共 2 项（2026年11月29日 09:40 同步未成功，暂显示此前的数据）"
        in page
    )
    assert "开具户籍类证明 吉林省 · 长春市公安局" in page


def test_zone_filters_by_member_province(client, jilin):
    html = client.get("/zones/regional/").content.decode()
    assert '<label for="id_node">成员省份</label>' in html
    assert '<option value="jilin">吉林省</option>' in html
    assert '<option value="liaoning">辽宁省</option>' in html
    page = get_text(client, "/zones/regional/?node=jilin")
    assert "开具户籍类证明" in page and "就业登记" in page
    assert "户口迁移（夫妻投靠）" not in page
    page = get_text(client, "/zones/regional/?node=liaoning")
    assert "户口迁移（夫妻投靠）" in page and "工业产品生产许可证核发" in page
    assert "开具户籍类证明" not in page
    page = get_text(client, "/zones/regional/?node=jilin&audience=company")
    assert "没有符合条件的事项" in page
    page = get_text(client, "/zones/regional/?node=shanghai")
    assert "未知的成员省份“shanghai”，已忽略该条件。" in page
    assert "开具户籍类证明" in page and "户口迁移（夫妻投靠）" in page


def test_home_counts_the_items_of_every_member(client, jilin):
    assert "区域通办专区（东北三省一区） 4 项可办事项" in get_text(client, "/")


def test_the_guide_of_a_remote_item_names_its_node_and_its_sync(client, jilin):
    page = get_text(client, f"/items/{CERTIFICATE}/")
    assert "吉林省 · 长春市公安局 · 长春市" in page
    assert "本事项由吉林省办理" in page
    assert "在本平台提交的申请将转交吉林省政务服务平台受理和办理" in page
    assert "数据更新于 2026年11月29日 09:30" in page
    assert "办理省份 吉林省（由该省政务服务平台办理）" in page
    html = client.get(f"/items/{CERTIFICATE}/").content.decode()
    assert f'href="/items/{CERTIFICATE}/apply/"' in html  # applied for here, routed there


def test_the_guide_of_a_local_item_names_no_other_node(client, jilin, catalog):
    page = get_text(client, f"/items/{catalog.household.item.code}/")
    assert "本事项由" not in page and "办理省份" not in page


def test_the_guide_of_an_item_whose_node_was_never_synced_still_names_it(client):
    org = builders.organisation("长春市市场监督管理局", "220100")
    Organisation.objects.filter(pk=org.pk).update(node="jilin")
    org.refresh_from_db()
    version = builders.item("食品经营许可证核发", org=org)
    page = get_text(client, f"/items/{version.item.code}/")
    assert "本事项由jilin办理" in page
    assert "数据更新于" not in page


def test_a_remote_item_can_be_applied_for_here(client, world):
    cache_jilin()
    client.force_login(world.applicant.user)
    response = client.get(f"/items/{CERTIFICATE}/apply/")
    assert response.status_code == 200
    assert "开具户籍类证明" in text(response.content)


def remote_items(node: str, division: str, count: int, start: int) -> None:
    scheme = builders.northeast_scheme()
    source, _ = ZoneSource.objects.get_or_create(
        node=node, defaults={"name": node, "synced_at": timezone.now()}
    )
    for n in range(start, start + count):
        org = builders.organisation(f"{node}测试部门{n}", division)
        Organisation.objects.filter(pk=org.pk).update(node=node)
        org.refresh_from_db()
        version = builders.item(
            f"{node}区域事项{n:02d}",
            org=org,
            themes=("household", "medical"),
            scopes=(("regional", "proxy"), ("regional", "online")),
            scheme=scheme,
        )
        source.offered.append({"item": version.item.code, "modes": ["proxy", "online"]})
    source.save(update_fields=["offered"])


@pytest.mark.parametrize(
    "url", ["/zones/regional/", "/zones/regional/?theme=medical&audience=person&node=jilin"]
)
def test_zone_query_count_does_not_grow_with_items_or_nodes(
    client, catalog, url, django_assert_num_queries
):
    remote_items("jilin", "220100", 2, 0)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    remote_items("jilin", "220100", 6, 2)
    remote_items("heilongjiang", "230100", 6, 8)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(url)
    page = text(response.content)
    assert "jilin区域事项07" in page
    if "node=jilin" not in url:
        assert "heilongjiang · heilongjiang测试部门13" in page


def test_the_zone_is_exactly_the_members_lists_in_force(client, jilin, catalog):
    """An item taken off a member's regional list is gone from the zone and its count,
    whatever its availabilities still say; the count equals the rows."""
    page = get_text(client, "/zones/regional/")
    assert "开具户籍类证明" in page and "区域通办专区事项（共 4 项）" in page
    jilin.offered = [e for e in jilin.offered if e["item"] != CERTIFICATE]
    jilin.save(update_fields=["offered"])
    page = get_text(client, "/zones/regional/")
    assert "开具户籍类证明" not in page and "区域通办专区事项（共 3 项）" in page
    assert "区域通办专区（东北三省一区） 3 项可办事项" in get_text(client, "/")
