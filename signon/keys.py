"""This node's ID-token signing keys (Ed25519, JOSE alg `Ed25519`, RFC 9864), and the keys
of the other members' providers as the signed directory publishes them.

The directory entry part `oidc` is {"issuer": <base URL>, "jwks": {"keys": [...]}}; a
token whose issuer is not in the directory in force, or not signed by a key listed there,
is refused (`issuer_not_trusted`, `id_token_invalid`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OKPKey

from core.exceptions import RuleViolation
from core.personal_data import KEY_STORE, decrypt, encrypt
from federation import directory
from signon.models import SigningKey

ALGORITHM = "Ed25519"
PURPOSE = b"signon-id-token-key"


def issuer() -> str:
    """This node's issuer identifier: its public base URL."""
    return str(settings.PUBLIC_BASE_URL).rstrip("/")


@transaction.atomic
def create_key() -> SigningKey:
    key = OKPKey.generate_key("Ed25519", auto_kid=True)
    public = key.as_dict(private=False)
    public.update(alg=ALGORITHM, use="sig")
    return SigningKey.objects.create(
        kid=str(key.kid),
        public_jwk=public,
        sealed_private_key=encrypt(
            key.as_pem(private=True).decode(), ring=KEY_STORE, purpose=PURPOSE
        ),
    )


def signing_key() -> SigningKey:
    """The newest key in use, made on first need (a node's first sign-in)."""
    key = SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at").first()
    return key if key is not None else create_key()


def jwks() -> dict[str, Any]:
    """The public keys of every key not retired (/oidc/jwks and the directory entry)."""
    if not SigningKey.objects.filter(retired_at__isnull=True).exists():
        create_key()
    return {"keys": [k.public_jwk for k in SigningKey.objects.filter(retired_at__isnull=True)]}


def directory_part() -> dict[str, Any]:
    """The `oidc` part of this node's directory entry."""
    return {"issuer": issuer(), "jwks": jwks()}


def sign_claims(claims: dict[str, Any]) -> str:
    key = signing_key()
    pem = decrypt(key.sealed_private_key, ring=KEY_STORE, purpose=PURPOSE).encode()
    private = OKPKey.import_key(pem, parameters={"kid": key.kid})
    return jwt.encode({"alg": ALGORITHM, "kid": key.kid}, claims, private, algorithms=[ALGORITHM])


def trusted_provider(node_id: str) -> tuple[str, KeySet]:
    """The issuer and keys the directory in force lists for node `node_id`'s provider."""
    try:
        current = directory.current()
    except directory.DirectoryUnavailable as exc:
        raise RuleViolation("directory_unavailable", str(exc), status=503) from exc
    node = current.node(node_id)
    part = node.parts.get("oidc") if node is not None else None
    if node is None or not isinstance(part, dict) or not part.get("issuer"):
        raise RuleViolation(
            "issuer_not_trusted", f"节点目录中没有节点 {node_id} 的统一身份认证服务", status=403
        )
    try:
        keys = KeySet.import_key_set(part["jwks"])
    except (KeyError, TypeError, ValueError, JoseError) as exc:
        raise RuleViolation("issuer_not_trusted", f"节点 {node_id} 的公钥集无效") from exc
    return str(part["issuer"]).rstrip("/"), keys


def provider_for_issuer(issuer_url: str) -> str | None:
    """The node whose provider is `issuer_url` in the directory in force, if any."""
    try:
        current = directory.current()
    except directory.DirectoryUnavailable:
        return None
    for node in current.nodes.values():
        part = node.parts.get("oidc")
        if isinstance(part, dict) and str(part.get("issuer", "")).rstrip("/") == issuer_url.rstrip(
            "/"
        ):
            return node.id
    return None


def decode(token: str, keys: KeySet) -> dict[str, Any]:
    """The claims of `token` if one of `keys` signed it (Ed25519 only); else refused."""
    try:
        return dict(jwt.decode(token, keys, algorithms=[ALGORITHM]).claims)
    except (JoseError, ValueError) as exc:
        raise RuleViolation("id_token_invalid", "身份令牌签名无效") from exc
