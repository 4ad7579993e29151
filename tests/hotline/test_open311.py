"""Open311 GeoReport v2 as a standard client uses it: over real HTTP against a live
server, list the services, read a service's attributes, post a request with an api_key
and the required attributes, read its status back (by id and by token). The standard's
errors: no key, an unknown service_code, a missing required attribute."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from core.actors import SystemActor
from hotline.engine import take_action
from hotline.models import Ticket
from tests import builders
from tests.hotline.conftest import make_world


class GeoReportClient:
    """What any GeoReport v2 client does: GET and POST form-encoded, JSON back."""

    def __init__(self, endpoint: str, api_key: str = "") -> None:
        self.endpoint, self.api_key = endpoint.rstrip("/") + "/", api_key

    def _call(self, path: str, data: dict[str, str] | None = None) -> tuple[int, object]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.endpoint + path, data=body)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def services(self):
        return self._call("services.json")

    def service(self, code: str):
        return self._call(f"services/{code}.json")

    def post(self, **fields: str):
        data = {"api_key": self.api_key, **fields} if self.api_key else dict(fields)
        return self._call("requests.json", data)

    def requests(self, **filters: str):
        query = ("?" + urllib.parse.urlencode(filters)) if filters else ""
        return self._call("requests.json" + query)

    def request(self, service_request_id: str):
        return self._call(f"requests/{service_request_id}.json")

    def token(self, token: str):
        return self._call(f"tokens/{token}.json")


def _world_and_key():
    from accounts.services import create_api_token

    world = make_world()
    app = builders.staff("reviewer", world.housing, username="liaoshitong-app")
    return world, create_api_token(app, actor=SystemActor("test"), name="辽事通")


# The live server answers from another thread, so the test's data must be committed;
# serialized_rollback puts the migrations' reference data back afterwards.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_standard_client_lists_posts_and_reads_back(live_server):
    world, key = _world_and_key()
    client = GeoReportClient(live_server.url + "/open311/v2/", key)
    status, services = client.services()
    assert status == 200
    assert [s["service_code"] for s in services] == ["heating", "water-supply"]
    assert services[0]["service_name"] == "供暖" and services[0]["metadata"] is True
    status, definition = client.service("heating")
    required = {a["code"]: a for a in definition["attributes"] if a["required"]}
    assert set(required) == {"ticket_type", "division"}
    assert {"key": "210200", "name": "大连市"} in required["division"]["values"]
    form = {f"attribute[{code}]": spec["values"][0]["key"] for code, spec in required.items()}
    form["attribute[ticket_type]"] = "complaint"
    status, created = client.post(
        service_code="heating",
        lat="38.914003",
        long="121.614682",
        address_string="中山区人民路 1 号",
        description="暖气不热，室温 14 度",
        first_name="芳",
        last_name="王",
        phone="13904112368",
        **form,
    )
    assert status == 201, created
    number = created[0]["service_request_id"]
    ticket = Ticket.objects.get(number=number)
    assert (ticket.channel, ticket.type, ticket.category.code) == (
        "open311",
        "complaint",
        "heating",
    )
    assert ticket.caller_name_masked == "王*" and ticket.division.code == "210200"
    status, read = client.request(number)
    assert status == 200 and read[0]["status"] == "open" and read[0]["service_code"] == "heating"
    assert "13904112368" not in json.dumps(read, ensure_ascii=False)
    status, by_token = client.token(created[0]["token"])
    assert by_token == [{"service_request_id": number, "token": created[0]["token"]}]
    take_action(ticket, "accept", actor=world.agent)
    take_action(
        ticket,
        "dispatch",
        actor=world.agent,
        data={"category": "heating", "lead": world.housing.uscc},
    )
    status, read = client.request(number)
    assert read[0]["agency_responsible"] == world.housing.name and read[0]["expected_datetime"]
    status, listed = client.requests(service_code="heating", status="open")
    assert [r["service_request_id"] for r in listed] == [number]
    status, listed = client.requests(status="closed")
    assert listed == []


def test_bad_posts_are_refused_in_the_standard_format(client):
    _, key = _world_and_key()
    good = {
        "service_code": "heating",
        "address_string": "中山区人民路 1 号",
        "description": "暖气不热",
        "attribute[ticket_type]": "complaint",
        "attribute[division]": "210200",
    }

    def post(**fields):
        response = client.post("/open311/v2/requests.json", fields)
        return response.status_code, response.json()

    status, body = post(**good)
    assert status == 403 and body == [{"code": 403, "description": "缺少 api_key"}]
    status, body = post(**good, api_key="tb_wrong")
    assert status == 403 and "api_key" in body[0]["description"]
    status, body = post(**{**good, "service_code": "no-such"}, api_key=key)
    assert status == 404 and body[0]["code"] == 404 and "no-such" in body[0]["description"]
    status, body = post(
        **{k: v for k, v in good.items() if k != "attribute[division]"}, api_key=key
    )
    assert status == 400 and "attribute[division]" in body[0]["description"]
    status, body = post(**{**good, "attribute[ticket_type]": "gossip"}, api_key=key)
    assert status == 400 and "ticket_type" in body[0]["description"]
    status, body = post(**{k: v for k, v in good.items() if k != "address_string"}, api_key=key)
    assert status == 400 and "位置" in body[0]["description"]
    status, body = post(**{**good, "description": ""}, api_key=key)
    assert status == 400 and "诉求内容" in body[0]["description"]
    assert Ticket.objects.count() == 0
    response = client.get("/open311/v2/requests/LN12345-20260101-999999.json")
    assert response.status_code == 404 and response.json()[0]["code"] == 404


def test_json_only_and_the_filters_checked(client):
    make_world()
    response = client.get("/open311/v2/services.xml")
    assert response.status_code == 400 and response.json()[0]["code"] == 400
    response = client.get("/open311/v2/requests.json", {"status": "pending"})
    assert response.status_code == 400
    response = client.get("/open311/v2/requests.json", {"start_date": "yesterday"})
    assert response.status_code == 400
    response = client.get("/open311/v2/nothing.json")
    assert response.status_code == 404 and response.json()[0]["code"] == 404
    response = client.get("/open311/v2/services.json", {"jurisdiction_id": "jilin"})
    assert response.status_code == 404


def test_reports_are_never_listed_and_lists_take_constant_queries(
    client, django_assert_num_queries
):
    world = make_world()
    world.ticket(type="report", anonymous=True, caller_name="", caller_phone="")
    for _ in range(3):
        world.ticket(category="heating")
    with django_assert_num_queries(1):
        response = client.get("/open311/v2/requests.json")
    assert len(response.json()) == 3
    for _ in range(5):
        world.ticket(category="heating")
    with django_assert_num_queries(1):
        assert len(client.get("/open311/v2/requests.json").json()) == 8
