"""Signing in and out, throttling, self-registration and the message inbox, through pages."""

from __future__ import annotations

import logging

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import Notification, Person
from accounts.services import notify
from core.actors import SystemActor
from tests import builders
from tests.portal.html import assert_accessible_structure, text


@pytest.mark.parametrize("url", ["/login/", "/register/"])
def test_sign_in_and_registration_pages_are_accessible(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert_accessible_structure(response.content)
    page = text(response.content)
    assert ("公民身份号码" in page) and ("密码" in page)


def test_citizen_signs_in_with_the_id_number_and_out_again(client):
    person = builders.person("赵敏")
    response = client.post(
        "/login/", {"username": person.id_number.lower(), "password": "pw-123456"}
    )
    assert response.status_code == 302 and response["Location"] == "/my/cases/"
    home = client.get("/").content.decode()
    assert "退出登录" in home and "赵*" in home and "我的办件" in home
    assert person.id_number not in home and "赵敏" not in home

    assert client.get("/logout/").status_code == 405  # signing out needs a POST with a token
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert "登录" in text(client.get("/").content)
    assert client.get("/my/cases/")["Location"].startswith("/login/?next=/my/cases/")


def test_staff_sign_in_with_their_username_and_land_in_the_console(client):
    org = builders.organisation("沈阳市公安局", "210100")
    builders.staff("reviewer", org, username="shen_reviewer")
    response = client.post("/login/", {"username": "shen_reviewer", "password": "pw-123456"})
    assert response["Location"] == "/console/"
    response = client.post(
        "/login/?next=/my/messages/", {"username": "shen_reviewer", "password": "pw-123456"}
    )
    assert response.status_code == 302


def test_a_wrong_password_is_refused_in_chinese(client):
    builders.person("赵敏", username="zm")
    response = client.post("/login/", {"username": "zm", "password": "wrong"})
    assert response.status_code == 200
    page = text(response.content)
    assert "账号或密码不正确" in page and "5 次" in page and "30 分钟" in page
    assert "_auth_user_id" not in client.session


def test_login_is_locked_after_five_failures_and_stays_locked(client, caplog):
    person = builders.person("赵敏")
    caplog.set_level(logging.INFO)
    for _ in range(4):
        response = client.post("/login/", {"username": person.id_number, "password": "wrong"})
        assert response.status_code == 200
    response = client.post("/login/", {"username": person.id_number, "password": "wrong"})
    assert response.status_code == 429
    page = text(response.content)
    assert "账号已暂时锁定" in page and "30 分钟后再试" in page
    assert_accessible_structure(response.content)
    # The right password does not help while locked.
    response = client.post("/login/", {"username": person.id_number, "password": "pw-123456"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another account on the same machine is not affected.
    other = builders.person("周芷若")
    response = client.post("/login/", {"username": other.id_number, "password": "pw-123456"})
    assert response.status_code == 302
    # The ID number is neither stored by the throttle nor logged.
    attempt = AccessAttempt.objects.get()
    assert attempt.username == person.user.username and person.id_number not in attempt.username
    assert person.id_number not in attempt.post_data
    assert person.id_number not in caplog.text


def test_lockout_is_per_resolved_account_whichever_name_is_typed(client):
    """Decision 81: failures by ID number lock the account under its username too, and
    the other way round; an unknown ID number is still counted under its keyed hash."""
    person = builders.person("赵敏", username="zhaomin")
    for _ in range(5):
        client.post("/login/", {"username": person.id_number, "password": "wrong"})
    response = client.post("/login/", {"username": "zhaomin", "password": "pw-123456"})
    assert response.status_code == 429
    other = builders.person("周芷若", username="zhouzr")
    for _ in range(3):
        client.post("/login/", {"username": "zhouzr", "password": "wrong"})
    for _ in range(2):
        client.post("/login/", {"username": other.id_number.lower(), "password": "wrong"})
    response = client.post("/login/", {"username": other.id_number, "password": "pw-123456"})
    assert response.status_code == 429
    stranger = builders.valid_id_number("19700101")
    client.post("/login/", {"username": stranger, "password": "wrong"})
    assert AccessAttempt.objects.filter(username__startswith="id:").count() == 1


def test_staff_login_lockout_and_success_resets_failures(client):
    org = builders.organisation("沈阳市公安局", "210100")
    builders.staff("reviewer", org, username="shen_reviewer")
    for _ in range(3):
        client.post("/login/", {"username": "shen_reviewer", "password": "wrong"})
    response = client.post("/login/", {"username": "shen_reviewer", "password": "pw-123456"})
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(failures_since_start__gt=0).exists()


def test_force_login_and_bearer_tokens_are_not_throttled(client):
    person = builders.person("赵敏")
    client.force_login(person.user)
    assert client.get("/my/cases/").status_code == 200
    from accounts.services import create_api_token

    token = create_api_token(person.user, actor=SystemActor("test"))
    api = Client()
    response = api.get("/api/v1/cases", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert not AccessAttempt.objects.exists()


def _wrong_check(number: str) -> str:
    return number[:-1] + ("1" if number[-1] != "1" else "2")


def _register(client, **overrides):
    if overrides.get("id_number") == "WRONG_CHECK":
        overrides["id_number"] = _wrong_check(builders.valid_id_number("19880303"))
    data = {
        "name": "李秋水",
        "id_number": builders.valid_id_number("19880303"),
        "mobile": "13912345678",
        "password": "qiushui-2024",
        "password_again": "qiushui-2024",
        **overrides,
    }
    return data, client.post("/register/", data)


def test_registration_creates_a_verified_person_and_signs_in(client):
    data, response = _register(client)
    assert response.status_code == 302 and response["Location"] == "/my/cases/"
    person = Person.objects.get()
    assert person.name == "李秋水" and person.real_name_verified_at is not None
    assert person.user is not None and data["id_number"] not in person.user.username
    assert person.mobile_masked == "139****5678"
    assert client.session["_auth_user_id"] == str(person.user.pk)
    assert "注册成功" in text(client.get("/my/cases/").content)
    # And the new account signs in with the ID number.
    fresh = Client()
    response = fresh.post("/login/", {"username": data["id_number"], "password": "qiushui-2024"})
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"id_number": "WRONG_CHECK"}, "公民身份号码校验位错误"),
        ({"mobile": "12345"}, "手机号码"),
        ({"name": "Li Qiushui"}, "实名核验未通过"),
        ({"password": "123", "password_again": "123"}, "密码"),
        ({"password_again": "something-else"}, "两次输入的密码不一致"),
        ({"name": ""}, "请填写姓名"),
    ],
)
def test_registration_errors_are_clear_and_write_nothing(client, overrides, message):
    _, response = _register(client, **overrides)
    assert response.status_code == 422
    page = text(response.content)
    assert message in page and "请修改以下内容后重新提交" in page
    assert_accessible_structure(response.content)
    assert not Person.objects.exists()
    assert not get_user_model().objects.exists()
    assert "_auth_user_id" not in client.session


def test_a_number_with_an_account_cannot_register_again(client):
    person = builders.person("李秋水")
    users = get_user_model().objects.count()
    _, response = _register(client, id_number=person.id_number)
    assert response.status_code == 422
    assert "该公民身份号码已注册账号" in text(response.content)
    assert get_user_model().objects.count() == users


def test_message_inbox_lists_and_marks_messages_read(client):
    person = builders.person("赵敏")
    user = person.user
    other = builders.person("周芷若").user
    first = notify(user, title="办件 A：已受理", body="您的申请已受理", link="/my/cases/A/")
    notify(user, title="办件 A：已办结", body="已办结")
    notify(other, title="别人的消息", body="不应出现")
    client.force_login(user)
    page = client.get("/my/messages/")
    assert page.status_code == 200
    assert_accessible_structure(page.content)
    body = text(page.content)
    assert "办件 A：已受理" in body and "别人的消息" not in body
    assert "2条未读" in body.replace(" ", "")

    response = client.post("/my/messages/read/", {"id": [first.pk]})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.read_at is not None
    assert Notification.objects.filter(recipient=user, read_at__isnull=True).count() == 1
    # Another user's message id changes nothing.
    foreign = Notification.objects.get(recipient=other)
    client.post("/my/messages/read/", {"id": [foreign.pk]})
    foreign.refresh_from_db()
    assert foreign.read_at is None
    client.post("/my/messages/read/", {"all": "1"})
    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()


def test_a_mistyped_id_number_is_not_stored_by_the_throttle_either(client):
    person = builders.person("赵敏")
    typo = person.id_number[:-1] + ("1" if person.id_number[-1] != "1" else "2")
    client.post("/login/", {"username": typo, "password": "wrong"})
    attempt = AccessAttempt.objects.get()
    assert attempt.username.startswith("id:") and typo not in attempt.username
