"""The regional zone between two real nodes on loopback, each with its demo catalog in its
own database: Liaoning syncs and holds Jilin's regional items as Jilin's, and its zone page
names Jilin as the node that handles them."""

import urllib.request

import pytest
from django.db import connection

from tests.federation.nodes import start_cluster, wait_until

pytestmark = pytest.mark.nodes

REGIONAL_ITEMS = """
    SELECT DISTINCT i.code FROM catalog_serviceitem i
    JOIN core_organisation o ON o.id = i.organisation_id
    JOIN catalog_itemversion v ON v.item_id = i.id
    JOIN catalog_availability a ON a.version_id = v.id
    WHERE o.node = ? AND v.status = 'published' AND a.scope = 'regional'
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if connection.vendor != "sqlite":
        pytest.skip("node processes run on their own SQLite files: once, in the SQLite pass")
    nodes = start_cluster(
        tmp_path_factory.mktemp("zone"), ["liaoning", "jilin"], setup=[["load_demo"]]
    )
    yield nodes
    nodes.stop()


def test_jilins_regional_items_arrive_in_liaoning_as_jilins(cluster):
    ln, jl = cluster["liaoning"], cluster["jilin"]
    offered = {code for (code,) in jl.query(REGIONAL_ITEMS, "")}
    assert offered
    own = {code for (code,) in ln.query(REGIONAL_ITEMS, "")}
    # The worker syncs once when it starts; wait for that attempt so the two do not overlap.
    wait_until(
        lambda: ln.count("catalog_zonesource", "node='jilin' AND attempted_at IS NOT NULL"),
        what="the worker's first sync",
    )
    out = ln.manage("sync_zone").stdout
    assert f"吉林省（jilin）：{len(offered)} 项事项" in out
    assert {code for (code,) in ln.query(REGIONAL_ITEMS, "jilin")} == offered
    assert {code for (code,) in ln.query(REGIONAL_ITEMS, "")} == own
    assert ln.query("SELECT item_count, last_error FROM catalog_zonesource WHERE node='jilin'") == [
        (len(offered), "")
    ]
    versions = "SELECT COUNT(*) FROM catalog_itemversion"
    before = ln.query(versions)
    assert "未变" in ln.manage("sync_zone").stdout
    assert ln.query(versions) == before
    with urllib.request.urlopen(f"{ln.url}/zones/regional/?node=jilin", timeout=10) as response:
        page = response.read().decode()
    assert "吉林省 · 长春市市场监督管理局" in page
    assert "吉林省：数据更新于" in page
