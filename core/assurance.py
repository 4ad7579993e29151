"""Assurance levels (身份认证等级): how sure the platform is of who signed in, carried in
sessions and tokens (accounts.assurance, signon) and required per item version
(catalog.ItemVersion.assurance_level, enforced by cases.services.start_case).

Three levels, in order: a password account; an identity checked against the real-name
service (实名核验); an identity checked face to face at a window with the ID card
(窗口当面核验). The codes are also the `acr` values of the node's ID tokens."""

from __future__ import annotations

from django.db import models


class Assurance(models.TextChoices):
    PASSWORD = "password", "账号密码"
    REAL_NAME = "real_name", "实名核验"
    IN_PERSON = "in_person", "窗口当面核验"


RANK = {Assurance.PASSWORD: 1, Assurance.REAL_NAME: 2, Assurance.IN_PERSON: 3}


def rank(level: str) -> int:
    """The order of `level`; an unknown code ranks below every level."""
    return RANK.get(level, 0)  # type: ignore[call-overload]


def lowest(*levels: str) -> str:
    """The weakest of `levels` (a token vouched by another node is worth no more than the
    level that node's provider reached, nor than this node allows it)."""
    known = [lvl for lvl in levels if rank(lvl)]
    return min(known, key=rank) if known else Assurance.PASSWORD
