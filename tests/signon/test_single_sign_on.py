"""Single sign-on between members: this node's provider signs a person in for another
member (client `node:<id>`, its redirect under its directory base URL), releasing a
pairwise subject and masked data — name and ID number only with the person's consent; and
the relying side accepts only ID tokens of providers the signed directory lists."""

from __future__ import annotations

import secrets
import urllib.parse

import pytest
from django.test import Client
from joserfc import jwt
from joserfc.jwk import OKPKey

from accounts.models import Person
from core.exceptions import RuleViolation
from signon import keys, relying
from signon.models import FederatedIdentity
from signon.provider import s256
from tests import builders

pytestmark = pytest.mark.django_db
JILIN_URL = "http://127.0.0.1:9"
CALLBACK = f"{JILIN_URL}/signon/callback/liaoning/"


@pytest.fixture
def members(federation, settings):
    """Liaoning (this node) publishes its provider in the directory beside jilin."""
    settings.PUBLIC_BASE_URL = "http://testserver"
    federation.publish(
        [{**federation.local_entry(), "oidc": keys.directory_part()}, federation.jilin.entry()],
        serial=2,
    )
    return federation


def authorize(browser: Client, verifier: str, *, scope: str = "openid", nonce: str = "n1", **extra):
    query = {
        "response_type": "code",
        "client_id": "node:jilin",
        "redirect_uri": CALLBACK,
        "scope": scope,
        "state": "st",
        "nonce": nonce,
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
        **extra,
    }
    return browser.get("/oidc/authorize?" + urllib.parse.urlencode(query))


def code_from(response) -> str:
    assert response.status_code == 302, response.content
    assert response["Location"].startswith(CALLBACK)
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(response["Location"]).query))["code"]


def redeem(code: str, verifier: str) -> dict:
    answer = Client().post(
        "/oidc/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": "node:jilin",
            "code_verifier": verifier,
        },
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_a_member_learns_only_a_pairwise_subject_and_masked_data(members, settings):
    person = builders.person("刘辽宁")
    browser = Client()
    browser.force_login(person.user)
    verifier = secrets.token_urlsafe(48)
    answer = redeem(code_from(authorize(browser, verifier)), verifier)
    assert answer["refresh_token"].startswith("tbr_")  # refreshed, to end with a sign-out
    settings.NODE_ID = "jilin"  # now read it as the Jilin node would
    claims = relying.accept_id_token("liaoning", answer["id_token"], nonce="n1")
    assert claims["aud"] == "node:jilin" and claims["acr"] == "real_name"
    assert claims["name_masked"] == "刘**" or claims["name_masked"].startswith("刘")
    assert "id_number" not in claims and "name" not in claims
    assert person.id_number not in answer["id_token"]
    # The subject is pairwise: the mobile app (another client) knows the person otherwise.
    user = relying.link_identity("liaoning", claims)
    identity = FederatedIdentity.objects.get(user=user)
    assert identity.subject == claims["sub"] and not Person.objects.filter(user=user).exists()
    assert relying.needs_identity(user) == "liaoning"
    # Its pages offer to share the identity where a person is needed.
    settings.NODE_ID = "liaoning"
    page = Client()
    page.force_login(user)
    wallet = page.get("/my/licences/").content.decode()
    assert "/signon/with/liaoning/?identity=1&amp;next=/my/licences/" in wallet
    apply_page = page.get(f"/items/{builders.item().item.code}/apply/")
    assert apply_page.status_code == 403 and "授权核实身份" in apply_page.content.decode()
    # Signing in again finds the same account.
    assert relying.link_identity("liaoning", claims) == user


def test_the_identity_is_shared_only_with_consent(members, settings):
    person = builders.person("陈同意")
    browser = Client()
    browser.force_login(person.user)
    verifier = secrets.token_urlsafe(48)
    page = authorize(browser, verifier, scope="openid identity")
    assert page.status_code == 200 and "授权提供身份信息" in page.content.decode()
    # The form's answer redirects to Jilin: the page's CSP allows that origin, only it.
    policy = page["Content-Security-Policy"]
    assert "form-action 'self' http://127.0.0.1:9" in policy
    query = page.wsgi_request.GET.urlencode()
    denied = browser.post("/oidc/authorize?" + query, {"decision": "deny"})
    assert "error=access_denied" in denied["Location"]
    allowed = browser.post("/oidc/authorize?" + query, {"decision": "allow"})
    answer = redeem(code_from(allowed), verifier)
    settings.NODE_ID = "jilin"
    claims = relying.accept_id_token("liaoning", answer["id_token"], nonce="n1")
    assert claims["id_number"] == person.id_number
    # Jilin ties the sign-in to its person record (here: the one this test database holds).
    user = relying.link_identity("liaoning", claims)
    assert user == person.user
    assert relying.needs_identity(user) == ""


def test_a_redirect_outside_the_members_base_url_is_refused(members):
    browser = Client()
    browser.force_login(builders.person("吴重定").user)
    answer = authorize(browser, "v" * 43, redirect_uri="http://evil.example/signon/callback/x/")
    assert answer.status_code == 400 and "redirect_uri_mismatch" in answer.content.decode()
    unknown = authorize(browser, "v" * 43, client_id="node:atlantis")
    assert unknown.status_code == 400 and "client_unknown" in unknown.content.decode()


def _forged(issuer: str, *, key: OKPKey | None = None, aud: str = "node:jilin") -> str:
    key = key or OKPKey.generate_key("Ed25519", parameters={"kid": "forged"})
    claims = {"iss": issuer, "sub": "x" * 20, "aud": aud, "exp": 4102444800, "nonce": "n1"}
    return jwt.encode({"alg": "Ed25519", "kid": key.kid}, claims, key, algorithms=["Ed25519"])


def test_a_token_from_a_provider_not_in_the_directory_is_refused(members, settings):
    settings.NODE_ID = "jilin"
    # jilin's own entry has no provider; an unknown node is not in the directory at all.
    for node in ("jilin", "atlantis"):
        with pytest.raises(RuleViolation) as bad:
            relying.accept_id_token(node, _forged("http://testserver"), nonce="n1")
        assert bad.value.code == "issuer_not_trusted"
    # Liaoning is listed, but this token is not signed with a key the directory lists.
    with pytest.raises(RuleViolation) as forged:
        relying.accept_id_token("liaoning", _forged("http://testserver"), nonce="n1")
    assert forged.value.code == "id_token_invalid"
    # Signed by Liaoning's key, but claiming another issuer.
    signing = keys.signing_key()
    from core.personal_data import KEY_STORE, decrypt

    pem = decrypt(signing.sealed_private_key, ring=KEY_STORE, purpose=keys.PURPOSE).encode()
    real_key = OKPKey.import_key(pem, parameters={"kid": signing.kid})
    with pytest.raises(RuleViolation) as other_issuer:
        relying.accept_id_token(
            "liaoning", _forged("http://evil.example", key=real_key), nonce="n1"
        )
    assert other_issuer.value.code == "issuer_not_trusted"
    with pytest.raises(RuleViolation) as wrong_nonce:
        relying.accept_id_token("liaoning", _forged("http://testserver", key=real_key), nonce="n2")
    assert wrong_nonce.value.code == "id_token_invalid"


def test_the_discovery_document_and_keys(members):
    client = Client()
    meta = client.get("/.well-known/openid-configuration").json()
    assert meta["issuer"] == "http://testserver"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["subject_types_supported"] == ["pairwise"]
    published = client.get("/oidc/jwks").json()
    assert published == keys.jwks() and published["keys"][0]["kty"] == "OKP"


def test_the_relying_side_refuses_a_callback_it_did_not_start(members):
    browser = Client()
    answer = browser.get("/signon/callback/liaoning/?code=abc&state=never")
    assert answer.status_code == 400 and "signon_state_invalid" in answer.content.decode()
    to_self = browser.get("/signon/with/liaoning/")
    assert to_self.status_code == 400 and "issuer_is_self" in to_self.content.decode()
    untrusted = browser.get("/signon/with/jilin/")
    assert untrusted.status_code == 403 and "issuer_not_trusted" in untrusted.content.decode()


def test_the_sign_in_page_on_the_way_to_a_member_allows_its_callback(members):
    verifier = "v" * 43
    anonymous = Client()
    to_login = authorize(anonymous, verifier)
    assert to_login.status_code == 302 and to_login["Location"].startswith("/login/")
    login_page = anonymous.get(to_login["Location"])
    assert "form-action 'self' http://127.0.0.1:9" in login_page["Content-Security-Policy"]
    plain = anonymous.get("/login/?next=/my/cases/")
    assert "http://127.0.0.1:9" not in plain["Content-Security-Policy"]
