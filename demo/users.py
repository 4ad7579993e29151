"""The demo accounts of a node: staff for every role of every demo organisation, a few
citizens (自然人) and companies (法人) with an agent each. Made through the accounts
services, like any account; `load_demo` calls `load_demo_users`, and running it again
changes nothing.

Each node of the federation has its own demo data, in `demo/data/<settings.NODE_ID>/`
(`liaoning`, `jilin`, `heilongjiang`, `neimenggu`): `catalog.json` and `accounts.json`.
Usernames are unique across the four nodes, so an account names its node.

Usernames are predictable, so that a tester can sign in without looking anything up:

- staff: `<organisation slug>-<role>`, the role code with `-` for `_`, e.g.
  `dl-gaj-reviewer` (大连市公安局, 审查人员) or `dl-gaj-window-clerk`. The slugs are in
  the node's `accounts.json`: the division (`ln` 辽宁省级, `sy` 沈阳, `dl` 大连, `as` 鞍山;
  `jl`/`cc` 吉林/长春, `hl`/`hrb` 黑龙江/哈尔滨, `nm`/`hhht` 内蒙古/呼和浩特) and the pinyin
  initials of the organisation's short name;
- citizens: `citizen-<pinyin of the name>`; company agents: `agent-<company>`; a
  company's legal representative, where the data names one: `rep-<company>` (the company
  is then registered online by them and the agent holds a scoped authorisation).

Every demo account has the password `DEMO_PASSWORD`. It is hashed once per run and the
same hash is given to every account: with Django's real hasher (deliberately slow) one
hash per account would make `make run` take minutes. Catalog maintainers get into the
admin site (accounts.services.grant_role); nobody else does — see docs/decisions.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from stdnum.cn import ric, uscc

from accounts.agents import authorise_agent, register_company_online
from accounts.models import AgentAction, Company, Person, Role, StaffRole
from accounts.services import create_login, grant_role, register_company, register_person
from core.actors import Actor, SystemActor
from core.exceptions import RuleViolation
from core.models import Organisation
from core.personal_data import mask_name

DEMO_PASSWORD = "tongban-demo-2026"
DATA_DIR = Path(__file__).resolve().parent / "data"
ACCOUNTS_NAME = "accounts.json"
CATALOG_NAME = "catalog.json"
ACTOR = SystemActor("load_demo")
_NODE_ID = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def demo_nodes() -> list[str]:
    """The node ids that have demo data (a folder with both files), sorted."""
    return sorted(
        d.name
        for d in DATA_DIR.iterdir()
        if (d / CATALOG_NAME).is_file() and (d / ACCOUNTS_NAME).is_file()
    )


def node_data_dir(node: str | None = None) -> Path:
    """`demo/data/<node>/`, the node being `settings.NODE_ID` unless named; a RuleViolation
    (`demo_node_missing`) when there is no demo data for it."""
    node = settings.NODE_ID if node is None else node
    if _NODE_ID.fullmatch(node or "") and node in demo_nodes():
        return DATA_DIR / node
    raise RuleViolation(
        "demo_node_missing",
        f"没有节点“{node}”的演示数据（应在 demo/data/{node}/ 下有 {CATALOG_NAME} 和 "
        f"{ACCOUNTS_NAME}）；有演示数据的节点：{'、'.join(demo_nodes())}。"
        "请检查环境变量 TONGBAN_NODE_ID。",
    )


def catalog_file(node: str | None = None) -> Path:
    """The demo catalog of the node (`settings.NODE_ID` unless named)."""
    return node_data_dir(node) / CATALOG_NAME


def accounts_file(node: str | None = None) -> Path:
    """The demo accounts of the node (`settings.NODE_ID` unless named)."""
    return node_data_dir(node) / ACCOUNTS_NAME


# The order roles are listed in: the path of a case through an organisation.
ROLES: tuple[Role, ...] = (
    Role.WINDOW_CLERK,
    Role.REVIEWER,
    Role.APPROVER,
    Role.ORG_ADMIN,
    Role.SUPERVISOR,
    Role.CATALOG_MAINTAINER,
)


# Staff are people: each demo account carries a name, made from these deterministically.
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_GIVEN = (
    "丽",
    "伟",
    "芳",
    "敏",
    "静",
    "磊",
    "洋",
    "艳",
    "勇",
    "军",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "霞",
)


def staff_name(username: str) -> str:
    """A stable Chinese name for a demo staff account (the console's header shows it)."""
    digest = hashlib.sha256(username.encode()).digest()
    return (
        _SURNAMES[digest[0] % len(_SURNAMES)]
        + _GIVEN[digest[1] % len(_GIVEN)]
        + (_GIVEN[digest[2] % len(_GIVEN)] if digest[3] % 2 else "")
    )


def staff_username(slug: str, role: str) -> str:
    """`dl-gaj` + `window_clerk` → `dl-gaj-window-clerk`."""
    return f"{slug}-{role.replace('_', '-')}"


@dataclass(frozen=True)
class DemoPerson:
    username: str
    name: str
    id_number: str
    mobile: str


@dataclass(frozen=True)
class DemoCompany:
    uscc: str
    name: str
    legal_representative: str
    agent: DemoPerson
    # A legal representative with an account of their own: the company is registered
    # online by them and the agent holds a scoped authorisation (accounts.agents).
    representative: DemoPerson | None = None


@dataclass(frozen=True)
class DemoAccounts:
    """The demo accounts as data: organisation slugs by USCC, citizens, companies."""

    slugs: dict[str, str]
    citizens: tuple[DemoPerson, ...]
    companies: tuple[DemoCompany, ...]

    def staff_usernames(self) -> list[str]:
        return [staff_username(slug, role) for slug in self.slugs.values() for role in ROLES]

    def applicant_usernames(self) -> list[str]:
        return (
            [p.username for p in self.citizens]
            + [c.agent.username for c in self.companies]
            + [c.representative.username for c in self.companies if c.representative]
        )

    def person(self, username: str) -> DemoPerson:
        people = [
            *self.citizens,
            *(c.agent for c in self.companies),
            *(c.representative for c in self.companies if c.representative),
        ]
        return next(p for p in people if p.username == username)


def _person(raw: dict[str, str]) -> DemoPerson:
    body = raw["id_number_body"]
    # stdnum computes the check character over all but the last character it is given.
    return DemoPerson(
        username=raw["username"],
        name=raw["name"],
        id_number=body + ric.calc_check_digit(body + "0"),
        mobile=raw["mobile"],
    )


def demo_accounts(node: str | None = None) -> DemoAccounts:
    """The demo accounts of the node (`settings.NODE_ID` unless named), with check
    characters computed."""
    return _demo_accounts(str(accounts_file(node)))


@cache
def _demo_accounts(path: str) -> DemoAccounts:
    raw: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return DemoAccounts(
        slugs=dict(raw["organisations"]),
        citizens=tuple(_person(p) for p in raw["citizens"]),
        companies=tuple(
            DemoCompany(
                uscc=c["uscc_body"] + uscc.calc_check_digit(c["uscc_body"]),
                name=c["name"],
                legal_representative=c["legal_representative"],
                agent=_person(c["agent"]),
                representative=_person(c["representative"]) if c.get("representative") else None,
            )
            for c in raw["companies"]
        ),
    )


def catalog_organisations(node: str | None = None) -> list[str]:
    """The USCCs of the organisations the node's demo catalog loads."""
    records = json.loads(catalog_file(node).read_text(encoding="utf-8"))["records"]
    return [r["uscc"] for r in records if r["record"] == "organisation"]


@dataclass
class LoadedUsers:
    staff: int = 0
    citizens: int = 0
    companies: int = 0


@transaction.atomic
def load_demo_users(*, actor: Actor = ACTOR) -> LoadedUsers:
    """Create the demo accounts that do not exist yet; return how many were made.

    Runs after the catalog (the organisations must be there)."""
    data = demo_accounts()
    unnamed = [code for code in catalog_organisations() if code not in data.slugs]
    if unnamed:
        raise RuleViolation(
            "demo_slug_missing",
            f"demo/data/{settings.NODE_ID}/{ACCOUNTS_NAME} 中缺少这些演示机构的账号前缀："
            f"{'、'.join(unnamed)}",
        )
    wanted = data.staff_usernames() + data.applicant_usernames()
    existing = set(
        get_user_model().objects.filter(username__in=wanted).values_list("username", flat=True)
    )
    loaded = LoadedUsers()
    if existing >= set(wanted):
        return loaded
    password_hash = make_password(DEMO_PASSWORD)  # once: see the module docstring

    organisations = Organisation.objects.filter(uscc__in=data.slugs).order_by(
        "division__code", "name"
    )
    for org in organisations:
        for role in ROLES:
            username = staff_username(data.slugs[org.uscc], role)
            if username in existing:
                continue
            user = create_login(
                username,
                password_hash=password_hash,
                actor=actor,
                display_name=staff_name(username),
            )
            grant_role(user, role, org, actor=actor)
            loaded.staff += 1

    for citizen in data.citizens:
        if citizen.username not in existing:
            _register(citizen, password_hash, actor)
            loaded.citizens += 1

    for company in data.companies:
        if company.agent.username in existing:
            continue
        agent = _register(company.agent, password_hash, actor)
        representative = (
            _register(company.representative, password_hash, actor)
            if company.representative
            else None
        )
        registered = register_company(
            uscc=company.uscc,
            name=company.name,
            legal_representative=company.legal_representative,
            agent=None if representative else agent.user,
            actor=actor,
        )
        if representative is not None:
            _authorise_online(registered, representative, agent)
        loaded.companies += 1
    return loaded


# The demo agent of a company registered online: applying and materials, for a year.
DEMO_AGENT_ACTIONS = (AgentAction.APPLY, AgentAction.SUPPLEMENT)
DEMO_AGENT_DAYS = 365


def _authorise_online(company: Company, representative: Person, agent: Person) -> None:
    """The representative claims the company online and authorises the agent, as they
    would on the portal's 我的企业 page."""
    assert representative.user is not None
    company = register_company_online(
        uscc=company.uscc, name=company.name, actor=representative.user
    )
    authorise_agent(
        company,
        agent_name=agent.name,
        agent_id_number=agent.id_number,
        items=[],
        actions=list(DEMO_AGENT_ACTIONS),
        valid_until=timezone.now() + dt.timedelta(days=DEMO_AGENT_DAYS),
        actor=representative.user,
    )


def _register(who: DemoPerson, password_hash: str, actor: Actor) -> Person:
    user = create_login(who.username, password_hash=password_hash, actor=actor)
    return register_person(
        name=who.name, id_number=who.id_number, mobile=who.mobile, user=user, actor=actor
    )


# Listing (`manage.py demo_users`) ---------------------------------------------------------


def list_demo_users() -> list[dict[str, Any]]:
    """Every demo account that exists, staff first (in the order of the data file:
    province, then cities; by role within an organisation), then citizens and company
    agents. Applicants' personal data are masked."""
    data = demo_accounts()
    order = {name: i for i, name in enumerate(data.staff_usernames())}
    roles = StaffRole.objects.filter(user__username__in=order).select_related(
        "user", "organisation", "division"
    )
    rows: list[dict[str, Any]] = [
        {
            "username": r.user.username,
            "role": r.role,
            "role_label": r.get_role_display(),
            "organisation": r.organisation.name,
            "organisation_uscc": r.organisation.uscc,
            "division": r.division.code,
            "division_name": r.division.name,
            "admin_site": r.user.is_staff,
        }
        for r in sorted(roles, key=lambda r: order[r.user.username])
    ]
    people = {
        p.user.username: p  # type: ignore[union-attr]
        for p in Person.objects.filter(
            user__username__in=data.applicant_usernames()
        ).select_related("user")
    }
    for citizen in data.citizens:
        person = people.get(citizen.username)
        if person is not None:
            rows.append(_applicant(person, "citizen", "自然人"))
    companies = {
        c.uscc: c for c in Company.objects.filter(uscc__in=[c.uscc for c in data.companies])
    }
    for demo_company in data.companies:
        person = people.get(demo_company.agent.username)
        company = companies.get(demo_company.uscc)
        if person is not None and company is not None:
            rows.append(
                {
                    **_applicant(person, "company_agent", "法人经办人"),
                    "company": company.name,
                    "company_uscc": company.uscc,
                }
            )
        representative = (
            people.get(demo_company.representative.username)
            if demo_company.representative
            else None
        )
        if representative is not None and company is not None:
            rows.append(
                {
                    **_applicant(representative, "legal_representative", "法定代表人"),
                    "company": company.name,
                    "company_uscc": company.uscc,
                }
            )
    return rows


def _applicant(person: Person, role: str, label: str) -> dict[str, Any]:
    return {
        "username": person.user.username,  # type: ignore[union-attr]
        "role": role,
        "role_label": label,
        "name": mask_name(person.name),
        "id_number": person.id_number_masked,
        "mobile": person.mobile_masked,
    }
