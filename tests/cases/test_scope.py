"""The 通办 rules hold wherever a case enters: the scope and mode come from where the
applicant is served, the item's availabilities and the lists in force; the channel from
its 申报方式. Every refusal has a stable code and writes nothing."""

import pytest
from django.test import Client

from cases import services
from cases.models import Case, CaseEvent
from core.exceptions import RuleViolation
from core.models import Division
from tests import builders


def _division(code: str) -> Division:
    return Division.objects.get(code=code)


def _apply_online(version, person, place: str):
    return services.apply(
        actor=person.user,
        item_version=version,
        form_data={"reason": "投靠"},
        place=_division(place),
    )


def _apply_at_window(version, org):
    clerk = builders.staff("window_clerk", org)
    builders.at_window(clerk, version)
    return services.apply(
        actor=clerk,
        item_version=version,
        form_data={"reason": "投靠"},
        on_behalf_of={"kind": "person", "name": "李四", "id_number": builders.valid_id_number()},
    )


def _refused(code: str, call) -> None:
    before = (Case.objects.count(), CaseEvent.objects.count())
    with pytest.raises(RuleViolation) as refused:
        call()
    assert refused.value.code == code, refused.value.message
    assert (Case.objects.count(), CaseEvent.objects.count()) == before


def test_an_online_application_from_the_same_city_is_local():
    version = builders.item(org=builders.organisation("大连市公安局"), scopes=())
    case = _apply_online(version, builders.person(), "210200")
    assert (case.scope, case.mode, case.place.code) == ("local", "online", "210200")
    assert case.list_version is None


def test_a_window_only_item_cannot_be_applied_for_online():
    version = builders.item(application_channels=["window"], scopes=())
    _refused("channel_not_offered", lambda: _apply_online(version, builders.person(), "210200"))
    case = _apply_at_window(version, version.item.organisation)
    assert (case.scope, case.mode, case.channel) == ("local", "window", "window")


def test_an_item_on_no_list_is_refused_away_from_home_at_a_window_and_online():
    """Availabilities alone are not the promise: without a list in force, no 通办."""
    version = builders.item(scopes=(("in_province", "proxy"), ("in_province", "online")))
    shenyang = builders.organisation("沈阳市政务服务中心", "210100")
    _refused("not_available_here", lambda: _apply_at_window(version, shenyang))
    _refused("not_available_here", lambda: _apply_online(version, builders.person(), "210100"))
    builders.offered(version)
    case = _apply_at_window(version, shenyang)
    assert (case.scope, case.mode) == ("in_province", "proxy")
    assert case.list_version.item_list.scope == "in_province"
    case = _apply_online(version, builders.person(), "210100")
    assert (case.scope, case.mode) == ("in_province", "online")


def test_an_availability_open_to_one_city_refuses_the_others():
    """省内通办 open only to 鞍山: the 大连 window is refused, the 鞍山 window is not."""
    owner = builders.organisation("沈阳市公安局", "210100")
    version = builders.item(org=owner, scopes=(), publish=False)
    availability = version.availabilities.create(scope="in_province", mode="proxy")
    availability.divisions.set([_division("210300")])
    from catalog.services import publish_item_version
    from core.actors import SystemActor

    publish_item_version(version, actor=SystemActor("test"))
    version.refresh_from_db()
    builders.offered(version)
    _refused(
        "not_available_here",
        lambda: _apply_at_window(version, builders.organisation("大连市政务服务中心")),
    )
    case = _apply_at_window(version, builders.organisation("鞍山市政务服务中心", "210300"))
    assert (case.scope, case.mode, case.place.code) == ("in_province", "proxy", "210300")


def test_a_mode_the_item_does_not_offer_there_is_refused():
    version = builders.offered(builders.item(scopes=(("in_province", "proxy"),)))
    _refused("mode_not_offered", lambda: _apply_online(version, builders.person(), "210100"))


def test_another_province_is_regional_where_the_scheme_lists_it_else_cross_province():
    scheme = builders.northeast_scheme()
    regional = builders.offered(
        builders.item(scopes=(("regional", "online"),), scheme=scheme, name="区域通办事项")
    )
    national = builders.offered(builders.item(scopes=(("cross_province", "online"),)))
    case = _apply_online(regional, builders.person(), "220100")
    assert (case.scope, case.mode) == ("regional", "online")
    case = _apply_online(national, builders.person(), "220100")
    assert (case.scope, case.mode) == ("cross_province", "online")
    # Outside the scheme's members the regional item is not offered at all.
    Division.objects.create(code="110000", name="北京市", level=Division.Level.PROVINCE)
    _refused("not_available_here", lambda: _apply_online(regional, builders.person(), "110000"))
    case = _apply_online(national, builders.person(), "110000")
    assert case.scope == "cross_province"


def test_the_api_decides_the_same_and_answers_the_stable_codes(client: Client):
    version = builders.offered(builders.item(scopes=(("in_province", "proxy"),)))
    citizen = builders.person()
    body = {"item": version.item.code, "form": {"reason": "投靠"}, "place": "210100"}
    response = client.post(
        "/api/v1/cases", body, content_type="application/json", **builders.bearer(citizen.user)
    )
    assert response.status_code == 422 and response.json()["code"] == "mode_not_offered"
    response = client.post(
        "/api/v1/cases",
        {**body, "place": "210200"},
        content_type="application/json",
        **builders.bearer(citizen.user),
    )
    assert response.status_code == 201, response.content
    case = Case.objects.get(number=response.json()["number"])
    assert (case.scope, case.mode) == ("local", "online")
    response = client.post(
        "/api/v1/cases",
        {**body, "place": "999999"},
        content_type="application/json",
        **builders.bearer(citizen.user),
    )
    assert response.status_code == 422 and response.json()["code"] == "unknown_division"


def test_drafts_are_invisible_to_staff_and_a_window_draft_to_other_clerks():
    from cases.selectors import cases_for

    version = builders.item(org=builders.organisation("大连市公安局"), scopes=())
    reviewer = builders.staff("reviewer", version.item.organisation)
    online = _apply_online(version, builders.person(), "210200")
    assert not cases_for(reviewer).filter(pk=online.pk).exists()
    clerk = builders.staff("window_clerk", version.item.organisation)
    builders.at_window(clerk, version)
    window = services.apply(
        actor=clerk,
        item_version=version,
        form_data={"reason": "投靠"},
        on_behalf_of={"kind": "person", "name": "李四", "id_number": builders.valid_id_number()},
    )
    other_clerk = builders.staff("window_clerk", version.item.organisation)
    assert cases_for(clerk).filter(pk=window.pk).exists()
    assert not cases_for(other_clerk).filter(pk=window.pk).exists()
    assert not cases_for(reviewer).filter(pk=window.pk).exists()
    for material in version.materials.all():
        from cases.materials import add_material

        add_material(
            online,
            material,
            content=builders.uploaded_pdf(),
            name="m.pdf",
            actor=online.submitted_by,
        )
    from cases import engine

    engine.take_action(online, "submit", actor=online.submitted_by)
    assert cases_for(reviewer).filter(pk=online.pk).exists()
