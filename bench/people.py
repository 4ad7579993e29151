"""Generated citizens: real-name verified people with a login account and a bearer token,
made with bulk inserts, as many as the load generator's clients need.

Citizen `i` has the same 公民身份号码 on every run, so a database keeps its citizens;
their bench tokens (named `bench`) are replaced on each run, since a token is shown only
when made."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from stdnum.cn import ric

from accounts.models import ApiToken, Person
from accounts.services import CITIZEN_USERNAME_PREFIX, TOKEN_PREFIX
from core.personal_data import lookup_hash, mask_id_number, mask_mobile

TOKEN_NAME = "bench"
# 大连市中山区; birth dates from 1986 on (the district code holds since), sequence numbers from 900 (demo people use less).
REGION = "210202"
FIRST_BIRTH = dt.date(1986, 1, 1)
DAYS = 10000
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明"]


def id_number(index: int) -> str:
    """The valid 公民身份号码 of generated citizen `index`."""
    birth = FIRST_BIRTH + dt.timedelta(days=index % DAYS)
    body = f"{REGION}{birth:%Y%m%d}{900 + (index // DAYS) % 100:03d}"
    # stdnum computes the check digit of a number given with a placeholder for it.
    return body + ric.calc_check_digit(body + "0")


def _name(index: int) -> str:
    return SURNAMES[index % len(SURNAMES)] + GIVEN[(index // len(SURNAMES)) % len(GIVEN)] + "测"


@transaction.atomic
def ensure_citizens(count: int) -> list[Person]:
    """Citizens 0…count-1 with their accounts, made where missing; in index order."""
    numbers = [id_number(i) for i in range(count)]
    hashes = [lookup_hash(n) for n in numbers]
    existing = {
        p.id_number_hash: p
        for p in Person.objects.filter(id_number_hash__in=hashes).select_related("user")
    }
    missing = [i for i, h in enumerate(hashes) if h not in existing]
    if missing:
        user_model = get_user_model()
        # Password sign-in is not what the bench measures: one unusable hash for all.
        unusable = make_password(None)
        users = user_model.objects.bulk_create(
            [
                user_model(
                    username=CITIZEN_USERNAME_PREFIX + hashes[i][:24],
                    password=unusable,
                    first_name=_name(i),
                )
                for i in missing
            ]
        )
        verified = timezone.now()
        people = []
        for i, user in zip(missing, users, strict=True):
            mobile = f"170{i:08d}"
            people.append(
                Person(
                    user=user,
                    name=_name(i),
                    id_number=numbers[i],
                    id_number_hash=hashes[i],
                    id_number_masked=mask_id_number(numbers[i]),
                    mobile=mobile,
                    mobile_masked=mask_mobile(mobile),
                    real_name_verified_at=verified,
                )
            )
        for person in Person.objects.bulk_create(people):
            existing[person.id_number_hash] = person
    return [existing[h] for h in hashes]


@transaction.atomic
def issue_tokens(people: list[Person]) -> list[str]:
    """A fresh bench token for each person's account (the previous ones are removed)."""
    users = [p.user for p in people if p.user is not None]
    ApiToken.objects.filter(user__in=users, name=TOKEN_NAME).delete()
    raws = [TOKEN_PREFIX + secrets.token_urlsafe(32) for _ in users]
    ApiToken.objects.bulk_create(
        [
            ApiToken(
                user=user,
                name=TOKEN_NAME,
                prefix=raw[:12],
                key_hash=hashlib.sha256(raw.encode()).hexdigest(),
            )
            for user, raw in zip(users, raws, strict=True)
        ]
    )
    return raws
