"""The 好差评 pages: the rating widget (also by QR), the case card, the public results,
the rectification console and the hand-over receipt."""

from ratings.models import Invitation, Rating, Rectification


def test_rate_by_qr_then_results_and_console(client, world):
    case = world.closed()
    invitation = Invitation.objects.get(reference=case.number, event="result")
    url = f"/ratings/rate/{invitation.token}/"
    client.force_login(world.stranger.user)
    assert client.get(url).status_code == 403
    client.force_login(world.applicant.user)
    page = client.get(url + "?channel=qr")
    assert page.status_code == 200 and "请评价本次服务" in page.content.decode()
    assert 'name="channel" value="qr"' in page.content.decode()
    wrong = client.post(url, {"level": "5", "options_5": ["fee"], "channel": "qr"})
    assert wrong.status_code == 422 and not Rating.objects.exists()
    done = client.post(url, {"level": "1", "options_1": ["slow"], "text": "太慢", "channel": "qr"})
    assert done.status_code == 302
    rating = Rating.objects.get()
    assert rating.channel == "qr" and rating.options == ["slow"] and rating.bad
    card = client.get(f"/my/cases/{case.number}/").content.decode()
    assert "服务评价（好差评）" in card and "非常不满意" in card

    results = client.get("/ratings/").content.decode()
    assert "大连市公安局" in results and "李" not in results.split("<main", 1)[-1]

    number = Rectification.objects.get().number
    client.force_login(world.outsider)
    assert client.get(f"/ratings/rectifications/{number}/").status_code == 404
    assert number not in client.get("/ratings/rectifications/").content.decode()
    client.force_login(world.reviewer)
    assert number in client.get("/ratings/rectifications/").content.decode()
    refused = client.post(f"/ratings/rectifications/{number}/actions/close/")
    assert refused.status_code == 422 and "回访" in refused.content.decode()
    called = client.post(
        f"/ratings/rectifications/{number}/actions/call_back/",
        {"p_caller_name": "赵回访", "p_outcome": "satisfied", "note": "已回访"},
    )
    assert called.status_code == 302
    assert Rectification.objects.get().state == "called_back"
    detail = client.get(f"/ratings/rectifications/{number}/").content.decode()
    assert "立行立改" in detail and "李四" not in detail


def test_receipt_carries_the_rating_qr(client, world):
    case = world.closed()
    client.force_login(world.reviewer)
    page = client.get(f"/ratings/receipt/{case.number}/").content.decode()
    token = Invitation.objects.get(reference=case.number, event="result").token
    assert "<svg" in page and f"/ratings/rate/{token}/?channel=qr" in page
    client.force_login(world.outsider)
    assert client.get(f"/ratings/receipt/{case.number}/").status_code == 404


def test_a_window_applicant_without_an_account_rates_by_the_receipt_code(client, world):
    from cases import engine as case_engine
    from tests import builders

    # Taken in at the 大连市政务服务中心 window for an item of the 大连市公安局 (both here).
    version = builders.item(org=world.org, scopes=(("cross_province", "proxy"),))
    case, clerk = builders.checked_window_case(version)
    case = case_engine.take_action(case, "submit", actor=clerk)
    invitation = Invitation.objects.get(reference=case.number, event="application")
    assert invitation.rater is None
    url = f"/ratings/rate/{invitation.token}/?channel=qr"
    assert client.get(url).status_code == 200
    done = client.post(url, {"level": "5", "options_5": ["attitude_good"], "channel": "qr"})
    assert done.status_code == 302
    rating = Rating.objects.get()
    assert rating.evaluator is None and rating.channel == "qr" and rating.evaluator_label == "李*"
    again = client.post(url, {"level": "5", "channel": "qr"})
    assert again.status_code == 302 and Rating.objects.get(round=2)
    assert client.post(url, {"level": "5", "channel": "qr"}).status_code == 409
    assert Rating.objects.count() == 2
