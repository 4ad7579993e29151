"""State changes of accounts: registering applicants, granting roles, tokens, credit
records and notifications. Each runs in a transaction and writes an audit row."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import identify_hasher
from django.contrib.auth.models import Group, Permission, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.adapters import real_name, sms
from accounts.models import (
    AgentAction,
    AgentAuthorisation,
    ApiToken,
    Company,
    CreditRecord,
    Notification,
    Person,
    Role,
    StaffRole,
)
from core.actors import Actor, user_of
from core.exceptions import Problem, ProblemList, RuleViolation
from core.models import Organisation
from core.personal_data import lookup_hash, mask_id_number, mask_mobile, mask_name
from core.registry import Registry
from core.services import record_audit
from core.validators import normalize_id_number, normalize_mobile, normalize_uscc

TOKEN_PREFIX = "tbk_"
# How stale a token's "last used" time may be (authenticate_token).
TOKEN_USE_PRECISION = dt.timedelta(minutes=1)
# Self-registered citizens' accounts: the name is derived from the ID number's keyed hash,
# never the number itself; they sign in with the number (accounts.auth.IdNumberBackend).
CITIZEN_USERNAME_PREFIX = "rn_"


def _clean(normalize: object, value: str, code: str) -> str:
    try:
        return normalize(value)  # type: ignore[operator, no-any-return]
    except ValidationError as exc:
        raise RuleViolation(exc.code or code, exc.messages[0]) from exc


@transaction.atomic
def register_person(
    *,
    name: str,
    id_number: str,
    actor: Actor,
    mobile: str = "",
    user: User | None = None,
    verify_real_name: bool = True,
) -> Person:
    """Register a natural person (or return the one with this ID number), after checking
    the number and, by default, the real-name service.

    An existing person's name must match; a mobile number or account given now is added."""
    name = name.strip()
    number = _clean(normalize_id_number, id_number, "id_number_invalid")
    phone = _clean(normalize_mobile, mobile, "mobile_invalid") if mobile else ""
    existing = Person.objects.select_for_update().filter(id_number_hash=lookup_hash(number)).first()
    if existing is not None:
        if existing.name != name:
            raise RuleViolation("person_name_mismatch", "姓名与该公民身份号码已登记的姓名不一致")
        changed = []
        if phone and existing.mobile != phone:
            existing.mobile, existing.mobile_masked = phone, mask_mobile(phone)
            changed += ["mobile", "mobile_masked"]
        if user is not None and existing.user_id is None:
            existing.user = user  # type: ignore[assignment]
            changed.append("user")
        if changed:
            existing.save(update_fields=changed)
        return existing
    verified_at = None
    if verify_real_name:
        result = real_name().verify(name, number)
        if not result.available:
            raise RuleViolation("real_name_unavailable", result.reason, status=503)
        if not result.matched:
            raise RuleViolation("real_name_mismatch", f"实名核验未通过：{result.reason}")
        verified_at = timezone.now()
    person = Person.objects.create(
        user=user,
        name=name,
        id_number=number,
        id_number_hash=lookup_hash(number),
        id_number_masked=mask_id_number(number),
        mobile=phone,
        mobile_masked=mask_mobile(phone) if phone else "",
        real_name_verified_at=verified_at,
    )
    record_audit(
        actor=actor,
        action="register_person",
        obj=person,
        summary=f"登记自然人 {mask_name(name)}（{person.id_number_masked}）",
    )
    return person


@transaction.atomic
def register_citizen(
    *, name: str, id_number: str, mobile: str, password: str, actor: Actor
) -> User:
    """Self-registration on the portal: a login account for a natural person, real-name
    verified through the adapter. The account signs in with the ID number (accounts.auth).

    Everything is checked before anything stays written: a bad password, ID number or
    mobile number, a failed real-name check or a number that already has an account
    leaves no account and no person behind."""
    problems = ProblemList()
    number = phone = ""
    try:
        number = normalize_id_number(id_number)
    except ValidationError as exc:
        problems.add(exc.messages[0], field="id_number", code="id_number_invalid")
    if not mobile.strip():
        problems.add("请填写手机号码", field="mobile", code="mobile_required")
    else:
        try:
            phone = normalize_mobile(mobile)
        except ValidationError as exc:
            problems.add(exc.messages[0], field="mobile", code="mobile_invalid")
    try:
        validate_password(password)
    except ValidationError as exc:
        problems.add("；".join(exc.messages), field="password", code="password_invalid")
    problems.raise_if_any("registration_invalid", "注册信息有误")
    existing = find_person(number)
    if existing is not None and existing.user_id is not None:
        raise RuleViolation(
            "person_already_registered",
            "该公民身份号码已注册账号，请直接登录",
            problems=[Problem("该公民身份号码已注册账号", field="id_number")],
        )
    user = get_user_model().objects.create_user(
        username=CITIZEN_USERNAME_PREFIX + lookup_hash(number)[:24], password=password
    )
    person = register_person(name=name, id_number=number, mobile=phone, user=user, actor=actor)
    if person.real_name_verified_at is None:
        # Registered earlier by a window clerk or a department system without the check.
        result = real_name().verify(person.name, number)
        if not result.available:
            raise RuleViolation("real_name_unavailable", result.reason, status=503)
        if not result.matched:
            raise RuleViolation("real_name_mismatch", f"实名核验未通过：{result.reason}")
        person.real_name_verified_at = timezone.now()
        person.save(update_fields=["real_name_verified_at"])
    record_audit(
        actor=actor,
        action="register_citizen",
        obj=person,
        summary=f"自然人 {mask_name(person.name)}（{person.id_number_masked}）注册登录账号",
    )
    return user


def find_person(id_number: str) -> Person | None:
    """The person with this ID number, if registered (looked up by keyed hash)."""
    number = _clean(normalize_id_number, id_number, "id_number_invalid")
    return Person.objects.filter(id_number_hash=lookup_hash(number)).first()


@transaction.atomic
def register_company(
    *,
    uscc: str,
    name: str,
    legal_representative: str,
    actor: Actor,
    agent: User | None = None,
) -> Company:
    """Register a legal person (or update the one with this USCC) and its agent account."""
    code = _clean(normalize_uscc, uscc, "uscc_invalid")
    company, created = Company.objects.update_or_create(
        uscc=code, defaults={"name": name, "legal_representative": legal_representative}
    )
    if agent is not None:
        company.agents.add(agent)
        grant_full_authorisation(company, agent, actor=actor)
    record_audit(
        actor=actor,
        action="register_company",
        obj=company,
        summary=f"{'登记' if created else '更新'}法人 {name}",
    )
    return company


@transaction.atomic
def grant_full_authorisation(company: Company, agent: User, *, actor: Actor) -> AgentAuthorisation:
    """An agent named when the company was registered by a window or a department system
    (register_company's `agent`): every item and action, no expiry — the registering
    office checked the mandate on paper. The representative can revoke it online."""
    existing = AgentAuthorisation.objects.filter(
        company=company, agent=agent, revoked_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    person = Person.objects.filter(user=agent).first()
    return AgentAuthorisation.objects.create(
        company=company,
        agent=agent,
        agent_name=person.name if person else agent.get_username()[:64],
        items=[],
        actions=list(AgentAction.values),
        valid_until=None,
        granted_by=user_of(actor),
    )


# The admin site is where catalog maintainers work (catalog/admin.py). Its permissions are
# Django's, global rather than scoped to an organisation, so only this role gets any: every
# permission of the catalog app, and read access to the reference data the catalog forms
# look up (organisations and divisions, for the autocomplete fields).
CATALOG_MAINTAINERS_GROUP = "目录维护人员"
CATALOG_ADMIN_APPS = ("catalog",)
CATALOG_ADMIN_EXTRA = (("core", "view_organisation"), ("core", "view_division"))


def _catalog_admin_permissions() -> list[Permission]:
    extra = Q()
    for app_label, codename in CATALOG_ADMIN_EXTRA:
        extra |= Q(content_type__app_label=app_label, codename=codename)
    return list(
        Permission.objects.filter(Q(content_type__app_label__in=CATALOG_ADMIN_APPS) | extra)
    )


def _grant_catalog_admin(user: User) -> None:
    """Let a catalog maintainer into the admin site with the catalog's permissions."""
    group, _ = Group.objects.get_or_create(name=CATALOG_MAINTAINERS_GROUP)
    group.permissions.add(*_catalog_admin_permissions())  # adds only what is missing
    user.groups.add(group)
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])


@transaction.atomic
def grant_role(user: User, role: str, organisation: Organisation, *, actor: Actor) -> StaffRole:
    """Give a staff account a role in an organisation (scope: that organisation's division).

    A catalog maintainer also gets into the admin site, where the catalog is maintained."""
    if role not in Role.values:
        raise RuleViolation("role_unknown", f"未知角色：{role}")
    staff_role, created = StaffRole.objects.get_or_create(
        user=user,
        role=role,
        organisation=organisation,
        defaults={"division": organisation.division},
    )
    if created:
        if role == Role.CATALOG_MAINTAINER:
            _grant_catalog_admin(user)
        record_audit(
            actor=actor,
            action="grant_role",
            obj=staff_role,
            summary=f"授予 {user.get_username()} {Role(role).label}（{organisation}）",
        )
    return staff_role


@transaction.atomic
def revoke_role(staff_role: StaffRole, *, actor: Actor) -> None:
    """Take a role away. The last catalog-maintainer role also closes the admin site to the
    account (a superuser keeps it)."""
    user, role = staff_role.user, staff_role.role
    record_audit(
        actor=actor,
        action="revoke_role",
        obj=staff_role,
        summary=f"收回 {user.get_username()} {Role(role).label}（{staff_role.organisation}）",
    )
    staff_role.delete()
    if (
        role == Role.CATALOG_MAINTAINER
        and not StaffRole.objects.filter(user=user, role=Role.CATALOG_MAINTAINER).exists()
    ):
        user.groups.remove(*Group.objects.filter(name=CATALOG_MAINTAINERS_GROUP))
        if user.is_staff and not user.is_superuser:
            user.is_staff = False
            user.save(update_fields=["is_staff"])


@transaction.atomic
def create_login(
    username: str, *, password_hash: str, actor: Actor, display_name: str = ""
) -> User:
    """Create a login account whose password was hashed beforehand (`make_password`).

    Password hashing is slow on purpose; a batch of accounts that start with one shared
    password (the demo accounts) hashes it once and hands the hash to each."""
    username = username.strip()
    if not username:
        raise RuleViolation("username_required", "请填写账号名")
    try:
        identify_hasher(password_hash)
    except ValueError as exc:
        raise RuleViolation("password_hash_invalid", "密码须先经 make_password 散列") from exc
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise RuleViolation("username_taken", f"账号 {username} 已存在")
    user = user_model.objects.create(
        username=username, password=password_hash, first_name=display_name[:150]
    )
    record_audit(actor=actor, action="create_login", obj=user, summary=f"创建登录账号 {username}")
    return user


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_api_token(user: User, *, actor: Actor, name: str = "") -> str:
    """Make a bearer token for `user`; returns the token, which is never shown again."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:12], key_hash=_digest(raw))
    record_audit(
        actor=actor,
        action="create_api_token",
        obj=token,
        summary=f"为 {user.get_username()} 创建接口令牌 {token.prefix}…",
    )
    return raw


# Other kinds of bearer token, by prefix, registered from a higher app's ready(): the
# signon app's OAuth access tokens of the mobile app. A verifier returns the active user
# (with its assurance level set on it) or None.
BEARER_VERIFIERS: Registry[Callable[[str], User | None]] = Registry("bearer token kind")


def register_bearer_verifier(prefix: str, verify: Callable[[str], User | None]) -> None:
    BEARER_VERIFIERS.register(prefix, verify)


def authenticate_token(raw: str) -> User | None:
    """The active user owning this bearer token (an API token, or a token of a kind a
    higher app registered), or None."""
    if not raw.startswith(TOKEN_PREFIX):
        for prefix in BEARER_VERIFIERS:
            if raw.startswith(prefix):
                return BEARER_VERIFIERS[prefix](raw)
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_digest(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    # To the minute: a write on every request of an app would cost more than it tells.
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_USE_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


@transaction.atomic
def revoke_api_token(token: ApiToken, *, actor: Actor) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record_audit(
        actor=actor, action="revoke_api_token", obj=token, summary=f"吊销接口令牌 {token.prefix}…"
    )


@transaction.atomic
def record_false_commitment(
    *,
    person: Person | None = None,
    company: Company | None = None,
    case_number: str,
    note: str,
    actor: Actor,
) -> CreditRecord:
    """Mark an applicant for a false commitment; until cleared, 容缺 and 告知承诺 are refused."""
    record = CreditRecord.objects.create(
        person=person,
        company=company,
        kind=CreditRecord.Kind.FALSE_COMMITMENT,
        case_number=case_number,
        note=note[:500],
    )
    record_audit(
        actor=actor,
        action="record_false_commitment",
        obj=record,
        summary=f"记录虚假承诺（办件 {case_number}）",
    )
    return record


def has_false_commitment(*, person: Person | None = None, company: Company | None = None) -> bool:
    records = CreditRecord.objects.filter(
        kind=CreditRecord.Kind.FALSE_COMMITMENT, cleared_at__isnull=True
    )
    if person is not None:
        return records.filter(person=person).exists()
    if company is not None:
        return records.filter(company=company).exists()
    return False


def notify(user: User, *, title: str, body: str, link: str = "", mobile: str = "") -> Notification:
    """Put a message in the user's inbox; after commit, also text it to `mobile` if given.

    Call inside the transaction of the change being announced, so that a rolled-back
    change announces nothing."""
    notification = Notification.objects.create(
        recipient=user, title=title[:100], body=body, link=link
    )
    if mobile:
        transaction.on_commit(lambda: sms().send(mobile, f"【通办】{title}"))
    return notification


@transaction.atomic
def mark_notifications_read(user: User, *, ids: list[int] | None = None) -> int:
    """Mark messages of `user`'s inbox as read: those with the given ids, or all of them.
    Only the user's own unread messages change; returns how many did. Reading one's own
    inbox is not an audited event (nothing about anyone else is read or changed)."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


NODE_USERNAME_PREFIX = "node-"


@transaction.atomic
def node_account(node: str, *, actor: Actor) -> User:
    """The inactive account that stands for another node where a row needs an account
    (the submitter of a case it forwarded, the uploader of a material it sent). It can
    never sign in; it is created once, with an audit row."""
    if not node or len(node) > 32:
        raise RuleViolation("node_invalid", f"节点标识无效：{node!r}")
    user, created = User.objects.get_or_create(
        username=f"{NODE_USERNAME_PREFIX}{node}", defaults={"is_active": False, "first_name": node}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        record_audit(
            actor=actor, action="create_node_account", obj=user, summary=f"节点 {node} 的代表账号"
        )
    return user
