"""Intake only at a window that receives the item, by a clerk assigned to it: the rule of
`halls.services.check_intake`, asked by `cases.services.start_case` wherever a window case
enters (services, console, API); every refusal has its code and writes nothing."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from cases import services
from cases.models import Case, CaseEvent
from core.actors import SystemActor
from core.exceptions import RuleViolation
from core.models import Division
from core.services import save_division
from halls.selectors import window_receives
from tests import builders

APPLICANT = {"kind": "person", "name": "李四"}


def _apply(clerk, version, **kwargs):
    return services.apply(
        actor=clerk,
        item_version=version,
        form_data={"reason": "投靠"},
        on_behalf_of={**APPLICANT, "id_number": builders.valid_id_number()},
        **kwargs,
    )


def _refused(code: str, call) -> RuleViolation:
    before = (Case.objects.count(), CaseEvent.objects.count())
    with pytest.raises(RuleViolation) as refused:
        call()
    assert refused.value.code == code, refused.value.message
    assert (Case.objects.count(), CaseEvent.objects.count()) == before
    return refused.value


@pytest.fixture
def police():
    return builders.organisation("大连市公安局")


def test_the_case_records_the_window_and_its_organisation_receives(police):
    version = builders.item(org=police, scopes=())
    clerk = builders.staff("window_clerk", police)
    window = builders.at_window(clerk, version)
    case = _apply(clerk, version)
    assert case.window == window and case.receiving_org == police
    assert case.channel == "window" and case.place == window.hall.division


def test_the_case_page_names_the_window_and_links_its_hall(client, police):
    version = builders.item(org=police, scopes=())
    clerk = builders.staff("window_clerk", police)
    window = builders.at_window(clerk, version)
    case = _apply(clerk, version)
    client.force_login(clerk)
    page = client.get(f"/console/cases/{case.number}/").content.decode()
    assert f'href="/halls/{window.hall.code}/"' in page
    assert "1号窗口 综合受理窗口" in page


def test_a_window_that_does_not_receive_the_item_refuses_it(police):
    received = builders.item(org=police, scopes=())
    other = builders.item("新生儿入户", org=police, scopes=())
    clerk = builders.staff("window_clerk", police)
    window = builders.at_window(clerk, received)
    refusal = _refused("window_not_receiving", lambda: _apply(clerk, other, window=window))
    assert "未入驻该事项" in refusal.message
    # Named or not: none of the clerk's windows receives it.
    _refused("window_not_receiving", lambda: _apply(clerk, other))


def test_a_clerk_not_assigned_to_the_window_is_refused(police):
    version = builders.item(org=police, scopes=())
    clerk = builders.staff("window_clerk", police)
    window = builders.window(police, items=(version,))
    refusal = _refused("window_clerk_not_assigned", lambda: _apply(clerk, version, window=window))
    assert refusal.status == 403
    # Assigned to no window at all.
    _refused("window_clerk_not_assigned", lambda: _apply(clerk, version))


def test_a_clerk_whose_role_was_withdrawn_is_refused(police):
    from accounts.models import StaffRole

    version = builders.item(org=police, scopes=())
    clerk = builders.staff("window_clerk", police)
    window = builders.at_window(clerk, version)
    StaffRole.objects.filter(user=clerk).delete()
    builders.staff("reviewer", police)  # someone else, unrelated
    # Without a window-clerk role the application is a department's filing, no window:
    # but naming the window through start_case is refused.
    _refused(
        "window_clerk_not_assigned",
        lambda: services.start_case(
            item_version=version,
            form_data={"reason": "x"},
            actor=clerk,
            person=builders.person(),
            channel="window",
            window=window,
        ),
    )


def test_a_clerk_of_several_receiving_windows_names_one(police):
    version = builders.item(org=police, scopes=())
    clerk = builders.staff("window_clerk", police)
    first = builders.window(police, items=(version,), number="1", clerks=(clerk,))
    second = builders.window(police, items=(version,), number="2", clerks=(clerk,))
    _refused("window_required", lambda: _apply(clerk, version))
    assert _apply(clerk, version, window=second).window == second
    assert first != second


def test_receiving_a_list_is_receiving_every_item_in_force_on_it():
    centre = builders.organisation("大连市政务服务中心")
    shenyang = builders.organisation("沈阳市公安局", "210100")
    on_list = builders.item("开具户籍类证明", org=shenyang, scopes=(("in_province", "proxy"),))
    off_list = builders.item("户口迁移", org=shenyang, scopes=(("in_province", "proxy"),))
    lst = builders.item_list("in-province", "in_province", name="省内通办清单")
    builders.list_version(lst, [on_list], modes=("proxy",), effective_from=dt.date(2024, 1, 1))
    clerk = builders.staff("window_clerk", centre)
    window = builders.at_window(clerk, lists=(lst,))
    assert window_receives(window, on_list.item)
    assert not window_receives(window, off_list.item)
    case = _apply(clerk, on_list)
    assert (case.mode, case.scope, case.window) == ("proxy", "in_province", window)
    _refused("window_not_receiving", lambda: _apply(clerk, off_list))
    # A new list version without the item: the window no longer receives it.
    builders.list_version(
        lst, [off_list], number=2, modes=("proxy",), effective_from=dt.date(2024, 6, 1)
    )
    assert not window_receives(window, on_list.item)
    assert window_receives(window, off_list.item)


def test_the_api_takes_the_window_and_refuses_with_the_code(client, police):
    version = builders.item(org=police, scopes=())
    other = builders.item("新生儿入户", org=police, scopes=())
    clerk = builders.staff("window_clerk", police)
    window = builders.at_window(clerk, version)
    body = {
        "item": other.item.code,
        "form": {"reason": "投靠"},
        "applicant": {**APPLICANT, "id_number": builders.valid_id_number()},
        "window": window.pk,
    }
    auth = builders.bearer(clerk)
    r = client.post("/api/v1/cases", json.dumps(body), content_type="application/json", **auth)
    assert r.status_code == 422 and r.json()["code"] == "window_not_receiving", r.content
    body["item"] = version.item.code
    r = client.post("/api/v1/cases", json.dumps(body), content_type="application/json", **auth)
    assert r.status_code == 201, r.content
    assert Case.objects.get(number=r.json()["number"]).window == window
    assert r.json()["window"]["hall"] == window.hall.name


def test_divisions_reach_down_to_townships_and_villages():
    actor = SystemActor("test")
    county = save_division(
        code="210202",
        name="中山区",
        level="county",
        parent=Division.objects.get(code="210200"),
        actor=actor,
    )
    street = save_division(
        code="210202001", name="海军广场街道", level="township", parent=county, actor=actor
    )
    community = save_division(
        code="210202001001", name="人民广场社区", level="village", parent=street, actor=actor
    )
    assert street.code_kind == community.code_kind == "statistical"
    assert community.code_prefix == "210202001001" and street.code_prefix == "210202001"
    with pytest.raises(RuleViolation) as bad:
        save_division(code="21020200", name="错", level="township", parent=county, actor=actor)
    assert bad.value.code == "division_invalid"
    with pytest.raises(RuleViolation):
        save_division(code="210203001", name="错", level="township", parent=county, actor=actor)


def test_a_township_hall_serves_as_a_place_inside_its_city():
    actor = SystemActor("test")
    county = save_division(
        code="210202",
        name="中山区",
        level="county",
        parent=Division.objects.get(code="210200"),
        actor=actor,
    )
    street = save_division(
        code="210202001", name="海军广场街道", level="township", parent=county, actor=actor
    )
    civil = builders.organisation("大连市民政局")
    version = builders.item("结婚登记", org=civil, scopes=())
    clerk = builders.staff("window_clerk", civil)
    hall = builders.hall(civil, code="street-hall", division="210202001")
    window = builders.window(civil, items=(version,), clerks=(clerk,), at=hall)
    case = _apply(clerk, version)
    assert case.window == window and case.place == street
    assert (case.scope, case.mode) == ("local", "window")


def test_the_intake_search_shows_what_the_clerks_windows_receive(client, police):
    received = builders.item("首次申领居民身份证", org=police, scopes=())
    other = builders.item("新生儿入户", org=police, scopes=())
    clerk = builders.staff("window_clerk", police)
    builders.at_window(clerk, received)
    client.force_login(clerk)
    page = client.get("/console/intake/").content.decode()
    assert "首次申领居民身份证" in page and "新生儿入户" not in page
    assert "我的窗口：" in page
    everything = client.get("/console/intake/?received=all").content.decode()
    assert "新生儿入户" in everything
    # Opening the form of an item no window of theirs receives: said before they type.
    form = client.get(f"/console/intake/{other.item.code}/").content.decode()
    assert "您所在的窗口均未入驻该事项" in form
