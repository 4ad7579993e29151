"""Licences across real nodes: Jilin seals and issues a licence, Heilongjiang verifies its
token offline from the directory's seals and asks Jilin for its status — valid, then not
confirmable while Jilin is down, then revoked once Jilin revokes it. Each node is a web
server and a worker with its own SQLite database (tests/federation/nodes.py)."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

import pytest
from django.db import connection

from tests.federation.nodes import NodeProcess, start_cluster

pytestmark = pytest.mark.nodes

# 长春市公安局 on the Jilin node, with a seal: made before the nodes export their keys, so
# that the seal is in Jilin's directory entry. The other nodes make nothing.
SEAL = """
from django.conf import settings
from core.actors import SystemActor
from stdnum.cn import uscc
from core.models import Division
from core.services import save_organisation
from licences.services import create_seal
if settings.NODE_ID == "jilin":
    body = "1122010000000001" + "0"
    org = save_organisation(uscc=body + uscc.calc_check_digit(body), name="长春市公安局",
                            division=Division.objects.get(code="220100"), actor=SystemActor("test"))
    create_seal(org, actor=SystemActor("test"), name="长春市公安局户籍专用章")
"""

ISSUE = """
from stdnum.cn import ric
from core.actors import SystemActor
from catalog.models import LicenceType
from core.models import Organisation
from licences.services import Holder, issue_licence
face = [{"name": "registered_address", "label": "户籍地址", "type": "address"}]
licence_type, _ = LicenceType.objects.get_or_create(
    code="11100000000013338W011",
    defaults={"name": "居民户籍证明", "face_fields": face, "valid_years": 1},
)
first17 = "22010219900101123"
holder = Holder("李四", "111", first17 + ric.calc_check_digit(first17 + "0"))
licence = issue_licence(licence_type=licence_type, holder=holder,
                        issuer=Organisation.objects.get(name="长春市公安局"),
                        face_data={"registered_address": "吉林省长春市南关区人民大街1号"},
                        case_number="JL-20261128-000001", actor=SystemActor("test"))
print(json.dumps({"identifier": licence.identifier, "token": licence.token}))
"""

REVOKE = """
from licences.models import Licence
from licences.services import revoke_licence
from core.actors import SystemActor
revoke_licence(Licence.objects.get(identifier="{identifier}"), reason="决定被撤销", actor=SystemActor("test"))
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if connection.vendor != "sqlite":
        pytest.skip("node processes run on their own SQLite files: once, in the SQLite pass")
    nodes = start_cluster(
        tmp_path_factory.mktemp("licence-nodes"),
        ["jilin", "heilongjiang"],
        setup=[["shell", "-c", SEAL]],
    )
    yield nodes
    nodes.stop()


def _shell(node: NodeProcess, script: str) -> str:
    return node.manage("shell", "-c", "import json\n" + script).stdout.strip().splitlines()[-1]


def _verify_by_api(node: NodeProcess, token: str) -> dict:
    request = urllib.request.Request(
        f"{node.url}/api/v1/licences/verify",
        json.dumps({"token": token}).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def _verify_page(node: NodeProcess, token: str) -> str:
    query = urllib.parse.urlencode({"t": token})
    with urllib.request.urlopen(f"{node.url}/verify/?{query}", timeout=30) as response:
        return response.read().decode()


def test_a_licence_of_jilin_verifies_on_heilongjiang_until_jilin_revokes_it(cluster):
    jl, hl = cluster["jilin"], cluster["heilongjiang"]
    issued = json.loads(_shell(jl, ISSUE))
    token, identifier = issued["token"], issued["identifier"]

    answer = _verify_by_api(hl, token)
    assert answer["outcome"] == "valid", answer["reason"]
    assert answer["signature_ok"] and answer["status"] == "valid" and answer["status_checked"]
    assert answer["identifier"] == identifier
    assert answer["node"] == {
        "id": "jilin",
        "name": "吉林省政务服务通办平台",
        "label": "吉林省节点",
        "local": False,
    }
    assert answer["face"]["isn"] == "长春市公安局" and answer["face"]["hn"] == "李*"
    page = _verify_page(hl, token)
    assert "核验结果：<strong>有效</strong>" in page and "吉林省节点" in page
    assert "已向签发节点（吉林省节点）查询撤销状态：有效" in page
    # The holder, on Jilin, sees that another node verified the licence.
    asked = jl.query(
        "SELECT e.actor_label, e.outcome FROM licences_licenceevent e "
        "JOIN licences_licence l ON l.id = e.licence_id "
        "WHERE e.kind = 'verified' AND l.identifier = ?",
        identifier,
    )
    assert asked and set(asked) == {("黑龙江省政务服务通办平台", "valid")}

    jl.stop()
    try:
        down = _verify_by_api(hl, token)
    finally:
        jl.start()
    assert down["outcome"] == "unconfirmed" and down["code"] == "status_unavailable"
    assert down["reason"] == "签名有效（由吉林省节点签发），状态暂无法向签发节点核实"
    assert down["signature_ok"] and not down["status_checked"]

    _shell(jl, REVOKE.replace("{identifier}", identifier) + "print('ok')")
    revoked = _verify_by_api(hl, token)
    assert revoked["outcome"] == "revoked" and revoked["status"] == "revoked", revoked
    assert "吉林省节点" in revoked["reason"]
    assert "核验结果：<strong>已撤销</strong>" in _verify_page(hl, token)

    # Both sides logged every question and signed answer, and their logs verify.
    for node in (jl, hl):
        assert node.count("federation_logentry", "kind = 'licence.status'") >= 4
        assert node.json("federation_log", "verify", "--json")["problems"] == []
