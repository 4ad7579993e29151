"""This node as a relying party of the other members' providers: a person signed in on
their home node opens this node's portal without an account or password here.

`start` sends the browser to the home node's /oidc/authorize (client `node:<this node>`,
PKCE S256, state and nonce kept in the session); `complete` redeems the code at the home
node's token endpoint, checks the ID token against the issuer and keys the signed
directory lists for that node, and signs the person in here under a local account tied to
(home node, pairwise subject). The level of assurance is the one the home node vouched
for. The person's name and ID number come only with the `identity` scope, which they
agree to on their home node, for a service here that needs them (the wallet, applying)."""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounts.models import Person
from accounts.services import register_person
from core.actors import NodeActor
from core.assurance import Assurance, lowest, rank
from core.exceptions import RuleViolation
from core.personal_data import mask_name
from core.services import record_audit
from federation import directory
from signon import keys
from signon.models import FederatedIdentity
from signon.provider import NODE_CLIENT, s256

PENDING_KEY = "signon_pending"
# How many sign-ins may be under way in one browser session at once.
MOST_PENDING = 5
USERNAME_PREFIX = "sso-"


@dataclass(frozen=True)
class Redirect:
    url: str


def _callback_url(node_id: str) -> str:
    return f"{keys.issuer()}/signon/callback/{node_id}/"


def start(session: Any, *, node_id: str, next_url: str, identity: bool = False) -> Redirect:
    """Where to send the browser to sign in at node `node_id` (one the directory trusts)."""
    if node_id == settings.NODE_ID:
        raise RuleViolation("issuer_is_self", "这是本节点，请直接登录", status=400)
    issuer, _ = keys.trusted_provider(node_id)
    state, nonce, verifier = (secrets.token_urlsafe(24) for _ in range(3))
    pending = dict(session.get(PENDING_KEY) or {})
    while len(pending) >= MOST_PENDING:
        pending.pop(next(iter(pending)))
    pending[state] = {"node": node_id, "nonce": nonce, "verifier": verifier, "next": next_url}
    session[PENDING_KEY] = pending
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": NODE_CLIENT + settings.NODE_ID,
            "redirect_uri": _callback_url(node_id),
            "scope": "openid identity" if identity else "openid",
            "state": state,
            "nonce": nonce,
            "code_challenge": s256(verifier),
            "code_challenge_method": "S256",
        }
    )
    return Redirect(f"{issuer}/oidc/authorize?{query}")


def _post_form(url: str, fields: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(fields).encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.FEDERATION_TIMEOUT) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("error_description", "")
        except (ValueError, AttributeError):
            detail = ""
        raise RuleViolation(
            "token_exchange_failed", f"登录节点拒绝了授权码：{detail}"[:200]
        ) from exc
    except (OSError, ValueError) as exc:
        raise RuleViolation(
            "provider_unreachable", "暂时无法连接登录节点，请稍后再试", status=503
        ) from exc
    if not isinstance(answer, dict):
        raise RuleViolation("token_exchange_failed", "登录节点的应答无法识别")
    return answer


def accept_id_token(node_id: str, id_token: str, *, nonce: str) -> dict[str, Any]:
    """The claims of an ID token from node `node_id`'s provider, checked against the
    directory in force: a provider the directory does not list, another issuer, a key it
    does not list, another audience, an old token or a replayed nonce is refused."""
    issuer, trusted = keys.trusted_provider(node_id)
    claims = keys.decode(id_token, trusted)
    now = int(timezone.now().timestamp())
    if str(claims.get("iss", "")).rstrip("/") != issuer:
        raise RuleViolation("issuer_not_trusted", "身份令牌的签发方与节点目录不符", status=403)
    if claims.get("aud") != NODE_CLIENT + settings.NODE_ID:
        raise RuleViolation("id_token_invalid", "身份令牌不是签发给本节点的")
    if not isinstance(claims.get("exp"), int) or claims["exp"] < now - 30:
        raise RuleViolation("id_token_invalid", "身份令牌已过期")
    if not nonce or claims.get("nonce") != nonce:
        raise RuleViolation("id_token_invalid", "身份令牌的 nonce 不符")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise RuleViolation("id_token_invalid", "身份令牌缺少主体标识")
    return claims


@transaction.atomic
def link_identity(node_id: str, claims: dict[str, Any]) -> User:
    """The local account of the person behind `claims` (made on their first visit), tied
    to their person record here once they shared their identity."""
    actor = NodeActor(node_id, f"{node_id} 统一身份认证")
    identity = (
        FederatedIdentity.objects.select_for_update()
        .select_related("user")
        .filter(node=node_id, subject=claims["sub"])
        .first()
    )
    now = timezone.now()
    if identity is None:
        user = get_user_model().objects.create_user(
            f"{USERNAME_PREFIX}{node_id}-{claims['sub'][:24]}"[:150],
            first_name=str(claims.get("name_masked", ""))[:150],
        )
        user.set_unusable_password()
        user.save(update_fields=["password"])
        identity = FederatedIdentity.objects.create(
            node=node_id,
            subject=claims["sub"],
            user=user,
            name_masked=str(claims.get("name_masked", ""))[:64],
            last_login_at=now,
        )
        record_audit(
            actor=actor,
            action="federated_sign_in_first",
            obj=identity,
            summary=f"{node_id} 节点的用户 {identity.name_masked} 首次登录本节点",
        )
    else:
        identity.last_login_at = now
        identity.save(update_fields=["last_login_at"])
    if claims.get("id_number") and claims.get("name"):
        person = register_person(
            name=str(claims["name"]),
            id_number=str(claims["id_number"]),
            actor=actor,
            verify_real_name=False,
        )
        if person.user_id is None:
            person.user = identity.user
            person.save(update_fields=["user"])
        elif person.user_id != identity.user_id:
            # They have an account here too: that account is who they are here.
            identity.user = person.user  # type: ignore[assignment]
            identity.save(update_fields=["user"])
        record_audit(
            actor=actor,
            action="federated_identity_shared",
            obj=person,
            summary=f"{node_id} 节点经本人同意提供 {mask_name(person.name)}（{person.id_number_masked}）的身份",
        )
    return identity.user


@dataclass(frozen=True)
class SignedOn:
    """A sign-in through another member: the account, the level for the session, where
    to go next, and the provider's refresh token (the session is refreshed with it and
    ends when the provider refuses, signon.sessions)."""

    user: User
    level: str
    next_url: str
    refresh_token: str


def complete(session: Any, *, node_id: str, code: str, state: str) -> SignedOn:
    """Redeem the code of a sign-in started here; the account to sign in, the level of
    assurance for the session, where to go next, and the refresh token."""
    pending = dict(session.get(PENDING_KEY) or {})
    started = pending.pop(state, None)
    session[PENDING_KEY] = pending
    if not started or started.get("node") != node_id:
        raise RuleViolation("signon_state_invalid", "登录请求已失效，请重新登录", status=400)
    issuer, _ = keys.trusted_provider(node_id)
    answer = _post_form(
        f"{issuer}/oidc/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": _callback_url(node_id),
            "client_id": NODE_CLIENT + settings.NODE_ID,
            "code_verifier": started["verifier"],
        },
    )
    claims = accept_id_token(node_id, str(answer.get("id_token", "")), nonce=started["nonce"])
    user = link_identity(node_id, claims)
    acr = str(claims.get("acr", ""))
    level = lowest(acr, Assurance.IN_PERSON) if rank(acr) else Assurance.PASSWORD
    return SignedOn(
        user, level, str(started.get("next") or "/"), str(answer.get("refresh_token") or "")
    )


def refresh_at(node_id: str, refresh_token: str) -> str:
    """Refresh a sign-in at `node_id`'s provider (its issuer as the directory in force
    lists it); the new refresh token. Refused (`token_exchange_failed`: the grant was
    revoked there) or unreachable (`provider_unreachable`) as RuleViolations."""
    issuer, _ = keys.trusted_provider(node_id)
    answer = _post_form(
        f"{issuer}/oidc/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": NODE_CLIENT + settings.NODE_ID,
        },
    )
    fresh = answer.get("refresh_token")
    if not isinstance(fresh, str) or not fresh:
        raise RuleViolation("token_exchange_failed", "登录节点的应答缺少刷新令牌")
    return fresh


def revoke_at(node_id: str, refresh_token: str) -> None:
    """Tell `node_id`'s provider that a sign-in is over (RFC 7009), so that it no longer
    lists it; best effort (a provider out of reach lets the token expire)."""
    try:
        issuer, _ = keys.trusted_provider(node_id)
        _post_form(
            f"{issuer}/oidc/revoke",
            {"token": refresh_token, "client_id": NODE_CLIENT + settings.NODE_ID},
        )
    except RuleViolation:
        return


def needs_identity(user: Any) -> str:
    """The home node of a person signed in from another node whose identity (ID number)
    this node does not have yet; "" otherwise. Pages that need a person ask it."""
    if not getattr(user, "is_authenticated", False):
        return ""
    if Person.objects.filter(user=user).exists():
        return ""
    identity = FederatedIdentity.objects.filter(user=user).only("node").first()
    return identity.node if identity is not None else ""


def member_providers() -> list[tuple[str, str]]:
    """(node id, name) of the other members whose provider the directory in force lists:
    the sign-in page offers them. No query beyond reading the directory."""
    try:
        current = directory.current()
    except directory.DirectoryUnavailable:
        return []
    return [
        (node.id, node.name)
        for node in sorted(current.nodes.values(), key=lambda n: n.code)
        if node.id != settings.NODE_ID and isinstance(node.parts.get("oidc"), dict)
    ]
