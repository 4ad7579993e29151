"""What a mobile app does to sign in with the authorization code flow and PKCE
(RFC 7636), driven through the Django test client as a browser tab plus the app's HTTP."""

from __future__ import annotations

import base64
import hashlib
import secrets
import urllib.parse
from dataclasses import dataclass
from typing import Any

APP = "liaoshitong"
REDIRECT = "cn.gov.tongban.app:/oauth/callback"


def challenge_of(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


@dataclass
class Tokens:
    access: str
    refresh: str
    id_token: str
    expires_in: int


def authorize_url(verifier: str, *, state: str = "s1", method: str = "S256", **extra: str) -> str:
    query = {
        "response_type": "code",
        "client_id": APP,
        "redirect_uri": REDIRECT,
        "scope": "openid offline_access",
        "state": state,
        "nonce": "n-" + state,
        "code_challenge": challenge_of(verifier),
        "code_challenge_method": method,
        **extra,
    }
    return "/oidc/authorize?" + urllib.parse.urlencode(query)


def redirected_params(response: Any) -> dict[str, str]:
    assert response.status_code == 302, response.content
    location = response["Location"]
    assert location.startswith(REDIRECT), location
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


def sign_in_and_get_code(browser: Any, id_number: str, password: str, verifier: str) -> str:
    """The app opens the authorize page in a browser tab; the person signs in there."""
    first = browser.get(authorize_url(verifier))
    assert first.status_code == 302 and first["Location"].startswith("/login/")
    signed_in = browser.post(
        "/login/", {"username": id_number, "password": password, "next": authorize_url(verifier)}
    )
    assert signed_in.status_code == 302, signed_in.content
    return redirected_params(browser.get(signed_in["Location"]))["code"]


def exchange(app: Any, code: str, verifier: str) -> Any:
    return app.post(
        "/oidc/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": APP,
            "code_verifier": verifier,
        },
    )


def pkce_tokens(browser: Any, app: Any, id_number: str, password: str) -> Tokens:
    verifier = secrets.token_urlsafe(48)
    code = sign_in_and_get_code(browser, id_number, password, verifier)
    answer = exchange(app, code, verifier)
    assert answer.status_code == 200, answer.content
    data = answer.json()
    return Tokens(data["access_token"], data["refresh_token"], data["id_token"], data["expires_in"])
