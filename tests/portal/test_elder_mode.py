"""长辈模式: a POST button on every page sets a cookie that every later page honours."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.portal.html import text

TOGGLE = '<form class="elder-switch" method="post" action="/elder-mode/">'


def is_elder(client: Client, url: str) -> bool:
    html = client.get(url).content.decode()
    return '<html lang="zh-CN" class="elder">' in html


@pytest.mark.parametrize("url", ["/", "/items/", "/lists/", "/zones/regional/", "/nope/"])
def test_every_page_has_the_toggle_with_a_csrf_token_and_its_own_path(client, url):
    html = client.get(f"{url}?page=1").content.decode()
    assert TOGGLE in html
    form = html.split(TOGGLE)[1].split("</form>")[0]
    assert 'name="csrfmiddlewaretoken"' in form
    assert f'name="next" value="{url}?page=1"' in form
    assert 'name="elder_mode" value="1"' in form
    assert "长辈模式" in text(form)


def test_toggle_persists_across_pages_and_switches_back(client, catalog):
    assert not is_elder(client, "/")
    response = client.post(
        "/elder-mode/", {"elder_mode": "1", "next": "/zones/regional/?theme=business"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/zones/regional/?theme=business"
    cookie = response.cookies["elder_mode"]
    assert cookie.value == "1"
    assert cookie["max-age"] == 365 * 24 * 3600
    assert cookie["samesite"] == "Lax"
    assert cookie["httponly"]
    for url in ("/", "/items/", f"/items/{catalog.household.item.code}/", "/lists/cross-province/"):
        assert is_elder(client, url), url
    html = client.get("/").content.decode()
    assert 'name="elder_mode" value="0"' in html
    assert "退出长辈模式" in html

    response = client.post("/elder-mode/", {"elder_mode": "0", "next": "/items/"})
    assert response["Location"] == "/items/"
    assert not is_elder(client, "/items/")
    assert not is_elder(client, "/")


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http://testserver.evil.example/",
        "items/",
        "",
    ],
)
def test_toggle_redirects_only_to_paths_of_this_site(client, target):
    response = client.post("/elder-mode/", {"elder_mode": "1", "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert response.cookies["elder_mode"].value == "1"


def test_toggle_rejects_bad_values_and_get(client):
    response = client.post("/elder-mode/", {"elder_mode": "2", "next": "/items/"})
    assert response["Location"] == "/"
    assert "elder_mode" not in response.cookies
    assert client.get("/elder-mode/").status_code == 405


def test_toggle_needs_the_csrf_token():
    client = Client(enforce_csrf_checks=True)
    assert client.post("/elder-mode/", {"elder_mode": "1", "next": "/"}).status_code == 403
    page = client.get("/")
    token = page.cookies["csrftoken"].value
    response = client.post(
        "/elder-mode/", {"elder_mode": "1", "next": "/", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302


def test_elder_stylesheet_enlarges_type_and_simplifies_the_layout():
    from pathlib import Path

    from django.contrib.staticfiles import finders

    css = Path(finders.find("portal/portal.css")).read_text(encoding="utf-8")
    assert "html.elder { font-size: 137.5%; }" in css  # 22px from the browser's 16px
    assert ".elder .secondary-nav" in css
