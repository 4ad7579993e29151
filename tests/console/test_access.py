"""Who may enter the console and see a case: staff only, in their own scope; CSRF on every
form."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests import builders
from tests.case_pages import pdf, submitted_case
from tests.portal.html import assert_accessible_structure, text


@pytest.mark.parametrize("url", ["/console/", "/console/intake/", "/console/cases/LN-1/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


@pytest.mark.parametrize("url", ["/console/", "/console/intake/"])
def test_citizens_get_a_chinese_403(client, world, url):
    client.force_login(world.applicant.user)
    response = client.get(url)
    assert response.status_code == 403
    assert "工作台仅供政务服务工作人员使用" in text(response.content)
    assert_accessible_structure(response.content)


def test_every_staff_role_enters_the_inbox(client, world):
    supervisor = builders.staff("supervisor", world.police)
    maintainer = builders.staff("catalog_maintainer", world.police)
    for user in (
        world.clerk,
        world.reviewer,
        world.approver,
        world.org_admin,
        supervisor,
        maintainer,
    ):
        client.force_login(user)
        response = client.get("/console/")
        assert response.status_code == 200, user
        assert_accessible_structure(response.content)


def test_intake_is_for_window_clerks(client, world):
    client.force_login(world.reviewer)
    response = client.get("/console/intake/")
    assert response.status_code == 403 and "窗口收件仅限窗口人员使用" in text(response.content)
    assert "窗口收件" not in text(client.get("/console/").content).replace("窗口收件仅限", "")
    client.force_login(world.clerk)
    assert client.get("/console/intake/").status_code == 200


def test_a_clerk_of_another_organisation_gets_404(client, world):
    case = submitted_case(world)
    client.force_login(world.foreign_clerk)
    response = client.get(f"/console/cases/{case.number}/")
    assert response.status_code == 404
    assert "不存在或无权查看" in text(response.content)
    assert_accessible_structure(response.content)
    for url in (
        f"/console/cases/{case.number}/actions/accept/",
        f"/console/cases/{case.number}/reveal/",
        f"/console/cases/{case.number}/materials/",
    ):
        assert client.post(url, {"accept-note": "x", "reveal-purpose": "看看"}).status_code == 404
    assert case.number not in client.get("/console/?status=all").content.decode()
    case.refresh_from_db()
    assert case.state == "submitted"
    # The foreign reviewer is no different.
    client.force_login(world.foreign_reviewer)
    assert client.get(f"/console/cases/{case.number}/").status_code == 404


def test_every_console_form_needs_the_csrf_token(world):
    case = submitted_case(world)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.reviewer)
    page = browser.get(f"/console/cases/{case.number}/").content.decode()
    forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", page, flags=re.S)
    assert forms and all("csrfmiddlewaretoken" in form for form in forms)
    response = browser.post(f"/console/cases/{case.number}/actions/accept/", {})
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.state == "submitted"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = browser.post(
        f"/console/cases/{case.number}/actions/accept/", {"csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302


def test_intake_forms_need_the_csrf_token(world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.clerk)
    page = browser.get(f"/console/intake/{world.version.item.code}/").content.decode()
    forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", page, flags=re.S)
    assert forms and all("csrfmiddlewaretoken" in form for form in forms)
    response = browser.post(f"/console/intake/{world.version.item.code}/", {})
    assert response.status_code == 403


def test_the_applicants_upload_goes_through_the_portal_not_the_console(client, world):
    case = submitted_case(world)
    client.force_login(world.applicant.user)
    assert client.get(f"/console/cases/{case.number}/").status_code == 403
    response = client.post(
        f"/console/cases/{case.number}/materials/",
        {f"material_{world.material('居民户口簿').pk}": pdf()},
    )
    assert response.status_code == 403


def test_the_header_names_the_person_with_their_account(client, world):
    world.reviewer.first_name = "王丽"
    world.reviewer.save()
    client.force_login(world.reviewer)
    html = client.get("/console/").content.decode()
    header = html[
        html.index('class="staff-name"') : html.index("</p>", html.index('class="staff-name"'))
    ]
    assert "王丽" in header and f"（账号 {world.reviewer.username}）" in header
    portal = client.get("/").content.decode()  # the portal's account bar names them too
    bar = portal[
        portal.index('class="account-name"') : portal.index(
            "</li>", portal.index('class="account-name"')
        )
    ]
    assert "王丽" in bar and world.reviewer.username not in bar
