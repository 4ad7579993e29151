"""The regional view on real nodes with their demo data: Liaoning asks the other members
`supervision.figures` through the exchange and keeps their aggregates; nothing personal
is in what crossed (the envelopes of the exchange's log)."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.federation.nodes import start_cluster
from tests.federation.test_walkthrough import run

pytestmark = pytest.mark.nodes

NODES = ["liaoning", "jilin", "heilongjiang", "neimenggu"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if connection.vendor != "sqlite":
        pytest.skip("node processes run on their own SQLite files: once, in the SQLite pass")
    nodes = start_cluster(tmp_path_factory.mktemp("supervision"), NODES, setup=[["load_demo"]])
    yield nodes
    nodes.stop()


def test_the_region_sees_four_nodes_aggregates_only(cluster):
    ln = cluster["liaoning"]
    rows = run(
        ln,
        """
import json
from supervision import region
rows = region.sync_region()
print(json.dumps([[r.node, r.last_error, r.figures.get("summary", {}).get("received")] for r in rows]))
""",
    )
    assert sorted(node for node, _, _ in rows) == sorted(NODES)
    assert all(error == "" for _, error, _ in rows), rows
    jilin_cases = run(
        cluster["jilin"],
        "import json\nfrom cases.models import Case\n"
        "print(json.dumps(Case.objects.filter(submitted_at__isnull=False, handling_org__node='').count()))",
    )
    assert dict((n, r) for n, _, r in rows)["jilin"] == jilin_cases
    crossed = run(
        ln,
        """
import json
from supervision.models import RegionalFigures
from cases.models import Case
from accounts.models import Person
stored = json.dumps([r.figures for r in RegionalFigures.objects.exclude(node="liaoning")], ensure_ascii=False)
names = [p.name for p in Person.objects.all()]
print(json.dumps({"names": [n for n in names if n in stored], "numbers": "-2026" in stored or "JL-" in stored}))
""",
    )
    assert crossed == {"names": [], "numbers": False}
