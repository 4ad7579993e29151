"""Where a person is signed in, and 退出所有设备 (sign out everywhere).

- `record_session` / `end_session` follow Django's sign-in and sign-out signals: one
  `NodeSession` per browser session on this node.
- A session signed in through another member's provider keeps that provider's refresh
  token (`attach_provider`); `keep_alive`, asked by `SessionRefreshMiddleware` on every
  request of such a session, refreshes it every `provider.ACCESS_LIFETIME`. When the home
  node refuses (the person signed out everywhere there, or the grant was revoked) the
  session here ends; when it cannot be reached, the session stays and it is asked again
  a minute later (decision 284).
- `signed_in` lists the person's sessions here and the sign-ins this node's provider gave
  (the mobile app's tokens, other members' sessions); `sign_out_everywhere` ends every
  session here and revokes every grant, so that the app's refresh and the other members'
  next refresh fail.

Decisions 283–285."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from core.actors import Actor, user_of
from core.exceptions import RuleViolation
from core.services import record_audit
from federation import directory
from signon.models import Client, Grant, NodeSession
from signon.provider import ACCESS_LIFETIME, NODE_CLIENT, revoke_grant

logger = logging.getLogger(__name__)

# The session's own marker of a sign-in through another member: when to refresh next.
REFRESH_DUE_KEY = "signon_refresh_due"
# After the home node could not be reached, ask again this much later.
RETRY_AFTER = dt.timedelta(minutes=1)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _store() -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore


def device_label(user_agent: str) -> str:
    """A short, coarse label of a browser (no version, nothing that tells one device from
    another of the same kind)."""
    ua = user_agent.lower()
    browser = next(
        (
            name
            for key, name in (
                ("micromessenger", "微信"),
                ("edg/", "Edge"),
                ("firefox", "Firefox"),
                ("chrome", "Chrome"),
                ("chromium", "Chromium"),
                ("safari", "Safari"),
            )
            if key in ua
        ),
        "浏览器",
    )
    system = next(
        (
            name
            for key, name in (
                ("android", "Android"),
                ("iphone", "iOS"),
                ("ipad", "iPadOS"),
                ("windows", "Windows"),
                ("mac os", "macOS"),
                ("linux", "Linux"),
            )
            if key in ua
        ),
        "",
    )
    return f"{browser} · {system}" if system else browser


def record_session(request: HttpRequest, user: User) -> None:
    """A sign-in on this node (the `user_logged_in` signal): its session is recorded."""
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if not key:
        return
    NodeSession.objects.update_or_create(
        key_hash=_digest(key),
        defaults={
            "user": user,
            "session_key": key,
            "device": device_label(request.META.get("HTTP_USER_AGENT", "")),
        },
    )


def end_session(request: HttpRequest | None, *, reason: str = "signed_out") -> None:
    """A sign-out here (the `user_logged_out` signal): its session row ends."""
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        NodeSession.objects.filter(key_hash=_digest(key), ended_at__isnull=True).update(
            ended_at=timezone.now(), ended_reason=reason
        )


def attach_provider(request: HttpRequest, *, node: str, refresh_token: str) -> None:
    """The session just signed in through `node`'s provider keeps its refresh token; the
    session is refreshed with it from `ACCESS_LIFETIME` on. A session that signs in there
    again (agreeing to share their identity repeats the sign-in, in the same session)
    holds the new token; the old one's sign-in is revoked at the provider, so that it is
    not listed twice there nor left to run for its 30 days."""
    key = request.session.session_key
    if not key or not refresh_token:
        return
    row = NodeSession.objects.filter(key_hash=_digest(key), ended_at__isnull=True).first()
    if row is not None and row.refresh_token and row.refresh_token != refresh_token:
        from signon.relying import revoke_at

        revoke_at(row.provider_node, row.refresh_token)
    due = timezone.now() + ACCESS_LIFETIME
    NodeSession.objects.filter(key_hash=_digest(key)).update(
        provider_node=node, refresh_token=refresh_token, refresh_due_at=due
    )
    request.session[REFRESH_DUE_KEY] = due.timestamp()


def keep_alive(request: HttpRequest) -> bool:
    """Whether a session signed in through another member may go on. Asked on every
    request; does something only when the refresh is due (the session's own marker, so
    the other requests cost no query). The row is locked, so that two requests at once
    refresh once — a refresh token used twice would end the sign-in at its provider."""
    due = request.session.get(REFRESH_DUE_KEY)
    key = request.session.session_key
    if due is None or key is None or timezone.now().timestamp() < float(due):
        return True
    from signon.relying import refresh_at

    with transaction.atomic():
        row = (
            NodeSession.objects.select_for_update()
            .filter(key_hash=_digest(key), ended_at__isnull=True)
            .exclude(refresh_token="")
            .first()
        )
        if row is None:
            return False
        now = timezone.now()
        if row.refresh_due_at is not None and row.refresh_due_at > now:
            request.session[REFRESH_DUE_KEY] = row.refresh_due_at.timestamp()
            return True  # refreshed meanwhile by another request of this session
        try:
            fresh = refresh_at(row.provider_node, row.refresh_token)
        except RuleViolation as exc:
            if exc.code == "provider_unreachable":
                row.refresh_due_at = now + RETRY_AFTER
                row.save(update_fields=["refresh_due_at"])
                request.session[REFRESH_DUE_KEY] = row.refresh_due_at.timestamp()
                return True
            logger.info("federated session ended by its provider", extra={"code": exc.code})
            row.ended_at, row.ended_reason = now, "provider_revoked"
            row.refresh_token = ""
            row.save(update_fields=["ended_at", "ended_reason", "refresh_token"])
            return False
        row.refresh_token, row.refresh_due_at = fresh, now + ACCESS_LIFETIME
        row.save(update_fields=["refresh_token", "refresh_due_at"])
    request.session[REFRESH_DUE_KEY] = row.refresh_due_at.timestamp()
    return True


@dataclass(frozen=True)
class SessionRow:
    pk: int
    device: str
    how: str
    started_at: dt.datetime
    current: bool


@dataclass(frozen=True)
class AppRow:
    pk: int
    name: str
    kind: str
    created_at: dt.datetime


@dataclass(frozen=True)
class SignedIn:
    sessions: list[SessionRow]
    apps: list[AppRow]


def _live_sessions(user: User) -> Any:
    oldest = timezone.now() - dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    return NodeSession.objects.filter(user=user, ended_at__isnull=True, started_at__gt=oldest)


def signed_in(actor: Actor, *, current_key: str | None = None) -> SignedIn:
    """Where the person is signed in: their sessions on this node (the current one
    marked) and the live sign-ins this node's provider gave — apps (the mobile app, with
    its access and refresh tokens) and other members' portals. Four queries."""
    user = user_of(actor)
    if user is None:
        raise RuleViolation("actor_required", "请先登录", status=401)
    current = _digest(current_key) if current_key else ""
    names = directory.node_names()
    sessions = [
        SessionRow(
            s.pk,
            s.device or "浏览器",
            f"经{names.get(s.provider_node, s.provider_node)}统一身份认证登录"
            if s.provider_node
            else "账号密码登录",
            s.started_at,
            s.key_hash == current,
        )
        for s in _live_sessions(user)
    ]
    grants = list(Grant.objects.filter(user=user, revoked_at__isnull=True))
    clients = dict(
        Client.objects.filter(client_id__in={g.client_id for g in grants}).values_list(
            "client_id", "name"
        )
    )
    apps = []
    for grant in grants:
        if grant.client_id.startswith(NODE_CLIENT):
            node = grant.client_id[len(NODE_CLIENT) :]
            apps.append(AppRow(grant.pk, names.get(node, node), "其他节点", grant.created_at))
        else:
            name = clients.get(grant.client_id, grant.client_id)
            apps.append(AppRow(grant.pk, name, "移动应用", grant.created_at))
    return SignedIn(sessions, apps)


@dataclass(frozen=True)
class SignedOut:
    sessions: int
    grants: int


@transaction.atomic
def sign_out_everywhere(actor: Actor) -> SignedOut:
    """退出所有设备: every session of the person on this node ends (deleted from the
    session store, the current one too) and every sign-in this node's provider gave is
    revoked — the app's tokens stop at once, and another member's session from this
    provider ends at its next refresh (`keep_alive` there). One audit row."""
    user = user_of(actor)
    if user is None:
        raise RuleViolation("actor_required", "请先登录", status=401)
    now = timezone.now()
    rows = list(NodeSession.objects.select_for_update().filter(user=user, ended_at__isnull=True))
    store = _store()
    for row in rows:
        store(row.session_key).delete()
    NodeSession.objects.filter(pk__in=[r.pk for r in rows]).update(
        ended_at=now, ended_reason="signed_out_everywhere", refresh_token=""
    )
    grants = list(Grant.objects.filter(user=user, revoked_at__isnull=True))
    for grant in grants:
        revoke_grant(grant, reason="signed_out_everywhere", actor=user)
    record_audit(
        actor=user,
        action="sign_out_everywhere",
        obj=user,
        summary=f"退出所有设备：结束本节点会话 {len(rows)} 个，吊销登录授权 {len(grants)} 项",
    )
    return SignedOut(len(rows), len(grants))
