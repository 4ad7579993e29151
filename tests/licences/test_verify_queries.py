"""API verification of this node's own tokens reads the licence with its seal in one query
and writes the log row in one INSERT, whatever the outcome (decision 153)."""

import json

from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.actors import SystemActor
from licences import services
from licences.models import LicenceEvent, Seal
from tests.case_pages import tampered_token
from tests.licences.test_api import issued  # noqa: F401 (the fixture)


def _verify(client, token):
    with CaptureQueriesContext(connection) as ctx:
        body = client.post(
            "/api/v1/licences/verify",
            json.dumps({"token": token}),
            content_type="application/json",
        ).json()
    sql = [q["sql"] for q in ctx.captured_queries]
    return body["outcome"], sql


def test_a_valid_token_costs_one_read_and_one_insert(client, issued):  # noqa: F811
    _, _, licence = issued
    _verify(client, licence.token)  # the first call of the process reads the node's name
    outcome, sql = _verify(client, licence.token)
    assert outcome == "valid"
    assert len(sql) == 2, sql
    assert sql[0].startswith("SELECT") and sql[1].startswith("INSERT")
    assert LicenceEvent.objects.filter(kind="verified", outcome="valid").count() == 2


def test_a_revoked_seal_or_licence_is_still_seen_at_once(client, issued):  # noqa: F811
    _org, _, licence = issued
    tampered, _ = _verify(client, tampered_token(licence.token))
    assert tampered == "tampered"
    services.revoke_licence(licence, reason="撤销测试", actor=SystemActor("test"))
    assert _verify(client, licence.token)[0] == "revoked"
    Seal.objects.filter(pk=licence.seal_id).update(status=Seal.Status.REVOKED)
    assert _verify(client, licence.token)[0] == "revoked"
    outcomes = LicenceEvent.objects.filter(kind="verified").values_list("outcome", flat=True)
    assert sorted(outcomes) == ["revoked", "revoked", "tampered"]
