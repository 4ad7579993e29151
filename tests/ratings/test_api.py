"""The ratings API: rate, the public results without evaluators, the rectification queue
scoped to the owner and supervisors, acting on a rectification."""

import json

from django.db import connection
from django.test.utils import CaptureQueriesContext

from ratings.models import Rating, Rectification
from tests import builders


def _post(client, url, body, user):
    return client.post(
        url, data=json.dumps(body), content_type="application/json", **builders.bearer(user)
    )


def test_rate_then_rectify_then_results(client, world):
    case = world.closed()
    body = {"case": case.number, "event": "result", "level": 1, "options": ["slow"], "text": "慢"}
    response = _post(client, "/api/v1/ratings", body, world.applicant.user)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["bad"] and data["rectification"] and "evaluator" not in json.dumps(data)
    again = _post(client, "/api/v1/ratings", body, world.applicant.user)
    assert again.status_code == 409 and again.json()["code"] == "rating_already_given"
    stranger = _post(client, "/api/v1/ratings", body, world.stranger.user)
    assert stranger.json()["code"] == "rating_not_recipient"
    level = _post(client, "/api/v1/ratings", {**body, "level": 9}, world.applicant.user)
    assert level.status_code == 422 and level.json()["code"] == "rating_level_invalid"

    number = data["rectification"]
    listed = client.get("/api/v1/rectifications", **builders.bearer(world.reviewer)).json()
    assert [r["number"] for r in listed["items"]] == [number]
    outsider = client.get("/api/v1/rectifications", **builders.bearer(world.outsider)).json()
    assert outsider["items"] == []
    hidden = client.get(f"/api/v1/rectifications/{number}", **builders.bearer(world.outsider))
    assert hidden.status_code == 404

    url = f"/api/v1/rectifications/{number}/actions"
    close = _post(client, f"{url}/close", {}, world.reviewer)
    assert close.status_code == 422 and close.json()["code"] == "callback_required"
    called = _post(
        client,
        f"{url}/call_back",
        {"note": "已电话回访", "data": {"caller_name": "赵回访", "outcome": "unsatisfied"}},
        world.reviewer,
    )
    assert called.status_code == 200 and called.json()["state"] == "called_back"
    assert "fix_at_once" in called.json()["actions"]
    fixed = _post(client, f"{url}/fix_at_once", {"note": "已提速"}, world.reviewer)
    assert fixed.json()["state"] == "awaiting_rerating"
    rerate = _post(
        client,
        "/api/v1/ratings",
        {**body, "level": 4, "options": [], "follow_up": True},
        world.applicant.user,
    )
    assert rerate.status_code == 201
    assert Rectification.objects.get().state == "closed"

    stats = client.get(f"/api/v1/ratings/stats?organisation={world.org.uscc}").json()
    row = stats["rows"][0]
    assert row["name"] == "大连市公安局" and row["counts"]["1"] == 1 and row["bad"] == 1
    assert row["rectification_rate"] == 100.0 and row["satisfaction_rate"] == 0.0
    assert "evaluator" not in json.dumps(stats) and "李" not in json.dumps(stats)
    by_item = client.get(f"/api/v1/ratings/stats?group=item&item={world.version.item.code}")
    assert by_item.json()["rows"][0]["total"] == 1


def test_stats_refuse_evaluator_fields(client, world):
    for query in ("fields=evaluator", "evaluator=1", "group=rater"):
        response = client.get(f"/api/v1/ratings/stats?{query}")
        assert response.status_code == 422
        assert response.json()["code"] == "stats_evaluator_refused"


def test_list_and_stats_take_constant_queries(client, world):
    from ratings import services
    from ratings.services import RatingIn

    def add(n):
        for _ in range(n):
            case = world.closed()
            services.rate(
                RatingIn(subject_kind="case", reference=case.number, event="result", level=2),
                actor=world.applicant.user,
            )

    add(1)
    headers = builders.bearer(world.reviewer)
    client.get("/api/v1/rectifications", **headers)  # the token's first use is written once
    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/rectifications", **headers)
        client.get("/api/v1/ratings/stats")
    add(3)
    with CaptureQueriesContext(connection) as four:
        rows = client.get("/api/v1/rectifications", **headers).json()["items"]
        client.get("/api/v1/ratings/stats")
    assert len(rows) == 4 and Rating.objects.count() == 4
    assert len(four.captured_queries) == len(one.captured_queries)


def test_the_options_in_force_per_level(client):
    data = client.get("/api/v1/ratings/options").json()
    assert data["version"] == 1 and [lv["level"] for lv in data["levels"]] == [5, 4, 3, 2, 1]
    bad = {lv["level"]: lv["bad"] for lv in data["levels"]}
    assert bad == {5: False, 4: False, 3: False, 2: True, 1: True}
    assert "slow" in [o["code"] for o in data["levels"][3]["options"]]
