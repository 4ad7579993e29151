"""Rating a case event: who may, how often, with which options; the invitation after a
rated event and the default rating when none is given in time."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Notification
from core.exceptions import RuleViolation
from ratings import services
from ratings.models import Invitation, Rating, Rectification
from ratings.services import RatingIn


def _rate(case, user, level=5, **kw):
    data = {"event": "result", "options": [], "channel": "pc", **kw}
    return services.rate(
        RatingIn(subject_kind="case", reference=case.number, level=level, **data), actor=user
    )


def test_rated_events_invite_the_applicant(world):
    case = world.closed()
    invitations = {i.event for i in Invitation.objects.filter(reference=case.number)}
    assert invitations == {"application", "result"}
    assert (
        Notification.objects.filter(
            recipient=world.applicant.user, link__startswith="/ratings/rate/"
        ).count()
        == 2
    )


def test_a_good_rating_is_recorded_once_and_opens_nothing(world):
    case = world.closed()
    rating = _rate(case, world.applicant.user, 5, options=["efficient"])
    assert rating.organisation == world.org and not rating.bad and rating.round == 1
    assert rating.evaluator == world.applicant.user and rating.evaluator_label == "李*"
    assert Invitation.objects.get(reference=case.number, event="result").rating == rating
    assert not Rectification.objects.exists()
    with pytest.raises(RuleViolation) as info:
        _rate(case, world.applicant.user, 4)
    assert info.value.code == "rating_already_given"
    assert Rating.objects.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"level": 6}, "rating_level_invalid"),
        ({"level": 0}, "rating_level_invalid"),
        ({"level": 5, "options": ["fee"]}, "rating_options_invalid"),
        ({"level": 1, "options": ["efficient"]}, "rating_options_invalid"),
        ({"level": 5, "channel": "fax"}, "rating_channel_invalid"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(world, kwargs, code):
    case = world.closed()
    level = kwargs.pop("level")
    with pytest.raises(RuleViolation) as info:
        _rate(case, world.applicant.user, level, **kwargs)
    assert info.value.code == code
    assert not Rating.objects.exists()


def test_only_the_person_served_may_rate(world):
    case = world.closed()
    for user in (world.stranger.user, world.reviewer):
        with pytest.raises(RuleViolation) as info:
            _rate(case, user, 1)
        assert info.value.code == "rating_not_recipient"
    assert not Rating.objects.exists()


def test_an_event_that_has_not_happened_cannot_be_rated(world):
    case = world.submitted()
    with pytest.raises(RuleViolation) as info:
        _rate(case, world.applicant.user, 5)
    assert info.value.code == "rating_event_not_happened"
    with pytest.raises(RuleViolation) as info:
        _rate(case, world.applicant.user, 5, event="teleport")
    assert info.value.code == "rating_event_unknown"


def test_application_event_rates_the_receiving_side(world):
    case = world.submitted()
    rating = _rate(case, world.applicant.user, 4, event="application")
    assert rating.organisation == case.receiving_org


def test_one_follow_up_only(world):
    case = world.closed()
    _rate(case, world.applicant.user, 4)
    follow = _rate(case, world.applicant.user, 5, follow_up=True)
    assert follow.round == 2
    with pytest.raises(RuleViolation) as info:
        _rate(case, world.applicant.user, 5, follow_up=True)
    assert info.value.code == "rating_follow_up_already_given"


def test_default_rating_after_the_window(world, settings):
    case = world.closed()
    given = services.give_default_ratings(now=timezone.now() + dt.timedelta(days=30))
    assert given == 2
    rating = Rating.objects.get(reference=case.number, event="result")
    assert rating.channel == "default" and rating.level == settings.RATINGS_DEFAULT_LEVEL
    assert services.give_default_ratings(now=timezone.now() + dt.timedelta(days=30)) == 0


def test_the_default_rating_command(world):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("give_default_ratings", stdout=out)
    assert out.getvalue().strip() == "没有需要处理的评价"
