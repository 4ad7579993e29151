"""A rating on a two-node case reaches the organisation that did the rated part: seen
from the receiving node (Dalian, where the applicant was served) and from the handling
node (the rating arrives, exactly once, and opens the rectification there)."""

import json
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser

from cases import engine as case_engine
from core.exceptions import RuleViolation
from federation import services as exchange
from federation.models import LogEntry
from ratings import services
from ratings.models import Invitation, Rating, Rectification
from ratings.services import RatingIn
from tests import builders
from tests.cases.test_exchange import _remote_item


def _sent(kind):
    return [
        json.loads(e.body)
        for e in LogEntry.objects.filter(kind=kind, direction="out", entry_type="envelope")
    ]


def test_a_rating_of_the_handling_node_travels_there(federation):
    version = _remote_item()
    changchun = version.item.organisation
    case, clerk = builders.checked_window_case(version)
    case = case_engine.take_action(case, "forward", actor=clerk)
    organisation = {
        "uscc": changchun.uscc,
        "name": changchun.name,
        "kind": "department",
        "division": "220100",
    }
    for action, state in [
        ("accept", "submitted"),
        ("start_review", "accepted"),
        ("approve", "under_review"),
        ("issue_result", "approved"),
        ("close", "result_issued"),
    ]:
        exchange.receive(
            *federation.jilin.envelope(
                "case.action",
                {
                    "number": case.number,
                    "action": action,
                    "from_state": state,
                    "actor": "cc-reviewer",
                    "organisation": organisation,
                },
            )
        )
    # The applicant was served at the Dalian window without an account: the code on the
    # hand-over receipt is their invitation.
    invitation = Invitation.objects.get(reference=case.number, event="result")
    assert invitation.rater is None
    rating = services.rate(
        RatingIn(
            subject_kind="case",
            reference=case.number,
            event="result",
            level=1,
            options=["slow"],
            channel="qr",
        ),
        actor=AnonymousUser(),
        invitation=invitation,
    )
    assert rating.organisation == changchun and rating.evaluator is None
    assert rating.evaluator_label == "李*"
    assert not Rectification.objects.exists()  # Changchun's, not ours
    (sent,) = _sent("rating.given")
    assert sent["receiver"] == "jilin" and sent["payload"]["uid"] == str(rating.uid)
    assert sent["payload"]["organisation"] == changchun.uscc
    assert "李四" not in json.dumps(sent)
    # The rating of the fix waits for Changchun to report it done.
    follow_up = RatingIn(
        subject_kind="case",
        reference=case.number,
        event="result",
        level=4,
        channel="qr",
        follow_up=True,
    )
    with pytest.raises(RuleViolation) as info:
        services.rate(follow_up, actor=AnonymousUser(), invitation=invitation)
    assert info.value.code == "rating_follow_up_before_fix"
    # Changchun reports the fix: the citizen may now rate it, and that travels too.
    exchange.receive(
        *federation.jilin.envelope("rating.fixed", {"uid": str(rating.uid), "measures": "已提速"})
    )
    assert LogEntry.objects.filter(kind="rating.fixed", direction="in").exists()
    services.rate(follow_up, actor=AnonymousUser(), invitation=invitation)
    assert len(_sent("rating.given")) == 2


def test_a_rating_from_the_receiving_node_opens_the_rectification_here_once(federation):
    org = builders.organisation("大连市公安局", "210200")
    reviewer = builders.staff("reviewer", org)
    payload = {
        "uid": str(uuid.uuid4()),
        "subject_kind": "case",
        "reference": "JL-20261129-000009",
        "event": "result",
        "round": 1,
        "level": 2,
        "channel": "mobile",
        "option_set": 1,
        "options": ["slow"],
        "text": "出证慢",
        "organisation": org.uscc,
        "service_name": "开具户籍类证明（办结）",
        "served_at": "2026-11-28T08:00:00+00:00",
        "evaluator_label": "王*",
    }
    exchange.receive(*federation.jilin.envelope("rating.given", payload))
    rating = Rating.objects.get()
    assert rating.node == "jilin" and rating.evaluator is None and rating.bad
    rectification = Rectification.objects.get()
    assert rectification.organisation == org
    assert list(Rectification.objects.for_user(reviewer)) == [rectification]
    # The same rating again, in another envelope: no second rating, no second rectification.
    exchange.receive(*federation.jilin.envelope("rating.given", payload))
    assert Rating.objects.count() == 1 and Rectification.objects.count() == 1
    # Its follow-up, once fixed, closes the rectification (the citizen rated the fix there).
    services.engine.take_action(
        rectification,
        "call_back",
        actor=reviewer,
        note="已回访",
        data={"caller_name": "赵回访", "outcome": "satisfied"},
    )
    services.engine.take_action(
        Rectification.objects.get(), "fix_at_once", actor=reviewer, note="已改进"
    )
    (fixed,) = _sent("rating.fixed")
    assert fixed["receiver"] == "jilin" and fixed["payload"]["uid"] == payload["uid"]
    follow = {**payload, "uid": str(uuid.uuid4()), "round": 2, "level": 4, "options": []}
    exchange.receive(*federation.jilin.envelope("rating.given", follow))
    assert Rectification.objects.get().state == "closed"
