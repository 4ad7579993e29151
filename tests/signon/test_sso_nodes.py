"""Single sign-on across real nodes: a person signed in on Liaoning opens the Jilin
portal's wallet without a second account or password. Jilin learns a pairwise subject and
a masked name; the licence Jilin issued to them shows once they agree, on Liaoning, to
share their ID number. Each node is a web server with its own SQLite database
(tests/federation/nodes.py); the browser keeps cookies per node, as the demo's distinct
cookie names make a real browser do."""

from __future__ import annotations

import http.client
import re
import urllib.parse

import pytest
from django.db import connection

from tests.federation.nodes import start_cluster

pytestmark = pytest.mark.nodes

PASSWORD = "pw-sso-2026-x"
ID_BODY = "21020219880618051"

SETUP = f"""
from django.conf import settings
from django.contrib.auth import get_user_model
from stdnum.cn import ric, uscc
from accounts.services import register_person
from core.actors import SystemActor
from core.models import Division
from core.services import save_organisation
from licences.services import create_seal
number = "{ID_BODY}" + ric.calc_check_digit("{ID_BODY}" + "0")
actor = SystemActor("test")
if settings.NODE_ID == "liaoning":
    user = get_user_model().objects.create_user("sso-citizen", password="{PASSWORD}")
    register_person(name="刘辽宁", id_number=number, user=user, actor=actor)
if settings.NODE_ID == "jilin":
    body = "1122010000000001" + "0"
    org = save_organisation(uscc=body + uscc.calc_check_digit(body), name="长春市公安局",
                            division=Division.objects.get(code="220100"), actor=actor)
    create_seal(org, actor=actor, name="长春市公安局户籍专用章")
"""

ISSUE = f"""
from stdnum.cn import ric
from accounts.services import register_person
from core.actors import SystemActor
from catalog.models import LicenceType
from core.models import Organisation
from licences.services import Holder, issue_licence
number = "{ID_BODY}" + ric.calc_check_digit("{ID_BODY}" + "0")
person = register_person(name="刘辽宁", id_number=number, actor=SystemActor("test"),
                         verify_real_name=False)
face = [{{"name": "registered_address", "label": "户籍地址", "type": "address"}}]
licence_type, _ = LicenceType.objects.get_or_create(
    code="11100000000013338W011",
    defaults={{"name": "居民户籍证明", "face_fields": face, "valid_years": 1}},
)
issue_licence(licence_type=licence_type, holder=Holder.of_person(person),
              issuer=Organisation.objects.get(name="长春市公安局"),
              face_data={{"registered_address": "吉林省长春市南关区人民大街1号"}},
              case_number="JL-20261205-000001", actor=SystemActor("test"))
print("ok")
"""


class Browser:
    """Just enough of a browser: cookies kept per host and port, redirects followed."""

    def __init__(self) -> None:
        self.cookies: dict[str, dict[str, str]] = {}

    def request(self, method: str, url: str, form: dict[str, str] | None = None):
        parts = urllib.parse.urlsplit(url)
        origin = f"{parts.hostname}:{parts.port}"
        jar = self.cookies.setdefault(origin, {})
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = url
            headers["Origin"] = f"{parts.scheme}://{origin}"
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read().decode()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                jar[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.getheader("Location") or "", content

    def go(self, url: str, form: dict[str, str] | None = None, *, hops: int = 10):
        """Request `url` and follow redirects; the last answer and its URL."""
        status, location, content = self.request("POST" if form else "GET", url, form)
        while status in (301, 302, 303) and hops:
            url = urllib.parse.urljoin(url, location)
            status, location, content = self.request("GET", url)
            hops -= 1
        return status, url, content


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if connection.vendor != "sqlite":
        pytest.skip("node processes run on their own SQLite files: once, in the SQLite pass")
    nodes = start_cluster(
        tmp_path_factory.mktemp("sso-nodes"), ["liaoning", "jilin"], setup=[["shell", "-c", SETUP]]
    )
    yield nodes
    nodes.stop()


def test_signed_in_on_liaoning_a_person_opens_the_jilin_wallet(cluster):
    ln, jl = cluster["liaoning"], cluster["jilin"]
    assert jl.manage("shell", "-c", ISSUE).stdout.strip().endswith("ok")
    browser = Browser()

    # Signed in on Liaoning, with the ID number and password.
    _, login_url, page = browser.go(f"{ln.url}/login/")
    status, _, _ = browser.go(
        login_url,
        {
            "username": ID_BODY + _check(ID_BODY),
            "password": PASSWORD,
            "csrfmiddlewaretoken": csrf_token(page),
        },
    )
    assert status == 200

    # Jilin's sign-in page offers Liaoning's account; choosing it signs in at once.
    _, _, jilin_login = browser.go(f"{jl.url}/login/?next=/my/licences/")
    assert "用辽宁省政务服务通办平台账号登录" in jilin_login
    status, url, wallet = browser.go(f"{jl.url}/signon/with/liaoning/?next=/my/licences/")
    assert status == 200 and url == f"{jl.url}/my/licences/", url
    assert "我的证照" in wallet and "授权核实身份" in wallet
    assert "居民户籍证明" not in wallet  # Jilin does not know who they are yet
    # What Jilin learnt: a pairwise subject and a masked name, no ID number.
    rows = jl.query("SELECT node, subject, name_masked FROM signon_federatedidentity")
    assert len(rows) == 1 and rows[0][0] == "liaoning" and rows[0][2].startswith("刘")
    # The licence holder's person record on Jilin is not tied to the account yet.
    assert jl.query("SELECT user_id FROM accounts_person") == [(None,)]

    # Sharing the ID number: agreed to on Liaoning, then the wallet shows Jilin's licence.
    status, consent_url, consent = browser.go(
        f"{jl.url}/signon/with/liaoning/?identity=1&next=/my/licences/"
    )
    assert (
        status == 200
        and consent_url.startswith(f"{ln.url}/oidc/authorize")
        and "授权提供身份信息" in consent
    )
    status, url, wallet = browser.go(
        consent_url, {"decision": "allow", "csrfmiddlewaretoken": csrf_token(consent)}
    )
    assert status == 200 and url == f"{jl.url}/my/licences/", url
    assert "居民户籍证明" in wallet and "授权核实身份" not in wallet
    assert jl.query("SELECT COUNT(*) FROM accounts_person WHERE user_id IS NOT NULL") == [(1,)]
    # Liaoning recorded the consent; Jilin the shared identity.
    assert ln.count("core_auditevent", "action = ?", "signon_consent") == 1
    assert jl.count("core_auditevent", "action = ?", "federated_identity_shared") == 1


def test_a_provider_not_in_the_directory_is_refused(cluster):
    jl = cluster["jilin"]
    status, _, page = Browser().go(f"{jl.url}/signon/with/heilongjiang/")
    assert status == 403 and "issuer_not_trusted" in page


def _check(body: str) -> str:
    from stdnum.cn import ric

    return ric.calc_check_digit(body + "0")
