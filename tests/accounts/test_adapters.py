"""The real adapters of accounts (real-name service, SMS gateway) against a real HTTP
server on 127.0.0.1, and the rules of the local real-name adapter."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import pytest
from stdnum.cn import ric

from accounts.adapters import (
    HttpRealNameService,
    HttpSmsGateway,
    LocalRealNameService,
    LocalSmsGateway,
)
from core.personal_data import mask_id_number, mask_mobile
from tests import builders

SECRET = "shared-secret-of-the-platform"


@pytest.fixture
def real_name_settings(settings, local_server):
    settings.REAL_NAME_URL = local_server.url + "verify"
    settings.REAL_NAME_APP_ID = "tongban-liaoning"
    settings.REAL_NAME_SECRET = SECRET
    return settings


def _answer(matched: bool, reason: str = "") -> tuple[int, bytes]:
    return 200, json.dumps({"matched": matched, "reason": reason}).encode()


def test_real_name_request_is_signed_json(real_name_settings, local_server):
    local_server.reply = lambda r: _answer(True)
    number = builders.valid_id_number("19880512")

    result = HttpRealNameService().verify("王芳", number)

    assert result.matched and result.available
    [request] = local_server.received
    assert request.path == "/verify"
    assert request.json() == {"name": "王芳", "id_number": number}
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-App-Id"] == "tongban-liaoning"
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-Signature"], expected)


def test_real_name_mismatch_is_reported_with_the_reason(real_name_settings, local_server):
    local_server.reply = lambda r: _answer(r.json()["name"] == "王芳", "姓名与公民身份号码不一致")
    number = builders.valid_id_number("19880512")
    service = HttpRealNameService()

    assert service.verify("王芳", number).matched
    result = service.verify("王方", number)
    assert (result.matched, result.available) == (False, True)
    assert result.reason == "姓名与公民身份号码不一致"


@pytest.mark.parametrize(
    "status, body",
    [
        (500, b'{"error": "internal"}'),
        (200, b"<html>gateway</html>"),
        (200, b'["matched"]'),
        (200, b'{"matched": "yes"}'),
    ],
    ids=["http-500", "not-json", "not-an-object", "matched-not-boolean"],
)
def test_real_name_nonsense_answers_mean_unavailable(
    real_name_settings, local_server, caplog, status, body
):
    local_server.reply = lambda r: (status, body)
    number = builders.valid_id_number("19880512")
    with caplog.at_level(logging.WARNING, logger="accounts.adapters"):
        result = HttpRealNameService().verify("王芳", number)
    assert (result.matched, result.available) == (False, False)
    assert "暂不可用" in result.reason
    assert mask_id_number(number) in caplog.text
    assert number not in caplog.text


def test_real_name_service_down_is_unavailable_not_an_error(settings, closed_port_url, caplog):
    settings.REAL_NAME_URL = closed_port_url
    settings.REAL_NAME_SECRET = SECRET
    number = builders.valid_id_number("19900101")
    with caplog.at_level(logging.DEBUG):
        result = HttpRealNameService().verify("王芳", number)
    assert (result.matched, result.available) == (False, False)
    assert result.reason == "实名核验服务暂不可用，请稍后再试"
    assert mask_id_number(number) in caplog.text
    assert number not in caplog.text
    for record in caplog.records:
        assert number not in record.getMessage()


def test_real_name_service_too_slow_is_unavailable(real_name_settings, local_server, caplog):
    local_server.delay = 1.0
    local_server.reply = lambda r: _answer(True)
    service = HttpRealNameService()
    service.timeout = 0.2
    number = builders.valid_id_number("19900101")
    with caplog.at_level(logging.DEBUG):
        result = service.verify("王芳", number)
    assert not result.available
    assert number not in caplog.text


def test_sms_is_posted_with_the_key_and_sign(settings, local_server):
    settings.SMS_URL = local_server.url + "sms/send"
    settings.SMS_KEY = "sms-key-123"
    settings.SMS_SIGN = "辽宁通办"

    HttpSmsGateway().send("13904112368", "【通办】办件 LN-20261128-000001：已受理")

    [request] = local_server.received
    assert request.path == "/sms/send"
    assert request.headers["Authorization"] == "Bearer sms-key-123"
    assert request.json() == {
        "mobile": "13904112368",
        "text": "【通办】办件 LN-20261128-000001：已受理",
        "sign": "辽宁通办",
    }


@pytest.mark.parametrize("down", ["refused", "http-503"])
def test_sms_gateway_failure_is_logged_masked_not_raised(
    settings, local_server, closed_port_url, caplog, down
):
    if down == "refused":
        settings.SMS_URL = closed_port_url
    else:
        settings.SMS_URL = local_server.url
        local_server.reply = lambda r: (503, b"{}")
    mobile = "13904112368"
    with caplog.at_level(logging.DEBUG):
        HttpSmsGateway().send(mobile, "【通办】测试")
    assert mask_mobile(mobile) in caplog.text
    assert mobile not in caplog.text


def test_local_sms_gateway_logs_the_number_masked(caplog):
    with caplog.at_level(logging.INFO, logger="accounts.adapters"):
        LocalSmsGateway().send("13904112368", "【通办】已受理")
    assert "139****2368" in caplog.text and "13904112368" not in caplog.text


def _id_number(birth: str) -> str:
    body = f"210202{birth}123"
    return body + ric.calc_check_digit(body + "0")


@pytest.mark.parametrize(
    "name, matched",
    [
        ("王芳", True),
        ("欧阳娜娜", True),
        ("阿卜杜拉·艾买提", True),  # middle dot of minority names
        ("𠮷野", True),  # a character outside the BMP (CJK Extension B)
        ("王", False),  # one character
        ("Wang Fang", False),
        ("王芳1", False),
        ("王" * 31, False),
    ],
)
def test_local_real_name_rules_on_the_name(name, matched):
    result = LocalRealNameService().verify(name, _id_number("19880512"))
    assert result.matched is matched
    assert result.available
    if not matched:
        assert result.reason == "姓名应为2至30个汉字"


def test_local_real_name_refuses_a_birth_date_in_the_future():
    result = LocalRealNameService().verify("王芳", _id_number("20990101"))
    assert not result.matched and result.reason == "出生日期晚于今天"
    assert LocalRealNameService().verify("王芳", _id_number("20000229")).matched
