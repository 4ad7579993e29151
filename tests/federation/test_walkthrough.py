"""The README's walk-through on three real nodes with their demo data: a company applies at
the Dalian window (Liaoning) for 食品经营许可证核发, owned by 长春市市场监督管理局 (Jilin); the
case is forwarded with its files, accepted, decided and its licence issued in Changchun;
the result comes back to Dalian and is handed over; the licence verifies on the Harbin node
(Heilongjiang). Every step is taken in the node that owns it, through its services, as an
operator's script would; the nodes talk only through the federation. Then a 多地联办 case
across two nodes: 户口迁移（迁入） accepted in Changchun, the old registration cancelled by
the Dalian police on the Liaoning node."""

import json
import urllib.request

import pytest
from django.db import connection

from tests.federation.nodes import start_cluster, wait_until

pytestmark = pytest.mark.nodes

FOOD = "010003000000-220100000000-000-11220100MB1972346M-3-00"
HUKOU = "070010100000-220100000000-000-11220100001325601D-3-00"

# Fills an item's form with valid answers, whatever its fields.
FORM = """
from catalog.form_schema import APPLICANT_FIELDS
from catalog.selectors import form_fields_of
OWN = {name for fields in APPLICANT_FIELDS.values() for name in fields}
def answers(version, **given):
    values = {"text": "演示", "textarea": "演示说明", "date": "2026-11-28", "number": "1",
              "division": "220100", "phone": "13904110000", "address": "吉林省长春市朝阳区人民大街 100 号"}
    out = {}
    for field in form_fields_of(version):
        if field.name in given:
            out[field.name] = given[field.name]
        elif field.name in OWN:
            continue  # filled from the applicant's own record
        elif field.type == "choice":
            out[field.name] = field.choices[0]
        elif field.type in values:
            out[field.name] = values[field.type]
        elif field.type == "uscc":
            out[field.name] = given.get("_uscc", "")
        elif field.type == "id_number":
            out[field.name] = given.get("_id_number", "")
    return out
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if connection.vendor != "sqlite":
        pytest.skip("node processes run on their own SQLite files: once, in the SQLite pass")
    nodes = start_cluster(
        tmp_path_factory.mktemp("walk"),
        ["liaoning", "jilin", "heilongjiang"],
        setup=[["load_demo"]],
    )
    for node in ("liaoning", "jilin"):
        nodes[node].manage("sync_zone")
    yield nodes
    nodes.stop()


def run(node, script):
    """Run a script in the node and return what it printed last, as JSON."""
    result = node.manage("shell", "--no-imports", "-c", script)
    return json.loads(result.stdout.strip().splitlines()[-1])


def state(node, number):
    rows = node.query("SELECT state FROM cases_case WHERE number = ?", number)
    return rows[0][0] if rows else None


def test_a_dalian_window_case_is_decided_in_changchun_and_comes_back(cluster):
    ln, jl, hl = cluster["liaoning"], cluster["jilin"], cluster["heilongjiang"]
    number = run(
        ln,
        FORM
        + f"""
import json
from django.contrib.auth.models import User
from accounts.models import Company
from catalog.models import ServiceItem
from catalog.selectors import current_version_of
from cases import engine, services
from cases.materials import add_material
clerk = User.objects.get(username="dl-zwfwzx-window-clerk")
item = ServiceItem.objects.get(code="{FOOD}")
assert item.organisation.node == "jilin", item.organisation.node
version = current_version_of(item)
company = Company.objects.get(name="沈阳北辰食品有限公司")
case = services.apply(actor=clerk, item_version=version,
    form_data=answers(version, _uscc=company.uscc, company_name=company.name),
    on_behalf_of={{"kind": "company", "uscc": company.uscc, "name": company.name,
                  "legal_representative": company.legal_representative}})
for m in version.materials.all():
    add_material(case, m, content=b"%PDF-1.4\\n% walk\\n%%EOF\\n", name="m.pdf", actor=clerk,
                 paper_custody="原件已核验，寄往长春市市场监督管理局")
for action in ("check_identity", "check_materials", "forward"):
    case = engine.take_action(case, action, actor=clerk)
print(json.dumps(case.number))
""",
    )
    assert state(ln, number) == "submitted"
    wait_until(lambda: state(jl, number) == "submitted", what="the case on the Jilin node")
    assert (
        jl.query(
            "SELECT COUNT(*) FROM cases_casematerial m JOIN cases_case c ON c.id = m.case_id "
            "WHERE c.number = ? AND m.node = 'liaoning'",
            number,
        )[0][0]
        >= 3
    )

    token = run(
        jl,
        f"""
import json
from django.contrib.auth.models import User
from cases import engine, services
from cases.models import Case
from licences.models import Licence
reviewer = User.objects.get(username="cc-scjgj-reviewer")
approver = User.objects.get(username="cc-scjgj-approver")
case = Case.objects.get(number="{number}")
for action, who in (("accept", reviewer), ("start_review", reviewer), ("approve", approver), ("issue_result", reviewer)):
    case = engine.take_action(case, action, actor=who)
print(json.dumps(Licence.objects.get(case_number=case.number).token))
""",
    )
    wait_until(lambda: state(ln, number) == "result_issued", what="the result back in Dalian")
    events = [
        row[0]
        for row in ln.query(
            "SELECT e.action FROM cases_caseevent e JOIN cases_case c ON c.id = e.case_id "
            "WHERE c.number = ? AND e.node = 'jilin' ORDER BY e.id",
            number,
        )
    ]
    assert events == ["accept", "start_review", "approve", "issue_licence", "issue_result"]

    run(
        ln,
        f"""
import json
from django.contrib.auth.models import User
from cases import engine, services
from cases.models import Case
clerk = User.objects.get(username="dl-zwfwzx-window-clerk")
case = engine.take_action(Case.objects.get(number="{number}"), "hand_over", actor=clerk)
print(json.dumps(case.state))
""",
    )
    wait_until(lambda: state(jl, number) == "closed", what="the hand-over told to Jilin")

    # The licence verifies on the Harbin node: offline signature, status asked from Jilin.
    request = urllib.request.Request(
        f"{hl.url}/api/v1/licences/verify",
        json.dumps({"token": token}).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        verdict = json.loads(response.read())
    assert verdict["outcome"] == "valid" and verdict["node"]["id"] == "jilin", verdict
    for node in (ln, jl, hl):
        assert node.json("federation_log", "verify", "--json")["problems"] == []


def test_a_household_transfer_is_done_by_two_nodes(cluster):
    ln, jl = cluster["liaoning"], cluster["jilin"]
    number = run(
        jl,
        FORM
        + f"""
import json
from django.contrib.auth.models import User
from accounts.models import Person
from catalog.models import ServiceItem
from catalog.selectors import current_version_of
from cases import engine, joint, services
from cases.materials import add_material
from core.models import Organisation
item = ServiceItem.objects.get(code="{HUKOU}")
version = current_version_of(item)
citizen = User.objects.get(username="citizen-zhangwei")
person = Person.objects.get(user=citizen)
case = services.start_case(item_version=version, form_data=answers(version, _id_number=person.id_number, move_from="210200"),
                           actor=citizen, person=person)
assert case.mode == "joint", case.mode
for m in version.materials.all():
    add_material(case, m, content=b"%PDF-1.4\\n% hukou\\n%%EOF\\n", name="m.pdf", actor=citizen)
case = engine.take_action(case, "submit", actor=citizen)
reviewer = User.objects.get(username="cc-gaj-reviewer")
case = engine.take_action(case, "accept", actor=reviewer)
move_out = Organisation.objects.get(name="大连市公安局")
assert move_out.node == "liaoning", move_out.node
case = engine.take_action(case, "assign_steps", actor=reviewer, data={{"steps": [
    {{"order": 1, "name": "准予迁入", "organisation": case.handling_org.uscc}},
    {{"order": 2, "name": "注销原户籍（迁出）", "organisation": move_out.uscc}},
]}})
approver = User.objects.get(username="cc-gaj-approver")
joint.complete_step(case.steps.get(order=1), passed=True, note="准予迁入", actor=approver)
print(json.dumps(case.number))
""",
    )
    wait_until(
        lambda: (
            ln.query(
                "SELECT COUNT(*) FROM cases_casestep s JOIN cases_case c ON c.id = s.case_id "
                "WHERE c.number = ? AND s.status = 'active'",
                number,
            )[0][0]
            == 1
        ),
        what="the move-out step on the Liaoning node",
    )
    run(
        ln,
        f"""
import json
from django.contrib.auth.models import User
from cases import joint
from cases.models import CaseStep
step = CaseStep.objects.get(case__number="{number}", status="active")
joint.complete_step(step, passed=True, note="已注销原户籍", actor=User.objects.get(username="dl-gaj-reviewer"))
print(json.dumps(step.pk))
""",
    )
    wait_until(lambda: state(jl, number) == "under_review", what="all steps done on the home node")
    assert [
        row[0]
        for row in jl.query(
            "SELECT s.status FROM cases_casestep s JOIN cases_case c ON c.id = s.case_id "
            'WHERE c.number = ? ORDER BY s."order"',
            number,
        )
    ] == ["done", "done"]
