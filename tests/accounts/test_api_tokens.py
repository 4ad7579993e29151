"""`manage.py create_api_token`: the printed token opens the cases API as its user, until
it is revoked."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import ApiToken
from accounts.services import TOKEN_PREFIX, revoke_api_token
from cases import services
from core.actors import SystemActor
from tests import builders


def _create_token(username: str, *extra: str) -> str:
    out = StringIO()
    call_command("create_api_token", username, *extra, stdout=out)
    return out.getvalue().strip()


def test_printed_token_authenticates_until_revoked(client):
    org = builders.organisation("大连市公安局", "210200")
    reviewer = builders.staff("reviewer", org, username="dl-gaj-reviewer")

    token = _create_token("dl-gaj-reviewer", "--name", "业务系统对接")

    assert token.startswith(TOKEN_PREFIX) and len(token) > 40
    stored = ApiToken.objects.get(user=reviewer)
    assert stored.name == "业务系统对接" and token.startswith(stored.prefix)
    assert token not in stored.key_hash
    response = client.get("/api/v1/cases", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response.json() == {"items": [], "count": 0}
    stored.refresh_from_db()
    assert stored.last_used_at is not None

    revoke_api_token(stored, actor=SystemActor("test"))
    response = client.get("/api/v1/cases", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")


def test_a_citizens_token_sees_only_their_own_cases(client):
    applicant = builders.person("王芳", username="citizen-wangfang")
    version = builders.item("开具户籍类证明")
    mine = services.start_case(
        item_version=version,
        form_data={"reason": "入学"},
        person=applicant,
        actor=applicant.user,
    )
    other = builders.person("李四")
    services.start_case(
        item_version=version, form_data={"reason": "x"}, person=other, actor=other.user
    )
    token = _create_token("citizen-wangfang")
    page = client.get("/api/v1/cases", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert [r["number"] for r in page["items"]] == [mine.number]


def test_no_token_a_wrong_token_and_an_unknown_user(client):
    assert client.get("/api/v1/cases").status_code == 401
    wrong = client.get("/api/v1/cases", HTTP_AUTHORIZATION=f"Bearer {TOKEN_PREFIX}nonsense")
    assert wrong.status_code == 401
    with pytest.raises(CommandError, match="不存在"):
        _create_token("nobody")
    assert not ApiToken.objects.exists()


def test_a_deactivated_account_loses_its_tokens(client):
    applicant = builders.person("王芳", username="citizen-wangfang")
    token = _create_token("citizen-wangfang")
    applicant.user.is_active = False
    applicant.user.save()
    assert client.get("/api/v1/cases", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


@pytest.mark.django_db
def test_last_use_is_written_at_most_once_a_minute(django_assert_num_queries):
    import datetime as dt

    from accounts.services import authenticate_token, create_api_token

    user = builders.person("李四").user
    raw = create_api_token(user, actor=SystemActor("test"))
    with django_assert_num_queries(2):  # read the token, write its first use
        assert authenticate_token(raw) == user
    first = ApiToken.objects.get(user=user).last_used_at
    with django_assert_num_queries(1):  # used again within the minute: read only
        assert authenticate_token(raw) == user
    assert ApiToken.objects.get(user=user).last_used_at == first
    ApiToken.objects.filter(user=user).update(last_used_at=first - dt.timedelta(minutes=2))
    assert authenticate_token(raw) == user
    assert ApiToken.objects.get(user=user).last_used_at > first - dt.timedelta(minutes=1)
