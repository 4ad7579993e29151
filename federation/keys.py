"""This node's signing keys: made once (`manage.py federation_keys create`), published in
the directory, used to sign every envelope and receipt the node sends. A new key is added
before the old one is retired, so envelopes in flight still verify."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.exceptions import RuleViolation
from core.personal_data import KEY_STORE, decrypt, encrypt
from core.signing import Algorithm, fingerprint, generate_key, sign
from federation.models import NodeKey

PURPOSE = b"federation-node-key"


@transaction.atomic
def create_key(algorithm: Algorithm = Algorithm.SM2) -> NodeKey:
    pair = generate_key(algorithm)
    return NodeKey.objects.create(
        algorithm=algorithm.value,
        public_pem=pair.public_pem.decode(),
        fingerprint=fingerprint(pair.public_pem),
        sealed_private_key=encrypt(pair.private_pem.decode(), ring=KEY_STORE, purpose=PURPOSE),
    )


def active_keys() -> list[NodeKey]:
    return list(NodeKey.objects.filter(retired_at__isnull=True))


def signing_key() -> NodeKey:
    key = NodeKey.objects.filter(retired_at__isnull=True).first()
    if key is None:
        raise RuleViolation(
            "node_key_missing", "本节点还没有签名密钥：请先运行 manage.py federation_keys create"
        )
    return key


def sign_with(key: NodeKey, data: bytes) -> bytes:
    private_pem = decrypt(key.sealed_private_key, ring=KEY_STORE, purpose=PURPOSE).encode()
    return sign(Algorithm(key.algorithm), private_pem, data)


def retire(key: NodeKey) -> None:
    NodeKey.objects.filter(pk=key.pk).update(retired_at=timezone.now())
