"""The JSON API for what a department system does with cases that span nodes: 多地联办
steps, parcels, another province's licence in place of a material."""

import json

from cases import services
from cases.models import CaseStep
from catalog.models import Material
from catalog.services import publish_item_version
from core.actors import SystemActor
from tests import builders
from tests.cases.test_joint import _accepted_joint_case, _remote_org
from tests.licences.test_cross_node import TYPE_CODE, _identifier


def _post(client, user, path, body):
    return client.post(
        path, json.dumps(body), content_type="application/json", **builders.bearer(user)
    )


def test_steps_are_assigned_and_done_through_the_api(federation, client):
    case, reviewer = _accepted_joint_case()
    move_out = _remote_org("大连市公安局（迁出地）")
    response = _post(
        client,
        reviewer,
        f"/api/v1/cases/{case.number}/steps",
        {
            "steps": [
                {"order": 1, "name": "准予迁入", "organisation": case.handling_org.uscc},
                {"order": 2, "name": "注销原户籍", "organisation": move_out.uscc},
            ]
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "joint_steps"
    assert [(s["name"], s["status"], s["remote"]) for s in body["steps"]] == [
        ("准予迁入", "active", False),
        ("注销原户籍", "waiting", True),
    ]
    first = CaseStep.objects.get(order=1)
    response = _post(
        client, reviewer, f"/api/v1/cases/{case.number}/steps/{first.pk}", {"passed": False}
    )
    assert response.status_code == 422 and response.json()["code"] == "note_required"
    response = _post(
        client, reviewer, f"/api/v1/cases/{case.number}/steps/{first.pk}", {"passed": True}
    )
    assert [s["status"] for s in response.json()["steps"]] == ["done", "active"]
    bad = _post(client, reviewer, f"/api/v1/cases/{case.number}/steps", {"steps": []})
    assert bad.status_code == 422


def test_the_window_books_a_parcel_through_the_api(federation, client, settings):
    settings.TONGBAN_ADAPTERS = {
        **settings.TONGBAN_ADAPTERS,
        "carrier": "delivery.carriers.LocalCarrier",
    }
    version = builders.item(scopes=(("cross_province", "proxy"),))
    case, clerk = builders.checked_window_case(version)
    parcel = {
        "purpose": "materials",
        "contents": "申请材料原件 2 份",
        "sender": {
            "name": "大连市政务服务中心",
            "mobile": "13904112368",
            "address": "大连市中山区人民路 1 号",
        },
        "recipient": {
            "name": case.handling_org.name,
            "mobile": "13804310000",
            "address": "长春市朝阳区人民大街 1 号",
        },
    }
    response = _post(client, clerk, f"/api/v1/cases/{case.number}/shipments", parcel)
    assert response.status_code == 201, response.content
    assert response.json()["tracking_number"].startswith("LC")
    detail = client.get(f"/api/v1/cases/{case.number}", **builders.bearer(clerk)).json()
    assert detail["timeline"][-1]["action"] == "post_materials"
    assert detail["segments"][0]["organisation"] == "大连市政务服务中心"
    client.force_login(clerk)  # the page shows the same segments as a styled, labelled table
    page = client.get(f"/console/cases/{case.number}/").content.decode()
    segments = page[page.index('id="segments"') :]
    assert '<div class="table-wrap" role="region" aria-labelledby="segments-caption"' in segments
    assert '<table class="data-table">' in segments and "大连市政务服务中心" in segments
    refused = _post(
        client, clerk, f"/api/v1/cases/{case.number}/shipments", {**parcel, "purpose": "result"}
    )
    assert refused.status_code == 403


def test_another_provinces_licence_replaces_a_material_through_the_api(world, issuer, client):
    licence_type = builders.licence_type(code=TYPE_CODE)
    version = builders.item(publish=False)
    Material.objects.filter(version=version, position=1).update(licence_type=licence_type)
    publish_item_version(version, actor=SystemActor("test"))
    version.refresh_from_db()
    applicant = builders.person("李四")
    case = services.start_case(
        item_version=version, form_data={"reason": "投靠"}, actor=applicant.user, person=applicant
    )
    token = world.seal.token()
    issuer.answers[_identifier(token)] = {"status": "valid", "version": 1, "holder_matches": True}
    requirement = version.materials.get(position=1)
    response = _post(
        client,
        applicant.user,
        f"/api/v1/cases/{case.number}/materials/foreign-licence",
        {"material": requirement.pk, "token": token},
    )
    assert response.status_code == 201, response.content
    provided = next(m for m in response.json()["materials"] if m["id"] == requirement.pk)
    assert provided["provided"]
    issuer.answers[_identifier(token)] = {"status": "revoked", "version": 1, "holder_matches": True}
    other = version.materials.get(position=2)
    Material.objects.filter(pk=other.pk).update(licence_type=licence_type)
    refused = _post(
        client,
        applicant.user,
        f"/api/v1/cases/{case.number}/materials/foreign-licence",
        {"material": other.pk, "token": token},
    )
    assert refused.status_code == 422 and refused.json()["code"] == "licence_not_valid"
