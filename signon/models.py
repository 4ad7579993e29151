"""Single sign-on and the mobile app's OAuth: this node as an OpenID Connect provider
(its signing keys, the apps registered as clients, authorization codes, access and refresh
tokens), and as a relying party of the other members' providers (the identities it
accepted from them).

Codes and tokens are kept only as SHA-256 digests; the values are shown once."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from core.assurance import Assurance
from core.personal_data import EncryptedTextField


class SigningKey(models.Model):
    """An Ed25519 key that signs this node's ID tokens. Its public half is in the node's
    directory entry (`oidc.jwks`) and at /oidc/jwks; the private half is sealed in the
    key store. A new key is published before the old one is retired."""

    kid = models.CharField("密钥标识", max_length=64, unique=True)
    public_jwk = models.JSONField("公钥（JWK）")
    sealed_private_key = models.TextField("私钥（密封）", editable=False)
    created_at = models.DateTimeField("生成时间", auto_now_add=True)
    retired_at = models.DateTimeField("停用时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "身份令牌签名密钥"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.kid


class Client(models.Model):
    """An app registered to sign people in through this node: the mobile app (辽事通) as a
    public client with PKCE. Member nodes are not registered here: they are clients by
    virtue of the directory (`node:<id>`, signon.provider.client_for)."""

    client_id = models.SlugField("客户端标识", max_length=64, unique=True)
    name = models.CharField("名称", max_length=100)
    redirect_uris = models.JSONField("回调地址", default=list)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    disabled_at = models.DateTimeField("停用时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "登录客户端"
        ordering = ["client_id"]

    def __str__(self) -> str:
        return self.name


class AuthorizationCode(models.Model):
    """A one-time code handed to a client's redirect address, bound to its PKCE challenge
    (S256), its redirect address and the sign-in's assurance level; valid one minute."""

    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    client_id = models.CharField("客户端", max_length=80)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    redirect_uri = models.CharField(max_length=500)
    code_challenge = models.CharField(max_length=128)
    scope = models.CharField(max_length=200)
    nonce = models.CharField(max_length=200, blank=True)
    acr = models.CharField(max_length=16, choices=Assurance.choices)
    auth_time = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "授权码"

    def __str__(self) -> str:
        return f"{self.client_id} · {self.expires_at:%Y-%m-%d %H:%M}"


class Grant(models.Model):
    """One sign-in of one client, from its code: the family its access and refresh tokens
    belong to. Revoking the grant (sign-out in the app, a refresh token replayed) ends all
    of them at once."""

    family = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The code it was made from: a code presented twice revokes it.
    code = models.OneToOneField(
        AuthorizationCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="grant"
    )
    client_id = models.CharField("客户端", max_length=80)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signon_grants"
    )
    scope = models.CharField(max_length=200)
    acr = models.CharField("认证等级", max_length=16, choices=Assurance.choices)
    created_at = models.DateTimeField("授权时间", auto_now_add=True)
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True)
    revoked_reason = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "登录授权"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.client_id} · {self.user}"


class Token(models.Model):
    """An access token (short-lived, `tbo_…`) or a refresh token (`tbr_…`, one use: it is
    rotated on every refresh) of a grant."""

    class Kind(models.TextChoices):
        ACCESS = "access", "访问令牌"
        REFRESH = "refresh", "刷新令牌"

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="tokens")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "令牌"
        indexes = [models.Index(fields=["grant", "kind"], name="signon_token_grant")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.expires_at:%Y-%m-%d %H:%M}"


class FederatedIdentity(models.Model):
    """A person who signed in here through another member's provider: the issuing node,
    the pairwise subject it gave this node, and the local account that stands for them.
    Only what the sign-in needs is kept: the masked name; the person record (ID number)
    only once they agreed to share it for a service that needs it."""

    node = models.CharField("签发节点", max_length=32)
    subject = models.CharField("主体标识（成对）", max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="federated_identities"
    )
    name_masked = models.CharField("姓名（部分隐藏）", max_length=64, blank=True)
    created_at = models.DateTimeField("首次登录", auto_now_add=True)
    last_login_at = models.DateTimeField("最近登录")

    class Meta:
        verbose_name = verbose_name_plural = "联邦登录身份"
        constraints = [
            models.UniqueConstraint(fields=["node", "subject"], name="federated_identity_once")
        ]

    def __str__(self) -> str:
        return f"{self.node} · {self.name_masked}"


class NodeSession(models.Model):
    """A browser session signed in on this node — by password here, or by single sign-on
    through another member's provider — as 登录设备 lists it and 退出所有设备 ends it
    (signon.sessions). Kept from the sign-in and sign-out signals. The session key is kept
    sealed (to delete the session from the store) and as a digest (to find the row); the
    device is a short label (browser and system), not the user agent.

    A session signed in through another member keeps that provider's refresh token,
    sealed, and refreshes it every `refresh_due_at`: once the home node has revoked it
    (the person signed out everywhere there), the session here ends."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="node_sessions"
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    session_key = EncryptedTextField("会话标识（加密）", editable=False)
    device = models.CharField("设备", max_length=60, blank=True)
    provider_node = models.CharField("登录节点", max_length=32, blank=True)
    refresh_token = EncryptedTextField("刷新令牌（加密）", blank=True, editable=False)
    refresh_due_at = models.DateTimeField("下次刷新", null=True, blank=True)
    started_at = models.DateTimeField("登录时间", auto_now_add=True)
    ended_at = models.DateTimeField("结束时间", null=True, blank=True)
    ended_reason = models.CharField("结束原因", max_length=40, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "登录会话"
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["user", "ended_at"], name="signon_session_user")]

    def __str__(self) -> str:
        return f"{self.device or '浏览器'} · {self.started_at:%Y-%m-%d %H:%M}"
