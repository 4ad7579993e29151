"""Answers to signed-in users and token holders are never stored by caches; anonymous
public pages may be (decision 87)."""

from __future__ import annotations

from tests import builders


def _no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_personal_pages_and_api_answers_are_no_store(client):
    person = builders.person("刘一")
    token = builders.bearer(person.user)
    assert _no_store(client.get("/api/v1/cases", **token))
    assert _no_store(client.get("/api/v1/licences", **token))
    client.force_login(person.user)
    for url in ("/my/cases/", "/my/licences/", "/my/messages/", "/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert _no_store(response), url


def test_console_pages_are_no_store(client):
    org = builders.organisation("大连市公安局", "210200")
    client.force_login(builders.staff("reviewer", org))
    response = client.get("/console/")
    assert response.status_code == 200 and _no_store(response)


def test_anonymous_public_pages_stay_cacheable(client):
    assert not _no_store(client.get("/api/v1/organisations"))
    assert not _no_store(client.get("/"))
