"""Companies online and their agents (经办人): a company registers with its 统一社会信用代码
checked by the company registry, its legal representative authorises agents with a scope
(items and actions) and an expiry, and revokes them; `check_agent` is the one question
every service an agent acts through asks (cases: applying, materials, actions).

The legal representative acts for the company without an authorisation. Who may *see* a
company's cases, licences, payments and data log is one rule too, `acting_companies` (a
subquery every selector filters by) and `acts_for`: the representative, and an agent whose
authorisation is neither revoked nor expired (decision 282). `Company.agents` is kept
for the admin and the audit of who was once named; no read goes through it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.adapters import company_registry
from accounts.models import AgentAction, AgentAuthorisation, Company, Person
from accounts.services import find_person
from catalog.models import ServiceItem
from core.actors import Actor, user_of
from core.exceptions import ProblemList, RuleViolation
from core.personal_data import mask_name
from core.services import record_audit
from core.validators import normalize_uscc

# The longest an authorisation may run (a new one is given after that).
LONGEST_AUTHORISATION = dt.timedelta(days=3 * 366)


def _signed_in_person(actor: Actor) -> tuple[User, Person]:
    user = user_of(actor)
    if user is None:
        raise RuleViolation("actor_required", "请先登录", status=401)
    person = Person.objects.filter(user=user).first()
    if person is None or person.real_name_verified_at is None:
        raise RuleViolation(
            "real_name_required", "须以通过实名核验的个人账号办理企业登记与授权", status=403
        )
    return user, person


@transaction.atomic
def register_company_online(*, uscc: str, name: str, actor: Actor) -> Company:
    """A company registers on the portal, by its legal representative's own account: the
    USCC is checked (its check character, then the company registry), and the registry
    must name the signed-in person as the legal representative.

    A company already known here (registered at a window) gets its representative then;
    one that already has an online representative is refused."""
    user, person = _signed_in_person(actor)
    problems = ProblemList()
    code = ""
    try:
        code = normalize_uscc(uscc)
    except ValidationError as exc:
        problems.add(exc.messages[0], field="uscc", code="uscc_invalid")
    if not name.strip():
        problems.add("请填写企业名称", field="name", code="name_required")
    problems.raise_if_any("company_registration_invalid", "企业登记信息有误")
    record = company_registry().look_up(code, name=name.strip(), legal_representative=person.name)
    if not record.available:
        raise RuleViolation("company_registry_unavailable", record.reason, status=503)
    if not record.found:
        raise RuleViolation(
            "company_not_found", f"企业登记信息核验未通过：{record.reason}", field="uscc"
        )
    if record.name != name.strip():
        raise RuleViolation("company_name_mismatch", "企业名称与登记信息不一致", field="name")
    if record.legal_representative != person.name:
        raise RuleViolation(
            "not_legal_representative",
            "登记信息中的法定代表人不是您本人，不能为该企业注册",
            status=403,
        )
    company = Company.objects.select_for_update().filter(uscc=code).first()
    if company is not None and company.representative_id not in (None, person.pk):
        raise RuleViolation("company_already_registered", "该企业已由法定代表人注册", status=409)
    now = timezone.now()
    if company is None:
        company = Company.objects.create(
            uscc=code,
            name=record.name,
            legal_representative=record.legal_representative,
            representative=person,
            registry_checked_at=now,
        )
    else:
        company.name, company.legal_representative = record.name, record.legal_representative
        company.representative, company.registry_checked_at = person, now
        company.save(
            update_fields=["name", "legal_representative", "representative", "registry_checked_at"]
        )
    company.agents.add(user)
    record_audit(
        actor=actor,
        action="register_company_online",
        obj=company,
        summary=f"法定代表人 {mask_name(person.name)} 在线注册法人 {company.name}",
    )
    return company


def is_representative(company: Company, user: Actor) -> bool:
    """Whether `user` is the company's legal representative (asked of the database, so a
    stale company instance cannot say otherwise)."""
    return isinstance(user, User) and (
        Company.objects.filter(pk=company.pk, representative__user=user).exists()
    )


def _clean_scope(items: Iterable[str], actions: Iterable[str]) -> tuple[list[str], list[str]]:
    codes = sorted({c.strip() for c in items if c.strip()})
    verbs = sorted(set(actions))
    problems = ProblemList()
    if not verbs:
        problems.add("请至少授权一项操作", field="actions", code="agent_actions_required")
    unknown = [v for v in verbs if v not in AgentAction.values]
    if unknown:
        problems.add(
            "未知的授权操作：" + "、".join(unknown), field="actions", code="agent_action_unknown"
        )
    known = set(ServiceItem.objects.filter(code__in=codes).values_list("code", flat=True))
    missing = [c for c in codes if c not in known]
    if missing:
        problems.add(
            "本节点没有这些事项：" + "、".join(missing), field="items", code="item_unknown"
        )
    problems.raise_if_any("agent_scope_invalid", "授权范围有误")
    return codes, verbs


@transaction.atomic
def authorise_agent(
    company: Company,
    *,
    agent_name: str,
    agent_id_number: str,
    items: Iterable[str],
    actions: Iterable[str],
    valid_until: dt.datetime,
    actor: Actor,
) -> AgentAuthorisation:
    """The legal representative authorises a person (by name and ID number, who must have
    an account here) as the company's agent, for `items` (none: every item) and `actions`,
    until `valid_until`. An agent already authorised gets the new scope (the old
    authorisation is revoked in the same step, so the log shows both)."""
    if not is_representative(company, actor):
        raise RuleViolation("not_legal_representative", "只有法定代表人可以授权经办人", status=403)
    codes, verbs = _clean_scope(items, actions)
    now = timezone.now()
    if valid_until <= now:
        raise RuleViolation("agent_expiry_past", "有效期须晚于现在", field="valid_until")
    if valid_until > now + LONGEST_AUTHORISATION:
        raise RuleViolation("agent_expiry_too_far", "授权有效期最长三年", field="valid_until")
    person = find_person(agent_id_number)
    if person is None or person.user_id is None:
        raise RuleViolation(
            "agent_not_registered", "该经办人尚未注册个人账号，请其先注册", field="agent_id_number"
        )
    if person.name != agent_name.strip():
        raise RuleViolation(
            "person_name_mismatch", "经办人姓名与公民身份号码不一致", field="agent_name"
        )
    agent = person.user
    assert agent is not None
    AgentAuthorisation.objects.filter(company=company, agent=agent, revoked_at__isnull=True).update(
        revoked_at=now
    )
    authorisation = AgentAuthorisation.objects.create(
        company=company,
        agent=agent,
        agent_name=person.name,
        items=codes,
        actions=verbs,
        valid_until=valid_until,
        granted_by=user_of(actor),
    )
    company.agents.add(agent)
    record_audit(
        actor=actor,
        action="authorise_agent",
        obj=authorisation,
        summary=(
            f"{company.name} 授权经办人 {mask_name(person.name)}："
            f"{'、'.join(AgentAction(v).label for v in verbs)}；"
            f"事项 {'、'.join(codes) or '全部'}；至 {timezone.localtime(valid_until):%Y-%m-%d %H:%M}"
        ),
    )
    return authorisation


@transaction.atomic
def revoke_agent(authorisation: AgentAuthorisation, *, actor: Actor) -> AgentAuthorisation:
    """The legal representative revokes an authorisation; the agent stops seeing the
    company's cases at once (unless they are the representative themself)."""
    company = authorisation.company
    if not is_representative(company, actor):
        raise RuleViolation("not_legal_representative", "只有法定代表人可以撤销授权", status=403)
    authorisation = AgentAuthorisation.objects.select_for_update().get(pk=authorisation.pk)
    if authorisation.revoked_at is not None:
        raise RuleViolation("agent_already_revoked", "该授权已撤销", status=409)
    authorisation.revoked_at = timezone.now()
    authorisation.save(update_fields=["revoked_at"])
    if not is_representative(company, authorisation.agent):
        company.agents.remove(authorisation.agent)
    record_audit(
        actor=actor,
        action="revoke_agent",
        obj=authorisation,
        summary=f"{company.name} 撤销经办人 {mask_name(authorisation.agent_name)} 的授权",
    )
    return authorisation


def check_agent(company: Company, user: Actor, *, action: str, item_code: str) -> None:
    """Refuse unless `user` may do `action` for `company` on the item `item_code`: the
    legal representative always may; an agent within an authorisation not revoked, not
    expired, whose scope covers the item and the action."""
    if is_representative(company, user):
        return
    account = user_of(user)
    authorisation = (
        AgentAuthorisation.objects.filter(
            company=company, agent=account, revoked_at__isnull=True
        ).first()
        if account is not None
        else None
    )
    if authorisation is None:
        raise RuleViolation("company_not_authorised", "您不是该法人的经办人", status=403)
    if authorisation.valid_until is not None and authorisation.valid_until <= timezone.now():
        raise RuleViolation(
            "agent_authorisation_expired",
            f"您的经办授权已于 {timezone.localtime(authorisation.valid_until):%Y-%m-%d %H:%M} 到期",
            status=403,
        )
    if not authorisation.covers(action=action, item_code=item_code):
        raise RuleViolation(
            "agent_out_of_scope",
            f"您的经办授权不含该事项的“{AgentAction(action).label}”",
            status=403,
        )


def _active(now: dt.datetime) -> Q:
    return Q(revoked_at__isnull=True) & (Q(valid_until__isnull=True) | Q(valid_until__gt=now))


def acting_companies(user: Any) -> QuerySet[Company]:
    """The companies `user` may see and act for now: those they represent, and those whose
    authorisation of them is neither revoked nor past its expiry. The one rule of every
    read of a company's cases, bundle cases, licences, payments and data log (it is a
    subquery, so a listing filtered by it keeps its number of queries)."""
    if not isinstance(user, User) or not user.is_authenticated:
        return Company.objects.none()
    authorised = AgentAuthorisation.objects.filter(_active(timezone.now()), agent=user)
    return Company.objects.filter(
        Q(representative__user=user) | Q(pk__in=authorised.values("company_id"))
    )


def acts_for(company: Company, user: Any) -> bool:
    """Whether `user` may see `company`'s cases and licences now (`acting_companies`)."""
    return acting_companies(user).filter(pk=company.pk).exists()


def acting_accounts(company: Company) -> QuerySet[User]:
    """The accounts that act for `company` now, oldest first: whom its notices reach and
    who may rate its service (the representative, the agents with a live authorisation)."""
    authorised = AgentAuthorisation.objects.filter(_active(timezone.now()), company=company)
    return User.objects.filter(
        Q(pk__in=authorised.values("agent_id"))
        | Q(pk__in=Person.objects.filter(represented_companies=company).values("user_id"))
    ).order_by("pk")


def authorisations_of(company: Company) -> list[AgentAuthorisation]:
    """The company's authorisations, active first then revoked, newest first (one query)."""
    return list(
        AgentAuthorisation.objects.filter(company=company)
        .select_related("agent")
        .order_by("revoked_at", "-granted_at")
    )


def companies_represented(user: Actor) -> list[Company]:
    """The companies whose legal representative is `user` (one query)."""
    if not isinstance(user, User):
        return []
    return list(Company.objects.filter(representative__user=user).order_by("name"))
