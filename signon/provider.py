"""This node as an OpenID Connect provider (OAuth 2.0 authorization code with PKCE):
clients, codes, tokens, refresh with rotation, revocation, and the claims it releases.

Two kinds of client:

- apps registered here (`Client`, the mobile app 辽事通): public clients, PKCE S256 only;
  they get short-lived access tokens (`tbo_…`, ACCESS_LIFETIME) that the API accepts as
  bearer tokens, and refresh tokens (`tbr_…`) that are rotated on every use — a refresh
  token used twice revokes the whole grant (RFC 9700 §4.14);
- the other members of the federation, `node:<id>`: clients by virtue of the signed
  directory, their redirect address under their directory base URL, PKCE as well; they
  get an ID token with a pairwise subject and masked data, and the person's name and ID
  number only for the `identity` scope, which the person agrees to on a page.

Errors are RuleViolations with a stable code; the views map them to OAuth's `error`."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
import urllib.parse
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.assurance import USER_ATTRIBUTE
from accounts.models import Person
from core.actors import Actor, user_of
from core.assurance import Assurance
from core.exceptions import RuleViolation
from core.personal_data import mask_name
from core.services import record_audit
from federation import directory
from signon import keys
from signon.models import AuthorizationCode, Client, Grant, Token

ACCESS_PREFIX = "tbo_"
REFRESH_PREFIX = "tbr_"
CODE_LIFETIME = dt.timedelta(minutes=1)
ACCESS_LIFETIME = dt.timedelta(minutes=10)
REFRESH_LIFETIME = dt.timedelta(days=30)
ID_TOKEN_LIFETIME = dt.timedelta(minutes=5)
NODE_CLIENT = "node:"
SCOPES = {"openid", "identity", "offline_access"}
# Scopes a person agrees to on a page before they are released to another node.
CONSENT_SCOPES = {"identity"}


@dataclass(frozen=True)
class ClientInfo:
    """Who asks: a registered app or a member node, and where codes may go."""

    client_id: str
    name: str
    redirect_uris: tuple[str, ...]
    redirect_prefix: str = ""
    node: str = ""

    def allows(self, redirect_uri: str) -> bool:
        if redirect_uri in self.redirect_uris:
            return True
        return bool(self.redirect_prefix) and redirect_uri.startswith(self.redirect_prefix)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def client_for(client_id: str) -> ClientInfo:
    """The client `client_id`, or `client_unknown`. A member node's is read from the
    directory in force: its sign-in callback under its base URL."""
    if client_id.startswith(NODE_CLIENT):
        node_id = client_id[len(NODE_CLIENT) :]
        try:
            node = directory.current().node(node_id)
        except directory.DirectoryUnavailable:
            node = None
        if node is None or not node.valid_at(timezone.now()):
            raise RuleViolation("client_unknown", f"节点目录中没有节点 {node_id}", status=400)
        return ClientInfo(
            client_id,
            node.name,
            (),
            redirect_prefix=f"{node.base_url}/signon/callback/",
            node=node_id,
        )
    client = Client.objects.filter(client_id=client_id, disabled_at__isnull=True).first()
    if client is None:
        raise RuleViolation("client_unknown", f"未登记的客户端：{client_id[:64]}", status=400)
    return ClientInfo(client.client_id, client.name, tuple(client.redirect_uris))


@transaction.atomic
def register_client(client_id: str, *, name: str, redirect_uris: list[str], actor: Actor) -> Client:
    """Register (or update) an app that signs people in with PKCE."""
    if client_id.startswith(NODE_CLIENT) or not client_id:
        raise RuleViolation("client_id_invalid", "客户端标识无效")
    if not redirect_uris or any(not u or "#" in u for u in redirect_uris):
        raise RuleViolation("redirect_uri_invalid", "回调地址须完整且不含 #")
    client, _ = Client.objects.update_or_create(
        client_id=client_id, defaults={"name": name, "redirect_uris": redirect_uris}
    )
    record_audit(
        actor=actor, action="register_client", obj=client, summary=f"登记登录客户端 {name}"
    )
    return client


@dataclass(frozen=True)
class AuthorizationRequest:
    """An authorization request, checked (`check_request`)."""

    client: ClientInfo
    redirect_uri: str
    scope: tuple[str, ...]
    state: str
    code_challenge: str
    nonce: str

    @property
    def needs_consent(self) -> bool:
        return bool(self.client.node) and bool(CONSENT_SCOPES & set(self.scope))


def check_client_redirect(client_id: str, redirect_uri: str) -> ClientInfo:
    """The client, if `redirect_uri` is one of its own; an error here is shown to the
    person, never sent to an address that is not the client's."""
    client = client_for(client_id)
    if not client.allows(redirect_uri):
        raise RuleViolation("redirect_uri_mismatch", "回调地址不是该客户端登记的地址", status=400)
    return client


def redirect_origin(redirect_uri: str) -> str:
    """The CSP source of a client's redirect address (`http://host:port`, or an app's own
    scheme `cn.gov.tongban.app:`)."""
    target = urllib.parse.urlsplit(redirect_uri)
    return f"{target.scheme}://{target.netloc}" if target.netloc else f"{target.scheme}:"


def origin_after_sign_in(next_url: str) -> str:
    """When a sign-in form will go on to an authorization request, the origin of the
    client's registered redirect address ("" otherwise). Browsers apply the page's CSP
    `form-action` to every redirect that follows the form's submission, so the sign-in
    and consent pages must allow that one origin, and only that one."""
    parts = urllib.parse.urlsplit(next_url)
    if parts.path != "/oidc/authorize":
        return ""
    params = dict(urllib.parse.parse_qsl(parts.query))
    try:
        check_client_redirect(params.get("client_id", ""), params.get("redirect_uri", ""))
    except RuleViolation:
        return ""
    return redirect_origin(params["redirect_uri"])


def check_request(params: dict[str, str]) -> AuthorizationRequest:
    """Check an authorization request's parameters (RFC 6749 §4.1.1, RFC 7636)."""
    client = check_client_redirect(params.get("client_id", ""), params.get("redirect_uri", ""))
    if params.get("response_type") != "code":
        raise RuleViolation("unsupported_response_type", "只支持授权码模式（response_type=code）")
    scope = tuple(dict.fromkeys(params.get("scope", "openid").split()))
    unknown = [s for s in scope if s not in SCOPES]
    if unknown:
        raise RuleViolation("invalid_scope", "未知的授权范围：" + " ".join(unknown)[:100])
    challenge = params.get("code_challenge", "")
    if params.get("code_challenge_method") != "S256":
        raise RuleViolation(
            "pkce_method_unsupported", "须使用 PKCE，且 code_challenge_method 为 S256"
        )
    if not 43 <= len(challenge) <= 128:
        raise RuleViolation("pkce_challenge_invalid", "code_challenge 无效")
    return AuthorizationRequest(
        client=client,
        redirect_uri=params["redirect_uri"],
        scope=scope,
        state=params.get("state", "")[:500],
        code_challenge=challenge,
        nonce=params.get("nonce", "")[:200],
    )


def level_of_session(user: User) -> str:
    return str(getattr(user, USER_ATTRIBUTE, "") or Assurance.PASSWORD)


@transaction.atomic
def issue_code(request: AuthorizationRequest, *, user: User, auth_time: dt.datetime) -> str:
    """A one-time code for a signed-in person, for the client's redirect address."""
    raw = secrets.token_urlsafe(32)
    AuthorizationCode.objects.create(
        code_hash=_digest(raw),
        client_id=request.client.client_id,
        user=user,
        redirect_uri=request.redirect_uri,
        code_challenge=request.code_challenge,
        scope=" ".join(request.scope),
        nonce=request.nonce,
        acr=level_of_session(user),
        auth_time=auth_time,
        expires_at=timezone.now() + CODE_LIFETIME,
    )
    if request.needs_consent:
        record_audit(
            actor=user,
            action="signon_consent",
            obj=user,
            summary=f"同意向{request.client.name}提供姓名和公民身份号码",
        )
    return raw


def s256(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def pairwise_subject(user: User, client: ClientInfo) -> str:
    """The subject a client knows the person by: different for every client (sector), so
    that two nodes cannot join what they know of one person by it."""
    sector = client.node or client.client_id
    return salted_hmac(
        "signon.pairwise-subject", f"{sector}:{user.pk}", algorithm="sha256"
    ).hexdigest()[:43]


def _new_token(grant: Grant, kind: str, lifetime: dt.timedelta, prefix: str) -> str:
    raw = prefix + secrets.token_urlsafe(32)
    Token.objects.create(
        grant=grant, kind=kind, token_hash=_digest(raw), expires_at=timezone.now() + lifetime
    )
    return raw


def _person(user: User) -> Person | None:
    return Person.objects.filter(user=user).first()


def claims_for(user: User, client: ClientInfo, scope: set[str], acr: str) -> dict[str, Any]:
    """What the client learns of the person: the pairwise subject, the masked name and the
    level; the name and ID number only under the `identity` scope."""
    person = _person(user)
    claims: dict[str, Any] = {"sub": pairwise_subject(user, client), "acr": acr}
    if person is not None:
        claims["name_masked"] = mask_name(person.name)
        if "identity" in scope:
            claims["name"] = person.name
            claims["id_number"] = person.id_number
    return claims


def exchange_code(
    *, code: str, client_id: str, redirect_uri: str, code_verifier: str
) -> dict[str, Any]:
    """The token response for a code (RFC 6749 §4.1.3 with RFC 7636): the code once, by
    the client it was issued to, for the same redirect address, with the verifier of its
    challenge. A code presented again revokes what it gave (committed before refusing)."""
    with transaction.atomic():
        answer = _redeem(
            code=code, client_id=client_id, redirect_uri=redirect_uri, code_verifier=code_verifier
        )
    if answer is None:
        raise RuleViolation("invalid_grant", "授权码已使用")
    return answer


def _redeem(
    *, code: str, client_id: str, redirect_uri: str, code_verifier: str
) -> dict[str, Any] | None:
    row = AuthorizationCode.objects.select_for_update().filter(code_hash=_digest(code)).first()
    now = timezone.now()
    if row is None or row.expires_at <= now:
        raise RuleViolation("invalid_grant", "授权码无效或已过期")
    if row.used_at is not None:
        # A code replayed: whatever it gave is taken back (RFC 6749 §4.1.2).
        Grant.objects.filter(code=row, revoked_at__isnull=True).update(
            revoked_at=now, revoked_reason="code_replayed"
        )
        return None
    if row.client_id != client_id or row.redirect_uri != redirect_uri:
        raise RuleViolation("invalid_grant", "授权码不属于该客户端或回调地址")
    if not code_verifier or not constant_time_compare(s256(code_verifier), row.code_challenge):
        raise RuleViolation("pkce_verifier_mismatch", "code_verifier 与 code_challenge 不符")
    row.used_at = now
    row.save(update_fields=["used_at"])
    client = client_for(client_id)
    scope = set(row.scope.split())
    grant = Grant.objects.create(
        client_id=client_id, user=row.user, scope=row.scope, acr=row.acr, code=row
    )
    answer: dict[str, Any] = {
        "token_type": "Bearer",
        "access_token": _new_token(grant, Token.Kind.ACCESS, ACCESS_LIFETIME, ACCESS_PREFIX),
        "expires_in": int(ACCESS_LIFETIME.total_seconds()),
        "scope": row.scope,
    }
    # A member node refreshes too, so that its session ends once the grant is revoked
    # here (退出所有设备, decision 284).
    answer["refresh_token"] = _new_token(
        grant, Token.Kind.REFRESH, REFRESH_LIFETIME, REFRESH_PREFIX
    )
    if "openid" in scope:
        claims = claims_for(row.user, client, scope, row.acr)
        claims.update(
            iss=keys.issuer(),
            aud=client_id,
            iat=int(now.timestamp()),
            exp=int((now + ID_TOKEN_LIFETIME).timestamp()),
            auth_time=int(row.auth_time.timestamp()),
        )
        if row.nonce:
            claims["nonce"] = row.nonce
        answer["id_token"] = keys.sign_claims(claims)
    record_audit(
        actor=row.user,
        action="signon_grant",
        obj=grant,
        summary=f"{client.name} 获得登录授权（{row.scope}）",
    )
    return answer


def refresh(*, refresh_token: str, client_id: str) -> dict[str, Any]:
    """A new access token and a new refresh token for a refresh token used once. Used a
    second time, the refresh token is taken to be stolen: its whole grant is revoked (and
    stays revoked: the revocation commits before the refusal is raised)."""
    with transaction.atomic():
        answer = _rotate(refresh_token=refresh_token, client_id=client_id)
    if answer is None:
        raise RuleViolation("refresh_token_reused", "刷新令牌已使用过，该次登录的全部令牌已吊销")
    return answer


def _rotate(*, refresh_token: str, client_id: str) -> dict[str, Any] | None:
    now = timezone.now()
    row = (
        Token.objects.select_for_update()
        .select_related("grant")
        .filter(token_hash=_digest(refresh_token), kind=Token.Kind.REFRESH)
        .first()
    )
    if row is None or row.grant.client_id != client_id:
        raise RuleViolation("invalid_grant", "刷新令牌无效")
    grant = row.grant
    if row.used_at is not None:
        if grant.revoked_at is None:
            _revoke_grant(grant, reason="refresh_token_replayed")
        return None
    if grant.revoked_at is not None or row.expires_at <= now or not grant.user.is_active:
        raise RuleViolation("invalid_grant", "刷新令牌已失效")
    row.used_at = now
    row.save(update_fields=["used_at"])
    return {
        "token_type": "Bearer",
        "access_token": _new_token(grant, Token.Kind.ACCESS, ACCESS_LIFETIME, ACCESS_PREFIX),
        "expires_in": int(ACCESS_LIFETIME.total_seconds()),
        "refresh_token": _new_token(grant, Token.Kind.REFRESH, REFRESH_LIFETIME, REFRESH_PREFIX),
        "scope": grant.scope,
    }


def _revoke_grant(grant: Grant, *, reason: str, actor: Actor = None) -> None:
    grant.revoked_at = timezone.now()
    grant.revoked_reason = reason
    grant.save(update_fields=["revoked_at", "revoked_reason"])
    record_audit(
        actor=actor, action="revoke_signon_grant", obj=grant, summary=f"吊销登录授权（{reason}）"
    )


@transaction.atomic
def revoke_grant(grant: Grant, *, reason: str, actor: Actor) -> None:
    """Revoke a sign-in and all its tokens (an operator, a person signing out everywhere)."""
    grant = Grant.objects.select_for_update().get(pk=grant.pk)
    if grant.revoked_at is None:
        _revoke_grant(grant, reason=reason, actor=actor)


@transaction.atomic
def revoke(*, token: str, client_id: str) -> None:
    """RFC 7009: revoke the grant of an access or refresh token (the app signs out). An
    unknown token is not an error: the answer must not tell which tokens exist."""
    row = Token.objects.select_related("grant").filter(token_hash=_digest(token)).first()
    if row is None or row.grant.client_id != client_id or row.grant.revoked_at is not None:
        return
    _revoke_grant(row.grant, reason="revoked_by_client")


def access_grant(raw: str) -> Grant | None:
    """The live grant of an access token, or None."""
    if not raw.startswith(ACCESS_PREFIX):
        return None
    row = (
        Token.objects.select_related("grant__user")
        .filter(token_hash=_digest(raw), kind=Token.Kind.ACCESS)
        .first()
    )
    if row is None or row.expires_at <= timezone.now() or row.grant.revoked_at is not None:
        return None
    return row.grant


def authenticate_access_token(raw: str) -> User | None:
    """The API's bearer check for access tokens (registered with accounts): the user,
    carrying the level the grant was made at."""
    grant = access_grant(raw)
    if grant is None or not grant.user.is_active:
        return None
    user = grant.user
    setattr(user, USER_ATTRIBUTE, grant.acr)
    return user


def userinfo(raw: str) -> dict[str, Any]:
    """The UserInfo response for an access token (OIDC Core §5.3)."""
    grant = access_grant(raw)
    if grant is None or not grant.user.is_active:
        raise RuleViolation("invalid_token", "访问令牌无效或已过期", status=401)
    return claims_for(grant.user, client_for(grant.client_id), set(grant.scope.split()), grant.acr)


def grants_of(actor: Actor) -> list[Grant]:
    """The person's live sign-ins in apps and at other nodes (one query)."""
    user = user_of(actor)
    if user is None:
        return []
    return list(Grant.objects.filter(user=user, revoked_at__isnull=True).order_by("-created_at"))
