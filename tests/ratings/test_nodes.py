"""好差评 on two real nodes with their demo data: the company's agent rates the result of a
case received at the Dalian window (Liaoning) and decided in Changchun (Jilin); the rating
reaches the Jilin node, once, and opens the rectification of 长春市市场监督管理局 there."""

import pytest
from django.db import connection

from tests.federation.nodes import start_cluster, wait_until
from tests.federation.test_walkthrough import FOOD, FORM, run, state

pytestmark = pytest.mark.nodes


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if connection.vendor != "sqlite":
        pytest.skip("node processes run on their own SQLite files: once, in the SQLite pass")
    nodes = start_cluster(
        tmp_path_factory.mktemp("ratings"), ["liaoning", "jilin"], setup=[["load_demo"]]
    )
    for node in ("liaoning", "jilin"):
        nodes[node].manage("sync_zone")
    yield nodes
    nodes.stop()


def test_a_rating_of_a_changchun_decision_reaches_changchun(cluster):
    ln, jl = cluster["liaoning"], cluster["jilin"]
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
version = current_version_of(ServiceItem.objects.get(code="{FOOD}"))
company = Company.objects.get(name="沈阳北辰食品有限公司")
case = services.apply(actor=clerk, item_version=version,
    form_data=answers(version, _uscc=company.uscc, company_name=company.name),
    on_behalf_of={{"kind": "company", "uscc": company.uscc, "name": company.name,
                  "legal_representative": company.legal_representative}})
for m in version.materials.all():
    add_material(case, m, content=b"%PDF-1.4\\n% rate\\n%%EOF\\n", name="m.pdf", actor=clerk)
for action in ("check_identity", "check_materials", "forward"):
    case = engine.take_action(case, action, actor=clerk)
print(json.dumps(case.number))
""",
    )
    wait_until(lambda: state(jl, number) == "submitted", what="the case on the Jilin node")
    run(
        jl,
        f"""
import json
from django.contrib.auth.models import User
from cases import engine
from cases.models import Case
reviewer = User.objects.get(username="cc-scjgj-reviewer")
approver = User.objects.get(username="cc-scjgj-approver")
case = Case.objects.get(number="{number}")
for action, who in (("accept", reviewer), ("start_review", reviewer), ("approve", approver), ("issue_result", reviewer)):
    case = engine.take_action(case, action, actor=who)
print(json.dumps(case.state))
""",
    )
    wait_until(lambda: state(ln, number) == "result_issued", what="the result back in Dalian")
    uid = run(
        ln,
        f"""
import json
from django.contrib.auth.models import User
from cases import engine
from cases.models import Case
from ratings import services
from ratings.models import Invitation
clerk = User.objects.get(username="dl-zwfwzx-window-clerk")
engine.take_action(Case.objects.get(number="{number}"), "hand_over", actor=clerk)
agent = User.objects.get(username="agent-beichen")
assert Invitation.objects.get(reference="{number}", event="result").rater == agent
rating = services.rate(services.RatingIn(subject_kind="case", reference="{number}",
    event="result", level=1, options=["repeat_visits"], text="补了三次材料", channel="mobile"),
    actor=agent)
assert rating.organisation.node == "jilin", rating.organisation
print(json.dumps(str(rating.uid)))
""",
    )
    # No rectification of it here (the demo's own ratings have theirs).
    assert ln.count("ratings_rating", "reference = ?", number) == 1
    assert not ln.query(
        "SELECT r.id FROM ratings_rectification r JOIN ratings_rating g ON g.id = r.rating_id "
        "WHERE g.reference = ?",
        number,
    )

    def arrived():
        return jl.count("ratings_rating", "uid = ?", uid.replace("-", "")) == 1

    wait_until(arrived, what="the rating on the Jilin node")
    rectification = run(
        jl,
        f"""
import json
from django.contrib.auth.models import User
from ratings.models import Rating, Rectification
rating = Rating.objects.get(reference="{number}")
r = Rectification.objects.get(rating=rating)
reviewer = User.objects.get(username="cc-scjgj-reviewer")
outsider = User.objects.get(username="cc-rsj-reviewer")
print(json.dumps({{"org": r.organisation.name, "state": r.state, "node": rating.node,
    "evaluator": rating.evaluator_id, "due": str(r.due_date),
    "mine": Rectification.objects.for_user(reviewer).filter(pk=r.pk).exists(),
    "theirs": Rectification.objects.for_user(outsider).filter(pk=r.pk).exists()}}))
""",
    )
    assert rectification["org"] == "长春市市场监督管理局"
    assert rectification["state"] == "awaiting_callback" and rectification["node"] == "liaoning"
    assert rectification["evaluator"] is None and rectification["due"] != "None"
    assert rectification["mine"] and not rectification["theirs"]
    assert jl.count("ratings_rectification") == 1
    for node in (ln, jl):
        assert node.json("federation_log", "verify", "--json")["problems"] == []
