"""The provider's endpoints (discovery, JWKS, authorize, token, userinfo, revocation) and
the relying party's (sign in with another node, its callback). Each parses, calls one
service of signon.provider or signon.relying, and answers: JSON with OAuth's `error`
(plus the stable `code`) for apps, Chinese pages for people."""

from __future__ import annotations

import urllib.parse
from typing import Any

from django.contrib.auth import login, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.assurance import start_session
from core.exceptions import RuleViolation
from signon import keys, provider, relying, sessions
from signon.provider import ACCESS_LIFETIME

# OAuth's error for each of our codes (RFC 6749 §5.2, RFC 6750 §3.1).
OAUTH_ERRORS = {
    "client_unknown": "invalid_client",
    "invalid_grant": "invalid_grant",
    "pkce_verifier_mismatch": "invalid_grant",
    "refresh_token_reused": "invalid_grant",
    "invalid_scope": "invalid_scope",
    "unsupported_response_type": "unsupported_response_type",
    "invalid_token": "invalid_token",
}


def _json(data: dict[str, Any], status: int = 200) -> JsonResponse:
    answer = JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
    answer["Cache-Control"] = "no-store"
    return answer


def _oauth_error(exc: RuleViolation, status: int = 400) -> JsonResponse:
    error = OAUTH_ERRORS.get(exc.code, "invalid_request")
    return _json(
        {"error": error, "error_description": exc.message, "code": exc.code},
        status=401 if error in ("invalid_client", "invalid_token") else status,
    )


class ClientRedirect(HttpResponseRedirect):
    """A redirect to a client's registered address, which may be an app's own scheme
    (`cn.gov.tongban.app:/oauth/callback`, RFC 8252 §7.1). Only addresses checked against
    the client's registration are ever passed here."""

    def __init__(self, url: str) -> None:
        scheme = urllib.parse.urlsplit(url).scheme
        self.allowed_schemes = ["http", "https", scheme]
        super().__init__(url)


def _with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urllib.parse.urlencode(params)


@require_safe
def discovery(request: HttpRequest) -> JsonResponse:
    """OpenID Provider metadata (OpenID Connect Discovery 1.0 §3)."""
    base = keys.issuer()
    return _json(
        {
            "issuer": base,
            "authorization_endpoint": f"{base}/oidc/authorize",
            "token_endpoint": f"{base}/oidc/token",
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "jwks_uri": f"{base}/oidc/jwks",
            "revocation_endpoint": f"{base}/oidc/revoke",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": [keys.ALGORITHM],
            "scopes_supported": sorted(provider.SCOPES),
            "token_endpoint_auth_methods_supported": ["none"],
            "acr_values_supported": ["password", "real_name", "in_person"],
            "claims_supported": ["sub", "acr", "name_masked", "name", "id_number"],
        }
    )


@require_safe
def jwks(request: HttpRequest) -> JsonResponse:
    return _json(keys.jwks())


@require_http_methods(["GET", "HEAD", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """授权: a signed-in person gets a code sent to the client's redirect address; one
    not signed in signs in first; sharing their identity with another node needs their
    agreement on this page."""
    params: dict[str, str] = {k: str(v) for k, v in request.GET.items()}
    try:
        client = provider.check_client_redirect(
            params.get("client_id", ""), params.get("redirect_uri", "")
        )
    except RuleViolation as exc:
        return render(request, "signon/error.html", {"problem": exc}, status=400)
    try:
        auth_request = provider.check_request(params)
    except RuleViolation as exc:
        error = OAUTH_ERRORS.get(exc.code, "invalid_request")
        return ClientRedirect(
            _with_query(
                params["redirect_uri"],
                {
                    "error": error,
                    "error_description": exc.message,
                    "state": params.get("state", ""),
                },
            )
        )
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    user = request.user
    if auth_request.needs_consent and request.method != "POST":
        page = render(
            request, "signon/consent.html", {"client": client, "query": request.GET.urlencode()}
        )
        # The answer to the consent form redirects to the member's callback.
        page._csp_update = {"form-action": [provider.redirect_origin(auth_request.redirect_uri)]}  # type: ignore[attr-defined]
        return page

    if request.method == "POST" and request.POST.get("decision") != "allow":
        return ClientRedirect(
            _with_query(
                auth_request.redirect_uri, {"error": "access_denied", "state": auth_request.state}
            )
        )
    code = provider.issue_code(
        auth_request,
        user=user,
        auth_time=user.last_login or timezone.now(),  # type: ignore[arg-type]
    )
    return ClientRedirect(
        _with_query(auth_request.redirect_uri, {"code": code, "state": auth_request.state})
    )


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> JsonResponse:
    """Token endpoint: a code (with its PKCE verifier) or a refresh token for tokens."""
    data = request.POST
    try:
        grant_type = data.get("grant_type", "")
        if grant_type == "authorization_code":
            answer = provider.exchange_code(
                code=data.get("code", ""),
                client_id=data.get("client_id", ""),
                redirect_uri=data.get("redirect_uri", ""),
                code_verifier=data.get("code_verifier", ""),
            )
        elif grant_type == "refresh_token":
            answer = provider.refresh(
                refresh_token=data.get("refresh_token", ""), client_id=data.get("client_id", "")
            )
        else:
            return _json(
                {
                    "error": "unsupported_grant_type",
                    "code": "unsupported_grant_type",
                    "error_description": "只支持 authorization_code 与 refresh_token",
                },
                status=400,
            )
    except RuleViolation as exc:
        return _oauth_error(exc)
    return _json(answer)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def userinfo(request: HttpRequest) -> JsonResponse:
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer":
            raise RuleViolation("invalid_token", "须以 Bearer 访问令牌调用", status=401)
        claims = provider.userinfo(raw.strip())
    except RuleViolation as exc:
        answer = _oauth_error(exc)
        answer["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return answer
    return _json(claims)


@csrf_exempt
@require_POST
def revoke(request: HttpRequest) -> JsonResponse:
    """RFC 7009: 200 whether or not the token was known."""
    provider.revoke(
        token=request.POST.get("token", ""), client_id=request.POST.get("client_id", "")
    )
    return _json({})


# --- relying party --------------------------------------------------------------------


def _safe_next(request: HttpRequest) -> str:
    target = request.GET.get("next") or "/"
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@require_safe
def sign_in_with(request: HttpRequest, node: str) -> HttpResponse:
    """使用其他节点账号登录 (and 核实身份 with `identity=1`)."""
    try:
        target = relying.start(
            request.session,
            node_id=node,
            next_url=_safe_next(request),
            identity=request.GET.get("identity") == "1",
        )
    except RuleViolation as exc:
        return render(request, "signon/error.html", {"problem": exc}, status=exc.status)
    return HttpResponseRedirect(target.url)


@require_safe
def callback(request: HttpRequest, node: str) -> HttpResponse:
    if request.GET.get("error"):
        problem = RuleViolation(
            "signon_denied",
            "登录节点未完成登录："
            + request.GET.get("error_description", request.GET["error"])[:100],
        )
        return render(request, "signon/error.html", {"problem": problem}, status=403)
    try:
        signed = relying.complete(
            request.session,
            node_id=node,
            code=request.GET.get("code", ""),
            state=request.GET.get("state", ""),
        )
    except RuleViolation as exc:
        return render(request, "signon/error.html", {"problem": exc}, status=exc.status)
    if request.user.is_authenticated and request.user.pk != signed.user.pk:
        logout(request)
    login(request, signed.user, backend="django.contrib.auth.backends.ModelBackend")
    start_session(request, signed.level)
    sessions.attach_provider(request, node=node, refresh_token=signed.refresh_token)
    return HttpResponseRedirect(signed.next_url)


__all__ = ["ACCESS_LIFETIME"]
