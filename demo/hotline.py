"""12345 demo data (`demo/data/<node>/hotline.json`, Liaoning only): the 大连 12345 centre
and its agent `dl-zwfwzx-hotline-agent`, the dispatch catalog of the 大连 demo
organisations, three knowledge articles, and tickets of every type in different states,
made through the real services by the demo staff and citizens:

| Caller | Type | Where it stands |
| --- | --- | --- |
| 王芳 (phone) | 咨询 | answered on the spot from the 户口迁移 guide article |
| 刘洋 (phone) | 咨询 | registered, waiting to be answered |
| citizen-liuyang (web) | 投诉 | dispatched to 大连市公安局, returned, re-dispatched to 大连市政务服务中心, being handled |
| 李建国 (phone) | 投诉 | the same complaint again: merged into the one above (并单) |
| citizen-wangfang (web) | 投诉 | replied, called back (satisfied), closed |
| 赵子涵 (phone) | 求助, 接诉即办 | dispatched, counted in hours |
| anonymous | 举报 | dispatched to 大连市市场监督管理局, being handled |
| citizen-zhoumin (web) | 建议 | replied, waiting for the callback |
| 陈静 (phone) | 投诉 | accepted 20 working days ago and dispatched: overdue, red warning |
| anonymous | 求助 | refused: a fire, referred to 119 |

Made once: if any ticket exists nothing is done, so `load_demo` twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from accounts.services import create_login, grant_role
from catalog.selectors import current_item_versions
from core.calendar import working_days_between
from core.models import Division, Organisation
from demo.users import ACTOR, DEMO_PASSWORD, node_data_dir, staff_name
from hotline.engine import PROCESS, take_action
from hotline.models import Centre, DispatchCatalogVersion, KnowledgeArticle, Ticket
from hotline.services import TicketIn, open_ticket, publish_dispatch_catalog, save_article

FILE = "hotline.json"
GUIDE_NAME = "户口迁移"


def _data() -> dict[str, Any] | None:
    path = node_data_dir() / FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _agent(centre: dict[str, str], org: Organisation) -> User:
    user = User.objects.filter(username=centre["agent"]).first()
    if user is None:
        user = create_login(
            centre["agent"],
            password_hash=make_password(DEMO_PASSWORD),
            actor=ACTOR,
            display_name=staff_name(centre["agent"]),
        )
    grant_role(user, Role.HOTLINE_AGENT, org, actor=ACTOR)
    return user


@transaction.atomic
def load_demo_hotline() -> int:
    """Load the node's 12345 demo data; return how many tickets were made (0 when the node
    has none, or they are there already)."""
    data = _data()
    if data is None:
        return 0
    agents = []
    for raw in data["centres"]:
        org = Organisation.objects.get(uscc=raw["organisation"])
        Centre.objects.get_or_create(
            organisation=org,
            defaults={"division": Division.objects.get(code=raw["division"]), "name": raw["name"]},
        )
        agents.append(_agent(raw, org))
    if not DispatchCatalogVersion.objects.exists():
        publish_dispatch_catalog(data["catalog"], actor=ACTOR)
    if not KnowledgeArticle.objects.exists():
        for raw in data["articles"]:
            save_article(
                title=raw["title"], body=raw["body"], keywords=raw["keywords"], actor=ACTOR
            )
    if Ticket.objects.exists():
        return 0
    return _tickets(agents[0])


def _user(username: str) -> User:
    return User.objects.get(username=username)


def _uscc(slug: str) -> str:
    from demo.users import demo_accounts

    return next(u for u, s in demo_accounts().slugs.items() if s == slug)


def _staff(slug: str) -> User:
    return _user(f"{slug}-reviewer")


def _tickets(agent: User) -> int:
    made = 0

    def call(**fields: Any) -> Ticket:
        nonlocal made
        made += 1
        actor = fields.pop("actor", agent)
        fields.setdefault("division", "210200")
        return open_ticket(TicketIn(**fields), actor=actor)

    def web(username: str, **fields: Any) -> Ticket:
        from accounts.models import Person

        person = Person.objects.get(user__username=username)
        return call(
            channel="web",
            caller_name=person.name,
            caller_phone=person.mobile,
            actor=_user(username),
            **fields,
        )

    def dispatch(ticket: Ticket, category: str, lead: str, co: tuple[str, ...] = ()) -> Ticket:
        take_action(ticket, "accept", actor=agent)
        return take_action(
            ticket,
            "dispatch",
            actor=agent,
            data={"category": category, "lead": _uscc(lead), "co": [_uscc(c) for c in co]},
        )

    guide = current_item_versions().filter(name__contains=GUIDE_NAME).first()
    answered = call(
        type="consultation",
        caller_name="王芳",
        caller_phone="13904112368",
        description="夫妻投靠落户需要带哪些材料？",
    )
    if guide is not None:
        take_action(
            answered,
            "answer_on_the_spot",
            actor=agent,
            data={"guide": guide.item.code, "reply": f"请按《{guide.name}》办事指南准备材料。"},
        )
    call(
        type="consultation",
        caller_name="刘洋",
        caller_phone="15842617795",
        description="新生儿入户需要什么材料？可以网上办吗？",
    )
    complaint = web(
        "citizen-liuyang",
        type="complaint",
        description="政务服务中心户籍窗口排队两小时，叫号系统故障无人处理。",
        category="government-service",
    )
    dispatch(complaint, "government-service", "dl-gaj")
    take_action(
        complaint,
        "return_dispatch",
        actor=_staff("dl-gaj"),
        note="窗口叫号系统由政务服务中心管理，不属本局职责",
    )
    take_action(
        complaint,
        "redispatch",
        actor=agent,
        data={
            "category": "government-service",
            "lead": _uscc("dl-zwfwzx"),
            "co": [_uscc("dl-gaj")],
        },
    )
    take_action(complaint, "sign", actor=_staff("dl-zwfwzx"))
    duplicate = call(
        type="complaint",
        caller_name="李建国",
        caller_phone="13591256708",
        description="政务服务中心叫号系统坏了，排队很久。",
    )
    take_action(duplicate, "merge", actor=agent, data={"into": complaint.number})
    closed = web(
        "citizen-wangfang",
        type="complaint",
        description="异地就医备案后报销比例与政策不符。",
        category="medical-insurance",
    )
    dispatch(closed, "medical-insurance", "dl-ybj")
    take_action(closed, "sign", actor=_staff("dl-ybj"))
    take_action(
        closed,
        "reply",
        actor=_staff("dl-ybj"),
        data={"reply": "经核查，系备案类型选择有误，已为您更正并补发差额。"},
    )
    take_action(closed, "call_back", actor=agent, data={"outcome": "satisfied", "note": "已到账"})
    take_action(closed, "close", actor=agent)
    urgent = call(
        type="help",
        urgent=True,
        caller_name="赵子涵",
        caller_phone="13704116655",
        description="独居老人家中断水两天，行动不便，请求帮助。",
    )
    dispatch(urgent, "social-assistance", "dl-mzj", ("dl-ybj",))
    report = call(
        type="report",
        anonymous=True,
        description="某超市销售过期食品，多次发现。",
        category="market-order",
    )
    dispatch(report, "market-order", "dl-scjgj")
    take_action(report, "sign", actor=_staff("dl-scjgj"))
    suggestion = web(
        "citizen-zhoumin",
        type="suggestion",
        description="建议不动产登记窗口周六延时服务。",
    )
    dispatch(suggestion, "real-estate", "dl-zrzyj", ("dl-gjj",))
    take_action(suggestion, "sign", actor=_staff("dl-zrzyj"))
    take_action(
        suggestion,
        "reply",
        actor=_staff("dl-zrzyj"),
        data={"reply": "感谢建议，自下月起每周六上午开放不动产登记窗口。"},
    )
    overdue = call(
        type="complaint",
        caller_name="陈静",
        caller_phone="13898765432",
        description="公积金提取申请提交一个月无人处理。",
    )
    dispatch(overdue, "housing-fund", "dl-gjj")
    _backdate(overdue, working_days=20)
    refused = call(type="help", anonymous=True, description="楼道有烟，好像着火了！")
    take_action(
        refused,
        "refuse",
        actor=agent,
        note="火情，已请来电人立即拨打 119",
        data={"referral": "fire_119"},
    )
    PROCESS.refresh_warnings()
    return made


def _backdate(ticket: Ticket, *, working_days: int) -> None:
    """Make a demo ticket look accepted `working_days` ago, so the demo has an overdue one
    (its deadline is recomputed from the earlier start, as the engine would have)."""
    today = timezone.localdate()
    start = today
    while working_days_between(start, today, ticket.division.code).days < working_days:
        start -= dt.timedelta(days=1)
    ticket = Ticket.objects.select_related("division").get(pk=ticket.pk)
    ticket.started_on = start
    PROCESS.set_due(ticket)
    Ticket.objects.filter(pk=ticket.pk).update(
        started_on=ticket.started_on,
        due_date=ticket.due_date,
        due_provisional=ticket.due_provisional,
    )
