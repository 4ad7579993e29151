"""Every role × every case action × own and foreign organisation and division: who can see
a case and who can act on it. The expectations are written out here, independently of the
workflow definition file, so a change to the file that widens a permission fails here."""

import datetime as dt

import pytest

from cases import engine, selectors, services
from cases import materials as case_materials
from cases.models import Case
from core.actors import SystemActor
from core.exceptions import RuleViolation
from tests import builders

ROLES = ["window_clerk", "reviewer", "approver", "org_admin", "supervisor", "catalog_maintainer"]
# (action, state it is taken from) → who may take it. "own:<role>" = that role in the
# organisation that received and handles the case.
EXPECTED = {
    ("submit", "draft"): {"applicant"},
    ("check_identity", "draft"): {"own:window_clerk"},
    ("check_materials", "identity_checked"): {"own:window_clerk"},
    ("submit", "formally_checked"): {"own:window_clerk"},
    ("withdraw", "submitted"): {"applicant"},
    ("request_payment", "submitted"): {"system"},
    ("withdraw", "awaiting_payment"): {"applicant"},
    ("accept", "submitted"): {"own:reviewer"},
    ("refuse_acceptance", "submitted"): {"own:reviewer"},
    ("request_supplement", "submitted"): {"own:reviewer"},
    ("supplement", "supplement_requested"): {"applicant", "own:window_clerk"},
    ("start_review", "accepted"): {"own:reviewer"},
    ("request_supplement", "under_review"): {"own:reviewer"},
    ("supplement", "review_supplement"): {"applicant", "own:window_clerk"},
    ("start_special_procedure", "under_review"): {"own:reviewer"},
    ("end_special_procedure", "special_procedure"): {"own:reviewer"},
    ("approve", "under_review"): {"own:approver"},
    ("deny", "under_review"): {"own:approver"},
    ("issue_result", "approved"): {"own:reviewer", "own:approver"},
    ("deliver", "result_issued"): {"own:reviewer", "own:approver"},
    ("close", "delivered"): {"own:reviewer", "own:approver"},
    ("close", "denied"): {"own:reviewer", "own:approver"},
    ("terminate", "under_review"): {"system"},
    ("revoke_decision", "closed"): {"system"},
}
# How to reach each state from a submitted case: (action, who, data).
PATHS = {
    "draft": [],
    "identity_checked": [("check_identity", "own:window_clerk")],
    "formally_checked": [
        ("check_identity", "own:window_clerk"),
        ("check_materials", "own:window_clerk"),
    ],
    "submitted": [("submit", "applicant")],
    # The item charges a fee (待缴费 is reached by the system's step after submitting).
    "awaiting_payment": [("submit", "applicant"), ("request_payment", "system")],
    "supplement_requested": [("submit", "applicant"), ("request_supplement", "own:reviewer")],
    "accepted": [("submit", "applicant"), ("accept", "own:reviewer")],
    "under_review": [
        ("submit", "applicant"),
        ("accept", "own:reviewer"),
        ("start_review", "own:reviewer"),
    ],
}
PATHS["review_supplement"] = [*PATHS["under_review"], ("request_supplement", "own:reviewer")]
PATHS["special_procedure"] = [*PATHS["under_review"], ("start_special_procedure", "own:reviewer")]
PATHS["approved"] = [*PATHS["under_review"], ("approve", "own:approver")]
PATHS["denied"] = [*PATHS["under_review"], ("deny", "own:approver")]
PATHS["result_issued"] = [*PATHS["approved"], ("issue_result", "own:reviewer")]
PATHS["delivered"] = [*PATHS["result_issued"], ("deliver", "own:reviewer")]
PATHS["closed"] = [*PATHS["delivered"], ("close", "own:reviewer")]


@pytest.fixture
def people():
    own = builders.organisation("大连市民政局", "210200")
    foreign = builders.organisation("长春市民政局", "220100")
    actors = {
        "applicant": builders.person("赵六").user,
        "other_citizen": builders.person("钱七").user,
        "system": SystemActor("test"),
    }
    for role in ROLES:
        actors[f"own:{role}"] = builders.staff(role, own)
        actors[f"foreign:{role}"] = builders.staff(role, foreign)
    # A supervisor of Liaoning (own division, via a provincial organisation) and of Jilin.
    actors["province:supervisor"] = builders.staff(
        "supervisor", builders.organisation("辽宁省营商环境建设局", "210000")
    )
    version = builders.item(
        "婚姻登记档案查询",
        org=own,
        promised_limit=10,
        special_procedures=[{"name": "档案调阅", "limit": 5}],
        fee_charged=True,
        fees=[{"name": "档案查询费", "amount": "10", "basis": "省发展改革委核定"}],
    )
    return actors, version


def _data(action: str, version) -> dict:
    if action == "request_supplement":
        return {
            "materials": [version.materials.first().pk],
            "due_date": (dt.date.today() + dt.timedelta(days=7)).isoformat(),
        }
    if action == "start_special_procedure":
        return {"procedure": "档案调阅"}
    return {}


def _case_in(state: str, actors, version) -> Case:
    applicant = actors["applicant"]
    case = services.start_case(
        item_version=version, form_data={"reason": "查询"}, person=applicant.person, actor=applicant
    )
    for m in version.materials.all():
        case_materials.add_material(
            case, m, content=builders.uploaded_pdf(m.name), name="m.pdf", actor=applicant
        )
    for action, who in PATHS[state]:
        if action == "supplement":
            continue
        case = engine.take_action(
            case, action, actor=actors[who], note="说明", data=_data(action, version)
        )
    assert case.state == state
    return case


@pytest.mark.parametrize(("action", "state"), list(EXPECTED))
def test_who_may_act(people, action, state):
    actors, version = people
    case = _case_in(state, actors, version)
    allowed = EXPECTED[(action, state)]
    for name, actor in actors.items():
        if name in allowed:
            continue
        with pytest.raises(RuleViolation) as info:
            engine.take_action(case, action, actor=actor, note="说明", data=_data(action, version))
        assert (info.value.code, info.value.status) == ("action_forbidden", 403), name
        case.refresh_from_db()
        assert case.state == state
    taker = sorted(allowed)[0]
    if action == "supplement":
        material = version.materials.first()
        case_materials.add_material(
            case,
            material,
            content=builders.uploaded_pdf("new"),
            name="n.pdf",
            actor=actors["applicant"],
        )
    case = engine.take_action(
        case, action, actor=actors[taker], note="说明", data=_data(action, version)
    )
    assert case.state != state


def test_who_may_see(people):
    actors, version = people
    case = _case_in("submitted", actors, version)
    sees = {
        "applicant",
        "own:window_clerk",
        "own:reviewer",
        "own:approver",
        "own:org_admin",
        "own:supervisor",
        "province:supervisor",
    }
    for name, actor in actors.items():
        if name == "system":
            continue
        visible = Case.objects.for_user(actor).filter(pk=case.pk).exists()
        assert visible == (name in sees), name
        if not visible:
            with pytest.raises(RuleViolation) as info:
                selectors.get_case_for(actor, case.number)
            assert info.value.status == 404
