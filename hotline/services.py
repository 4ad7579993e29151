"""Every change of the hotline: opening a ticket (any channel), the effects its workflow
actions run (hotline/workflows/ticket.json, registered in HotlineConfig.ready()), the
dispatch catalog's versions, the knowledge articles, and a caller's own case looked up
after an identity check. Each is one transaction writing its own timeline or audit row."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, StaffRole
from cases.materials import check_upload
from cases.models import Case
from cases.workflow import state_label as case_state_label
from catalog.models import ServiceItem
from catalog.search import document_of, text_tokens
from catalog.selectors import current_version_of
from core import blobs
from core.actors import Actor, user_of
from core.calendar import add_working_days
from core.exceptions import NotFound, ProblemList, RuleViolation
from core.models import Division, LimitUnit, Organisation, PersonalDataAccess
from core.personal_data import (
    lookup_hash,
    mask_address,
    mask_id_number,
    mask_mobile,
    mask_name,
)
from core.process import Transition
from core.services import record_audit
from hotline.engine import PROCESS, current_definition
from hotline.models import (
    Centre,
    Channel,
    DispatchCatalogVersion,
    DispatchCategory,
    DispatchEntry,
    KnowledgeArticle,
    PublicationStatus,
    Ticket,
    TicketAssignment,
    TicketAttachment,
    TicketType,
)
from hotline.payloads import (
    CallbackIn,
    DispatchIn,
    ExtensionIn,
    MergeIn,
    OnTheSpotIn,
    ReferralIn,
    ReplyIn,
)
from hotline.selectors import centre_for, deadline_for, dispatch_options

_PHONE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


# Opening a ticket --------------------------------------------------------------------------


@dataclass
class TicketIn:
    """What a ticket is opened with, from any channel (the agent console, the portal, the
    mobile app, Open311)."""

    type: str
    division: str
    description: str
    title: str = ""
    channel: str = Channel.PHONE
    urgent: bool = False
    anonymous: bool = False
    caller_name: str = ""
    caller_phone: str = ""
    address: str = ""
    lat: float | None = None
    long: float | None = None
    category: str = ""
    case_number: str = ""
    item: str = ""
    organisation: str = ""
    attachments: list[tuple[str, bytes]] = field(default_factory=list)


def _agent_centre(actor: Actor) -> Centre | None:
    user = user_of(actor)
    if user is None:
        return None
    role = (
        StaffRole.objects.filter(
            user=user, role=Role.HOTLINE_AGENT, organisation__hotline_centre__isnull=False
        )
        .select_related("organisation__hotline_centre")
        .first()
    )
    return role.organisation.hotline_centre if role is not None else None


def _check_ticket(data: TicketIn, problems: ProblemList) -> dict[str, Any]:
    """Every problem of the input at once; the resolved references."""
    found: dict[str, Any] = {}
    if data.type not in TicketType.values:
        problems.add("诉求类型应为咨询、求助、投诉、举报或建议", field="type", code="type_invalid")
    if data.channel not in Channel.values:
        problems.add("未知的受理渠道", field="channel", code="channel_invalid")
    found["division"] = Division.objects.filter(code=data.division).first()
    if found["division"] is None:
        problems.add(f"未知的行政区划：{data.division}", field="division", code="division_unknown")
    if not data.description.strip():
        problems.add("请填写诉求内容", field="description", code="description_required")
    elif len(data.description) > 4000:
        problems.add("诉求内容不超过 4000 字", field="description", code="description_too_long")
    if data.anonymous and (data.caller_name or data.caller_phone):
        problems.add("匿名诉求不登记来电人信息", field="anonymous", code="anonymous_with_caller")
    if data.caller_phone and not _PHONE.match(data.caller_phone.replace(" ", "")):
        problems.add("联系电话格式不对", field="caller_phone", code="phone_invalid")
    if data.category:
        found["category"] = DispatchCategory.objects.filter(code=data.category).first()
        if found["category"] is None:
            problems.add(
                f"未知的诉求分类：{data.category}", field="category", code="category_unknown"
            )
    if data.case_number and not Case.objects.filter(number=data.case_number).exists():
        problems.add(f"办件 {data.case_number} 不存在", field="case_number", code="case_unknown")
    if data.item:
        found["item"] = ServiceItem.objects.filter(code=data.item).first()
        if found["item"] is None:
            problems.add(f"事项 {data.item} 不存在", field="item", code="item_unknown")
    if data.organisation:
        found["organisation"] = Organisation.objects.filter(uscc=data.organisation).first()
        if found["organisation"] is None:
            problems.add(
                f"单位 {data.organisation} 不存在",
                field="organisation",
                code="organisation_unknown",
            )
    return found


@transaction.atomic
def open_ticket(data: TicketIn, *, actor: Actor) -> Ticket:
    """登记工单: an agent taking a call (the ticket belongs to the agent's centre), or a
    citizen or client application online (the centre of the place). Attachments are
    checked as case materials are; a caller's name, phone and address are stored
    encrypted with masked copies. Nothing is written if anything is wrong."""
    problems = ProblemList()
    found = _check_ticket(data, problems)
    mimes = []
    for index, (name, content) in enumerate(data.attachments):
        try:
            mimes.append(check_upload(content, name))
        except RuleViolation as exc:
            problems.add(f"{name}：{exc.message}", field=f"attachments.{index}", code=exc.code)
    if problems:
        codes = {p.code for p in problems.problems}
        raise RuleViolation(
            str(codes.pop()) if len(codes) == 1 else "ticket_invalid",
            problems.problems[0].reason if len(problems.problems) == 1 else "工单信息有误",
            problems=problems.problems,
        )
    user = user_of(actor)
    if data.channel == Channel.PHONE:
        centre = _agent_centre(actor)
        if centre is None:
            raise RuleViolation("not_an_agent", "只有 12345 话务员可以登记来电", status=403)
    else:
        centre = centre_for(data.division)
    is_citizen = (
        user is not None and data.channel in (Channel.WEB, Channel.MOBILE) and not data.anonymous
    )
    phone = data.caller_phone.replace(" ", "")
    token = secrets.token_hex(16)
    ticket = Ticket.objects.create(
        # The number shows the row id, known once inserted: the unique token holds its
        # place until then.
        number=token,
        token=token,
        workflow=current_definition(),
        state=current_definition_initial(),
        type=data.type,
        channel=data.channel,
        urgent=data.urgent,
        centre=centre,
        division=found["division"],
        address=data.address,
        address_masked=mask_address(data.address),
        lat=data.lat,
        long=data.long,
        title=(data.title or data.description)[:100],
        description=data.description,
        category=found.get("category"),
        anonymous=data.anonymous,
        caller_user=user if is_citizen else None,
        caller_name=data.caller_name,
        caller_name_masked=mask_name(data.caller_name),
        caller_phone=phone,
        caller_phone_masked=mask_mobile(phone) if phone else "",
        caller_phone_hash=lookup_hash(phone) if phone else "",
        case_number=data.case_number,
        item=found.get("item"),
        organisation_concerned=found.get("organisation"),
    )
    ticket.number = f"{settings.NODE_CODE}12345-{timezone.localdate():%Y%m%d}-{ticket.pk:06d}"
    Ticket.objects.filter(pk=ticket.pk).update(number=ticket.number)
    for (name, content), mime in zip(data.attachments, mimes, strict=True):
        digest, path = blobs.store(content, area="hotline")
        TicketAttachment.objects.create(
            ticket=ticket,
            file=path,
            original_name=name[:200],
            content_type=mime,
            size=len(content),
            sha256=digest,
        )
    PROCESS.record_event(
        ticket,
        actor=actor,
        action="open",
        to_state=ticket.state,
        organisation=centre.organisation if data.channel == Channel.PHONE else None,
        note=f"{TicketType(data.type).label}，经{Channel(data.channel).label}登记",
    )
    return ticket


def current_definition_initial() -> str:
    return PROCESS.parsed(current_definition()).initial


# Effects of the workflow actions -----------------------------------------------------------


def pin_deadline(t: Transition[Ticket]) -> None:
    """受理: the ticket's limit from the province's table, pinned (a later change of the
    table does not move running tickets)."""
    ticket = t.process
    limit = deadline_for(ticket.division.province_code, ticket.type, ticket.urgent)
    ticket.limit_amount, ticket.limit_unit = limit.amount, limit.unit
    t.changed |= {"limit_amount", "limit_unit"}


def record_referral(t: Transition[Ticket]) -> None:
    assert isinstance(t.payload, ReferralIn)
    t.process.referral = t.payload.referral
    t.changed.add("referral")
    t.event_data["referral"] = t.payload.referral.label


def record_article_answer(t: Transition[Ticket]) -> None:
    """当场答复: a consultation answered from a knowledge article or from the guide of the
    item version in force, which is recorded with the reply."""
    assert isinstance(t.payload, OnTheSpotIn)
    ticket, payload = t.process, t.payload
    if ticket.type != TicketType.CONSULTATION:
        raise RuleViolation(
            "on_the_spot_consultation_only", "只有咨询类诉求可以依知识库当场答复办结"
        )
    if (payload.article is None) == (not payload.guide):
        raise RuleViolation(
            "article_required", "请选择答复所依据的一条知识库条目或一份办事指南", field="article"
        )
    if payload.article is not None:
        article = KnowledgeArticle.objects.filter(pk=payload.article, published=True).first()
        if article is None:
            raise RuleViolation("article_not_found", "知识库条目不存在或未发布", field="article")
        ticket.answered_article = article
        t.event_data["article"] = article.title
        t.changed.add("answered_article")
    else:
        version = current_version_of(payload.guide)
        ticket.answered_guide = version
        t.event_data["guide"] = f"{version.name}（第 {version.number} 版）"
        t.changed.add("answered_guide")
    ticket.reply, ticket.replied_at = payload.reply, timezone.now()
    t.changed |= {"reply", "replied_at"}


def _return_due(ticket: Ticket, now: dt.datetime) -> dt.datetime:
    """Until when the lead may return the ticket: `HOTLINE_RETURN_WORKING_DAYS` working
    days after the day of dispatch (to the end of that day), or `HOTLINE_RETURN_HOURS` for
    a ticket counted in hours."""
    if ticket.limit_unit == LimitUnit.HOURS:
        return now + dt.timedelta(hours=settings.HOTLINE_RETURN_HOURS)
    day = add_working_days(
        timezone.localdate(now), settings.HOTLINE_RETURN_WORKING_DAYS, ticket.division.code
    ).date
    end = dt.datetime.combine(day, dt.time(23, 59, 59))
    return timezone.make_aware(end)


def dispatch_ticket(t: Transition[Ticket]) -> None:
    """派单 / 改派: to a lead and co-organisers the dispatch catalog in force names for the
    ticket's category and place; the earlier round ends."""
    assert isinstance(t.payload, DispatchIn)
    ticket, payload = t.process, t.payload
    category = DispatchCategory.objects.filter(code=payload.category).first()
    if category is None:
        raise RuleViolation(
            "category_unknown", f"未知的诉求分类：{payload.category}", field="category"
        )
    options = dispatch_options(category, ticket.division.code)
    if not options.allowed:
        raise RuleViolation(
            "dispatch_category_not_here",
            f"派单目录中没有“{category.name}”在{ticket.division.name}的承办单位",
            field="category",
        )
    allowed = {org.uscc: org for org in options.allowed}
    problems = ProblemList()
    if payload.lead not in allowed:
        problems.add(
            f"主办单位 {payload.lead} 不在派单目录“{category.name}”（{ticket.division.name}）中",
            field="lead",
        )
    for uscc in payload.co:
        if uscc not in allowed:
            problems.add(f"协办单位 {uscc} 不在派单目录“{category.name}”中", field="co")
        elif uscc == payload.lead:
            problems.add("主办单位不能同时是协办单位", field="co")
    problems.raise_if_any("dispatch_not_in_catalog", "只能派给派单目录中的单位")
    now = timezone.now()
    previous = TicketAssignment.objects.filter(ticket=ticket).order_by("-round").first()
    round_ = (previous.round + 1) if previous else 1
    TicketAssignment.objects.filter(ticket=ticket, active=True).update(active=False)
    lead = allowed[payload.lead]
    TicketAssignment.objects.create(
        ticket=ticket, organisation=lead, part=TicketAssignment.Part.LEAD, round=round_
    )
    for uscc in dict.fromkeys(payload.co):
        TicketAssignment.objects.create(
            ticket=ticket, organisation=allowed[uscc], part=TicketAssignment.Part.CO, round=round_
        )
    ticket.category, ticket.lead = category, lead
    ticket.dispatched_at, ticket.return_due_at = now, _return_due(ticket, now)
    t.changed |= {"category", "lead", "dispatched_at", "return_due_at"}
    t.event_data.update(
        {
            "category": category.name,
            "lead": lead.name,
            "co": [allowed[u].name for u in dict.fromkeys(payload.co)],
        }
    )


def return_ticket(t: Transition[Ticket]) -> None:
    """退单: the lead says the ticket is not its own, with a reason, within the time limit."""
    ticket = t.process
    now = timezone.now()
    if ticket.return_due_at is not None and now > ticket.return_due_at:
        due = timezone.localtime(ticket.return_due_at)
        raise RuleViolation(
            "return_too_late",
            f"已超过退单时限（{due:%Y-%m-%d %H:%M}），不能退单；请办理，确需延期的申请延期",
            status=409,
        )
    TicketAssignment.objects.filter(
        ticket=ticket, organisation=ticket.lead, active=True, part=TicketAssignment.Part.LEAD
    ).update(returned_at=now, return_reason=t.note[:500])
    TicketAssignment.objects.filter(ticket=ticket, active=True).update(active=False)
    ticket.lead = None
    t.changed.add("lead")


def request_extension(t: Transition[Ticket]) -> None:
    assert isinstance(t.payload, ExtensionIn)
    t.process.extension_requested = t.payload.days
    t.changed.add("extension_requested")
    t.event_data["days"] = t.payload.days


def approve_extension(t: Transition[Ticket]) -> None:
    """批准延期: the limit grows by what was asked; the due moment is recomputed."""
    ticket = t.process
    t.event_data["days"] = ticket.extension_requested
    ticket.extended_by += ticket.extension_requested
    ticket.extension_requested = 0
    PROCESS.set_due(ticket)
    t.changed |= {"extended_by", "extension_requested"}


def refuse_extension(t: Transition[Ticket]) -> None:
    t.process.extension_requested = 0
    t.changed.add("extension_requested")


def record_reply(t: Transition[Ticket]) -> None:
    assert isinstance(t.payload, ReplyIn)
    ticket = t.process
    ticket.reply, ticket.replied_at = t.payload.reply, timezone.now()
    t.changed |= {"reply", "replied_at"}


def record_callback(t: Transition[Ticket]) -> None:
    """回访: the caller's judgement of the answer, kept on the ticket."""
    assert isinstance(t.payload, CallbackIn)
    ticket = t.process
    if ticket.anonymous:
        raise RuleViolation("callback_anonymous", "匿名诉求没有来电人信息，无法回访")
    ticket.callback_outcome = t.payload.outcome
    ticket.callback_note = t.payload.note
    ticket.callback_at = timezone.now()
    t.changed |= {"callback_outcome", "callback_note", "callback_at"}
    t.event_data["outcome"] = t.payload.outcome.label


def require_callback(t: Transition[Ticket]) -> None:
    """办结: a reply, and a callback for every ticket with a caller to call."""
    ticket = t.process
    if not ticket.reply:
        raise RuleViolation("reply_required", "工单尚未答复，不能办结")
    if not ticket.anonymous and not ticket.callback_outcome:
        raise RuleViolation("callback_required", "须先回访诉求人并记录回访结果，才能办结")


def merge_ticket(t: Transition[Ticket]) -> None:
    """并单: a duplicate goes into an open ticket of the same type and place; the target's
    timeline records it."""
    assert isinstance(t.payload, MergeIn)
    ticket = t.process
    target = (
        Ticket.objects.select_related("workflow", "division")
        .filter(number=t.payload.into, centre=ticket.centre)
        .first()
    )
    if target is None:
        raise RuleViolation(
            "merge_target_not_found", f"本中心没有工单 {t.payload.into}", field="into"
        )
    if target.pk == ticket.pk:
        raise RuleViolation("merge_into_itself", "不能并入工单自身", field="into")
    problems = ProblemList()
    if target.type != ticket.type:
        problems.add(
            f"诉求类型不同（{ticket.get_type_display()}／{target.get_type_display()}），不能并单",
            field="into",
        )
    if target.division_id != ticket.division_id:
        problems.add(
            f"发生地不同（{ticket.division.name}／{target.division.name}），不能并单", field="into"
        )
    problems.raise_if_any("merge_mismatch", "只能合并诉求类型和发生地都相同的工单")
    if not PROCESS.definition_of(target).has_tag(target.state, "merge_target"):
        raise RuleViolation(
            "merge_target_closed",
            f"工单 {target.number} 当前为“{PROCESS.state_label(target)}”，不能再并入",
            status=409,
            field="into",
        )
    ticket.merged_into = target
    t.changed.add("merged_into")
    t.event_data["into"] = target.number
    PROCESS.record_event(
        target,
        actor=t.actor,
        action="merged_in",
        organisation=t.organisation,
        note=f"工单 {ticket.number} 并入本工单",
        data={"from": ticket.number},
    )


# The dispatch catalog ----------------------------------------------------------------------


@transaction.atomic
def publish_dispatch_catalog(data: dict[str, Any], *, actor: Actor) -> DispatchCatalogVersion:
    """A new version of the 派单目录 from data (`categories`: code, name, group,
    description, keywords; `entries`: category, division, lead, co — organisations by
    USCC), checked as a whole and published with its effective date. Earlier versions stay
    as they were; the one in force is the latest published by date."""
    problems = ProblemList()
    groups = set(DispatchCategory.Group.values)
    categories: dict[str, dict[str, Any]] = {}
    for row, raw in enumerate(data.get("categories", []), start=1):
        code = str(raw.get("code", ""))
        if not re.fullmatch(r"[a-z0-9-]{1,40}", code) or not raw.get("name"):
            problems.add("分类须有代码（小写字母、数字、-）和名称", row=row, field="categories")
        elif raw.get("group") not in groups:
            problems.add(f"分类 {code} 的领域未知：{raw.get('group')}", row=row, field="categories")
        else:
            categories[code] = raw
    known_categories = set(categories) | set(
        DispatchCategory.objects.values_list("code", flat=True)
    )
    entries = data.get("entries", [])
    usccs = {e.get("lead") for e in entries} | {c for e in entries for c in e.get("co", [])}
    orgs = {o.uscc: o for o in Organisation.objects.filter(uscc__in=usccs)}
    divisions = {
        d.code: d for d in Division.objects.filter(code__in=[e.get("division") for e in entries])
    }
    seen: set[tuple[str, str]] = set()
    for row, entry in enumerate(entries, start=1):
        key = (entry.get("category"), entry.get("division"))
        if entry.get("category") not in known_categories:
            problems.add(f"未知的分类：{entry.get('category')}", row=row, field="entries")
        if entry.get("division") not in divisions:
            problems.add(f"未知的区划：{entry.get('division')}", row=row, field="entries")
        for uscc in [entry.get("lead"), *entry.get("co", [])]:
            if uscc not in orgs:
                problems.add(f"未知的单位：{uscc}", row=row, field="entries")
        if key in seen:
            problems.add(f"分类 {key[0]} 在区划 {key[1]} 重复", row=row, field="entries")
        seen.add(key)
    try:
        effective_from = dt.date.fromisoformat(str(data.get("effective_from")))
    except ValueError:
        problems.add("生效日期应为 YYYY-MM-DD", field="effective_from")
        effective_from = timezone.localdate()
    if not entries:
        problems.add("派单目录至少要有一个条目", field="entries")
    problems.raise_if_any("dispatch_catalog_invalid", "派单目录有误，未发布")
    for code, raw in categories.items():
        DispatchCategory.objects.update_or_create(
            code=code,
            defaults={
                "name": raw["name"],
                "group": raw["group"],
                "description": raw.get("description", ""),
                "keywords": raw.get("keywords", ""),
            },
        )
    by_code = {c.code: c for c in DispatchCategory.objects.all()}
    last = DispatchCatalogVersion.objects.order_by("-number").first()
    version = DispatchCatalogVersion.objects.create(
        number=(last.number + 1) if last else 1,
        effective_from=effective_from,
        change_note=str(data.get("change_note", ""))[:300],
        status=PublicationStatus.PUBLISHED,
        published_at=timezone.now(),
    )
    for entry in entries:
        row_ = DispatchEntry.objects.create(
            version=version,
            category=by_code[entry["category"]],
            division=divisions[entry["division"]],
            lead=orgs[entry["lead"]],
        )
        row_.co_organisers.set([orgs[c] for c in entry.get("co", [])])
    record_audit(
        actor=actor,
        action="publish_dispatch_catalog",
        obj=version,
        summary=f"发布派单目录第 {version.number} 版（{len(entries)} 条），{effective_from} 起生效",
    )
    return version


# Knowledge articles ------------------------------------------------------------------------


@transaction.atomic
def save_article(
    *,
    title: str,
    body: str,
    keywords: str = "",
    category: DispatchCategory | None = None,
    article: KnowledgeArticle | None = None,
    actor: Actor,
) -> KnowledgeArticle:
    """Write or rewrite a hand-written knowledge article; its search document is rebuilt
    with the catalog's tokens (words, pinyin, initials)."""
    problems = ProblemList()
    if not title.strip() or len(title) > 200:
        problems.add("标题不能为空（200 字以内）", field="title")
    if not body.strip():
        problems.add("内容不能为空", field="body")
    problems.raise_if_any("article_invalid", "知识库条目有误")
    article = article or KnowledgeArticle()
    article.title, article.body, article.keywords, article.category = (
        title.strip(),
        body.strip(),
        keywords.strip(),
        category,
    )
    article.document = document_of(text_tokens([article.title, article.keywords]))
    article.save()
    record_audit(
        actor=actor, action="save_article", obj=article, summary=f"知识库：{article.title}"
    )
    return article


# A caller's own case -----------------------------------------------------------------------


@dataclass(frozen=True)
class CaseLookup:
    """What an agent may tell a caller of their own case: its status, never its content."""

    number: str
    item: str
    state: str
    handling_org: str
    due_date: dt.date | None
    applicant: str


def look_up_case(ticket: Ticket, number: str, id_number: str, *, actor: Actor) -> CaseLookup:
    """查询本人办件: an agent of the ticket's centre reads the status of the caller's case
    once the caller has given the applicant's ID number (or the company's USCC) and it
    matches. A wrong pair reads the same as a missing case; each look-up is logged as a
    read of personal data with its purpose, and on the ticket's timeline."""
    user = user_of(actor)
    if (
        user is None
        or not StaffRole.objects.filter(
            user=user, role=Role.HOTLINE_AGENT, organisation=ticket.centre.organisation
        ).exists()
    ):
        raise RuleViolation(
            "action_forbidden", "只有受理该工单的中心话务员可以查询办件", status=403
        )
    code = id_number.strip().upper()
    case = (
        Case.objects.select_related(
            "item_version__category",
            "handling_org",
            "workflow",
            "applicant_person",
            "applicant_company",
        )
        .filter(number=number.strip())
        .first()
    )
    matches = case is not None and (
        (
            case.applicant_person is not None
            and case.applicant_person.id_number_hash == lookup_hash(code)
        )
        or (case.applicant_company is not None and case.applicant_company.uscc == code)
    )
    with transaction.atomic():
        PersonalDataAccess.objects.create(
            actor=user,
            subject=mask_id_number(code),
            context=f"工单 {ticket.number}",
            purpose="12345 来电人查询本人办件进度（已核验身份）"
            if matches
            else "12345 来电人查询办件，身份核验未通过",
            fields=["case_status"] if matches else [],
        )
        PROCESS.record_event(
            ticket,
            actor=actor,
            action="look_up_case",
            organisation=ticket.centre.organisation,
            note=f"查询办件 {number}：{'身份核验通过' if matches else '身份核验未通过'}",
        )
    # The attempt stays logged either way; a wrong pair tells the caller nothing more.
    if not matches or case is None:
        raise NotFound("case_lookup_failed", "办件编号与身份证件号码不匹配，或办件不存在")
    return CaseLookup(
        number=case.number,
        item=case.item_version.name,
        state=case_state_label(case),
        handling_org=case.handling_org.name,
        due_date=case.due_date,
        applicant=mask_name(case.applicant_name),
    )
