"""12345 tickets are a rated subject kind: a phone caller's bad rating, recorded by the
agent, opens a rectification of the lead organisation."""

from hotline.engine import take_action
from ratings import services
from ratings.models import Rectification
from ratings.registry import SUBJECT_KINDS
from ratings.services import RatingIn
from tests.hotline.conftest import make_world


def test_a_ticket_rating_reaches_the_lead_organisation():
    assert "ticket" in SUBJECT_KINDS and "case" in SUBJECT_KINDS
    world = make_world()
    ticket = world.ticket()
    take_action(ticket, "accept", actor=world.agent)
    take_action(
        ticket,
        "dispatch",
        actor=world.agent,
        data={"category": "heating", "lead": world.housing.uscc, "co": []},
    )
    take_action(ticket, "sign", actor=world.housing_reviewer)
    take_action(ticket, "reply", actor=world.housing_reviewer, data={"reply": "已处理"})
    take_action(ticket, "call_back", actor=world.agent, data={"outcome": "unsatisfied"})
    take_action(ticket, "close", actor=world.agent)
    rating = services.rate(
        RatingIn(
            subject_kind="ticket",
            reference=ticket.number,
            event="handling",
            level=2,
            channel="phone",
        ),
        actor=world.agent,
    )
    assert rating.evaluator is None and rating.recorded_by == world.agent
    assert Rectification.objects.get().organisation == world.housing
