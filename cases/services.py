"""The life of a case outside the engine: opening it, changing a draft's answers,
applying (one call for the API and the pages), revealing a form in clear, and the
effects of the case's own actions (a supplement asked for and given, a special
procedure, a decision's reasons). The engine that moves a case is cases/engine.py;
materials live in cases/materials.py, 容缺 and 告知承诺 in cases/commitments.py, results in
cases/results.py.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.agents import check_agent
from accounts.assurance import level_of
from accounts.models import AgentAction, Company, Person, Role, StaffRole
from accounts.selectors import staff_user
from accounts.services import register_company, register_person
from cases import timeline
from cases.engine import PROCESS, current_definition, take_action
from cases.materials import applicant_side
from cases.models import (
    Case,
    CaseMaterial,
    CaseNumberSequence,
    SupplementRequest,
    WorkflowDefinition,
)
from cases.payloads import SpecialProcedure
from cases.payloads import SupplementRequest as SupplementPayload
from cases.results import check_result_not_held
from cases.selectors import REVEAL_ROLES
from cases.timeline import applicant_label
from cases.workflow import definition_code, definition_of
from catalog.form_schema import APPLICANT_FIELDS, parse_form_fields, validate_form_data
from catalog.models import Audience, ItemVersion, ListVersion
from catalog.offers import offer_for
from core.actors import Actor, user_of
from core.assurance import Assurance, rank
from core.calendar import DateWindow
from core.exceptions import ProblemList, RuleViolation
from core.models import Division, Organisation, PersonalDataAccess
from core.process import Transition
from core.selectors import nearest_division
from core.validators import normalize_mobile
from halls.models import Window
from halls.services import check_intake, intake_window

# Numbers ---------------------------------------------------------------------------------


def next_case_number(day: dt.date) -> str:
    """`<node code>-<yyyymmdd>-<6-digit sequence of the day>`, e.g. `LN-20261128-000042`."""
    for _ in range(3):
        if CaseNumberSequence.objects.filter(day=day).update(last=F("last") + 1):
            break
        try:
            with transaction.atomic():
                CaseNumberSequence.objects.create(day=day, last=1)
            break
        except IntegrityError:
            continue
    last = CaseNumberSequence.objects.get(day=day).last
    return f"{settings.NODE_CODE}-{day:%Y%m%d}-{last:06d}"


# Starting a case ---------------------------------------------------------------------------


def applicant_values(*, person: Person | None, company: Company | None) -> dict[str, str]:
    """The answers of the form fields that name the applicant (catalog.form_schema
    APPLICANT_FIELDS), from the applicant's own record."""
    if person is not None:
        own = {"name": person.name, "id_number": person.id_number}
        return {field: own[attr] for field, attr in APPLICANT_FIELDS["person"].items()}
    assert company is not None
    own = {"name": company.name, "uscc": company.uscc}
    return {field: own[attr] for field, attr in APPLICANT_FIELDS["company"].items()}


def clean_form(
    item_version: ItemVersion,
    form_data: dict[str, Any],
    *,
    person: Person | None,
    company: Company | None,
) -> dict[str, Any]:
    """The answers checked against the item version's form schema, normalised. The fields
    that name the applicant are theirs: filled from the applicant's record, and another
    value is refused (`applicant_mismatch`) — 本人 is whoever applies, never someone typed."""
    fields = parse_form_fields(item_version.form_fields, ProblemList())
    names = {f.name for f in fields}
    answers = dict(form_data)
    problems = ProblemList()
    for name, value in applicant_values(person=person, company=company).items():
        if name not in names:
            continue
        given = str(answers.get(name) or "").strip()
        if given and _normalised(given) != _normalised(value):
            problems.add("须与申请人本人的实名信息一致", field=name)
        answers[name] = value
    problems.raise_if_any(
        "applicant_mismatch", "申请表中的申请人信息与申请人本人不一致（本人申请时取实名信息）"
    )
    return validate_form_data(fields, answers)


def _normalised(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().upper()


def clean_delivery(
    item_version: ItemVersion,
    *,
    method: str,
    address: str,
    mobile: str,
    person: Person | None,
) -> tuple[str, str, str]:
    """The 送达 choice checked: one of the ways the item offers (`result_delivery`;
    electronic when none is given and it is offered, else the first the item lists); for
    post, an address (省市区县 and street, 5–200 characters) and a mobile number (the
    applicant's own when none is given). Other ways keep no address."""
    offered = [m for m in item_version.result_delivery or [] if m in Case.DeliveryMethod.values]
    method = (method or "").strip()
    if not method:
        method = (
            Case.DeliveryMethod.ELECTRONIC
            if Case.DeliveryMethod.ELECTRONIC in offered or not offered
            else offered[0]
        )
    if method not in Case.DeliveryMethod.values:
        raise RuleViolation(
            "delivery_method_unknown",
            "送达方式应为电子送达、窗口领取或邮寄送达",
            field="delivery_method",
        )
    if offered and method not in offered:
        labels = "、".join(Case.DeliveryMethod(m).label for m in offered)
        raise RuleViolation(
            "delivery_not_offered",
            f"“{item_version.name}”的办理结果可{labels}，不能{Case.DeliveryMethod(method).label}",
            field="delivery_method",
        )
    if method != Case.DeliveryMethod.POST:
        return method, "", ""
    address = unicodedata.normalize("NFKC", address or "").strip()
    if not 5 <= len(address) <= 200:
        raise RuleViolation(
            "delivery_address_required",
            "选择邮寄送达时，请填写邮寄地址（省、市、区县及详细地址，5—200 字）",
            field="delivery_address",
        )
    mobile = (mobile or "").strip() or (person.mobile if person is not None else "")
    try:
        mobile = normalize_mobile(mobile)
    except ValidationError as exc:
        raise RuleViolation(
            "delivery_invalid",
            f"收件人手机号码有误：{exc.messages[0]}",
            field="delivery_mobile",
        ) from exc
    return method, address, mobile


def open_case(
    *,
    number: str,
    item_version: ItemVersion,
    workflow: WorkflowDefinition,
    mode: str,
    state: str,
    form_data: dict[str, Any],
    person: Person | None,
    company: Company | None,
    submitted_by: Any,
    receiving_org: Organisation,
    handling_org: Organisation,
    channel: str,
    scope: str,
    place: Division | None,
    list_version: ListVersion | None = None,
    window: Window | None = None,
    assisted: bool = False,
    idempotency_key: str = "",
    counterpart_node: str = "",
    submitted_at: dt.datetime | None = None,
    delivery: tuple[str, str, str] = (Case.DeliveryMethod.ELECTRONIC, "", ""),
) -> Case:
    """The one place a case row is made — applied for here, forwarded by the node that
    received it, or sent to this node for a 多地联办 step. The form is checked against the
    pinned item version wherever it comes from; the state must be one of the definition."""
    if (person is None) == (company is None):
        raise RuleViolation("applicant_required", "须指明一个申请人（自然人或法人）")
    if state not in PROCESS.parsed(workflow).states:
        raise RuleViolation("workflow_mismatch", f"流程 {workflow.code} 没有状态 {state}")
    return Case.objects.create(
        number=number,
        item_version=item_version,
        workflow=workflow,
        mode=mode,
        channel=channel,
        scope=scope,
        place=place,
        list_version=list_version,
        state=state,
        applicant_person=person,
        applicant_company=company,
        applicant_name=person.name if person else company.name,  # type: ignore[union-attr]
        submitted_by=submitted_by,
        assisted=assisted,
        idempotency_key=idempotency_key,
        receiving_org=receiving_org,
        window=window,
        handling_org=handling_org,
        form_data=clean_form(item_version, form_data, person=person, company=company),
        counterpart_node=counterpart_node,
        submitted_at=submitted_at,
        delivery_method=delivery[0],
        delivery_address=delivery[1],
        delivery_mobile=delivery[2],
    )


def place_of(
    *,
    place: Division | None,
    channel: str,
    window: Window | None,
    person: Person | None,
    company: Company | None,
    item_version: ItemVersion,
) -> Division:
    """Where the applicant is served: the division of the hall of the receiving window;
    online, the division the applicant gave, else the one their ID number or 统一社会信用代码
    was issued in (if this node knows it), else the item's own."""
    if channel == Case.Channel.WINDOW and window is not None:
        return window.hall.division
    if place is not None:
        return place
    code = person.id_number[:6] if person is not None else company.uscc[2:8]  # type: ignore[union-attr]
    return nearest_division(code) or item_version.item.division


def check_online_applicant(
    item_version: ItemVersion, actor: Actor, *, company: Company | None
) -> None:
    """Who applies online must have signed in at the level the item requires
    (`assurance_too_low`), and an agent must be authorised for this item
    (accounts.agents.check_agent). At a window the clerk checks the identity in person; a
    department system filing for an applicant answers for its own checks (decision 211)."""
    required = item_version.assurance_level
    level = level_of(actor)
    if rank(level) < rank(required):
        raise RuleViolation(
            "assurance_too_low",
            f"该事项须以“{Assurance(required).label}”的身份认证等级申请，"
            f"您本次登录为“{Assurance(level).label if rank(level) else level}”",
            status=403,
        )
    if company is not None:
        check_agent(company, actor, action=AgentAction.APPLY, item_code=item_version.item.code)


@transaction.atomic
def start_case(
    *,
    item_version: ItemVersion,
    form_data: dict[str, Any],
    actor: Actor,
    person: Person | None = None,
    company: Company | None = None,
    channel: str = Case.Channel.ONLINE,
    window: Window | None = None,
    place: Division | None = None,
    mode: str | None = None,
    assisted: bool = False,
    idempotency_key: str = "",
    delivery_method: str = "",
    delivery_address: str = "",
    delivery_mobile: str = "",
) -> Case:
    """Open a draft case for an applicant under the item version in force.

    A window case is taken in at a window (专窗) that receives the item, by a clerk
    assigned to it (`halls.services.check_intake`: `window_not_receiving`,
    `window_clerk_not_assigned`); the window's organisation receives it. The scope and mode are decided by the catalog's 通办 rules for where the applicant is
    served (`catalog.offers.offer_for`): refused if the item is not offered there, in that
    mode, or through that channel. The form is validated against the version's form
    schema. A repeated idempotency key returns the case it made, if the request is the
    same, and is refused otherwise."""
    user = user_of(actor)
    if user is None:
        raise RuleViolation("actor_required", "须以登录账号办理")
    if (person is None) == (company is None):
        raise RuleViolation("applicant_required", "须指明一个申请人（自然人或法人）")
    if not item_version.is_published:
        raise RuleViolation("item_version_not_published", "该事项版本未发布，不能申请")
    kind = Audience.PERSON if person is not None else Audience.COMPANY
    if not Audience.serves(item_version.audience, kind):
        raise RuleViolation(
            "audience_mismatch", f"该事项的服务对象为{item_version.get_audience_display()}"
        )
    if channel == Case.Channel.ONLINE:
        check_online_applicant(item_version, actor, company=company)
    receiving_org: Organisation | None = None
    if channel == Case.Channel.WINDOW:
        if window is None:
            raise RuleViolation("window_required", "窗口收件须指明收件窗口", field="window")
        check_intake(window, item_version.item, actor=actor)
        receiving_org = window.organisation
    else:
        window = None
    where = place_of(
        place=place,
        channel=channel,
        window=window,
        person=person,
        company=company,
        item_version=item_version,
    )
    offer = offer_for(item_version, place=where, channel=channel, mode=mode)
    check_result_not_held(item_version, person=person, company=company)
    delivery = clean_delivery(
        item_version,
        method=delivery_method,
        address=delivery_address,
        mobile=delivery_mobile,
        person=person,
    )
    cleaned = clean_form(item_version, form_data, person=person, company=company)
    if idempotency_key:
        existing = Case.objects.filter(submitted_by=user, idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.item_version_id != item_version.pk or existing.form_data != cleaned:
                raise RuleViolation(
                    "idempotency_key_reused", "该幂等键已用于另一份申请", status=409
                )
            return existing
    handling_org = item_version.item.organisation
    workflow = current_definition(definition_code(offer.mode))
    case = open_case(
        number=next_case_number(timeline.today()),
        item_version=item_version,
        workflow=workflow,
        mode=offer.mode,
        state=PROCESS.parsed(workflow).initial,
        form_data=cleaned,
        person=person,
        company=company,
        submitted_by=user,
        receiving_org=receiving_org or handling_org,
        handling_org=handling_org,
        window=window,
        channel=channel,
        assisted=assisted,
        idempotency_key=idempotency_key,
        counterpart_node=handling_org.node,
        scope=offer.scope,
        place=where,
        list_version=offer.list_version,
        delivery=delivery,
    )
    timeline.record_event(
        case,
        actor=actor,
        action="start",
        to_state=case.state,
        note="代办帮办" if assisted else "",
        data={
            "item": item_version.item.code,
            "version": item_version.number,
            "scope": offer.scope,
            "mode": offer.mode,
            "place": where.code,
            "delivery": delivery[0],
        },
    )
    return case


@transaction.atomic
def update_draft_form(
    case: Case,
    *,
    form_data: dict[str, Any],
    actor: Actor,
    delivery: dict[str, str] | None = None,
) -> Case:
    """Change the answers of an application not yet submitted (the applicant, or the
    receiving window's clerk), and the 送达 choice when `delivery` is given. They are validated again against the pinned item version;
    once the case has left its initial state the form is part of the record and frozen."""
    case = (
        Case.objects.select_for_update().select_related("workflow", "item_version").get(pk=case.pk)
    )
    if case.state != definition_of(case).initial:
        raise RuleViolation("form_locked", "申请已提交，申请表不能再修改", status=409)
    org = applicant_side(case, actor, agent_action=AgentAction.APPLY)
    cleaned = clean_form(
        case.item_version,
        form_data,
        person=case.applicant_person,
        company=case.applicant_company,
    )
    if delivery is not None:
        chosen = clean_delivery(
            case.item_version,
            method=delivery.get("method") or "",
            address=delivery.get("address") or "",
            mobile=delivery.get("mobile") or "",
            person=case.applicant_person,
        )
        before = (case.delivery_method, case.delivery_address, case.delivery_mobile)
        if chosen != before:
            case.delivery_method, case.delivery_address, case.delivery_mobile = chosen
            case.save(update_fields=["delivery_method", "delivery_address", "delivery_mobile"])
            timeline.record_event(
                case,
                actor=actor,
                action="update_delivery",
                organisation=org,
                data={"delivery": chosen[0]},
            )
    if cleaned != case.form_data:
        changed = sorted(
            name
            for name in set(cleaned) | set(case.form_data or {})
            if cleaned.get(name) != (case.form_data or {}).get(name)
        )
        case.form_data = cleaned
        case.save(update_fields=["form_data"])
        timeline.record_event(
            case, actor=actor, action="update_form", organisation=org, data={"fields": changed}
        )
    return case


# Effects of the case's own actions (registered in CasesConfig.ready) -------------------------


def mark_submitted(t: Transition[Case]) -> None:
    """The moment the application leaves the applicant's side — refused if meanwhile the
    applicant came to hold a result the item cannot give twice."""
    case = t.process
    check_result_not_held(
        case.item_version, person=case.applicant_person, company=case.applicant_company
    )
    t.process.submitted_at = timezone.now()
    t.changed.add("submitted_at")


def request_supplement(t: Transition[Case]) -> None:
    """一次性告知: every material to supplement, listed at once, with a due date no later
    than the promised limit (at least five days) after today."""
    case, payload = t.process, t.payload
    assert isinstance(payload, SupplementPayload)
    if not payload.materials:
        raise RuleViolation(
            "supplement_materials_required", "请一次性列出需补正的全部材料", field="materials"
        )
    requested = list(case.item_version.materials.filter(pk__in=payload.materials))
    if len(requested) != len(set(payload.materials)):
        raise RuleViolation(
            "material_not_of_item", "所列材料不全是该事项的申请材料", field="materials"
        )
    if payload.due_date is None:
        raise RuleViolation(
            "supplement_due_invalid", "请填写补正期限（YYYY-MM-DD）", field="due_date"
        )
    window = supplement_due_window(case, t.today)
    if payload.due_date not in window:
        raise RuleViolation(
            "supplement_due_beyond_limit", f"补正期限{window.hint}", field="due_date"
        )
    request = SupplementRequest.objects.create(case=case, note=t.note, due_date=payload.due_date)
    request.materials.set(requested)
    case.state_due_date = payload.due_date


def fulfil_supplement(t: Transition[Case]) -> None:
    """补正 given: every material asked for has been given again since the request."""
    case = t.process
    request = (
        case.supplement_requests.filter(fulfilled_at__isnull=True).order_by("-requested_at").first()
    )
    if request is None:
        return
    fresh = set(
        case.materials.filter(
            status=CaseMaterial.Status.PROVIDED, uploaded_at__gte=request.requested_at
        ).values_list("requirement_id", flat=True)
    )
    outstanding = [m.name for m in request.materials.all() if m.pk not in fresh]
    if outstanding:
        raise RuleViolation("supplement_incomplete", "尚未补正：" + "、".join(outstanding))
    request.fulfilled_at = timezone.now()
    request.save(update_fields=["fulfilled_at"])


def check_special_procedure(t: Transition[Case]) -> None:
    """特别程序 only as the item's guide lists them."""
    payload = t.payload
    assert isinstance(payload, SpecialProcedure)
    names = [p.get("name") for p in t.process.item_version.special_procedures or []]
    if payload.procedure not in names:
        raise RuleViolation(
            "special_procedure_unknown",
            "该事项的特别程序为：" + ("、".join(map(str, names)) or "无"),
            field="procedure",
        )


def record_outcome_note(t: Transition[Case]) -> None:
    """A decision that ends or refuses keeps its reasons on the case."""
    t.process.outcome_note = t.note[:500]
    t.changed.add("outcome_note")


# Periodic work ---------------------------------------------------------------------------------


def refresh_warnings(on: dt.date | None = None) -> dict[str, int]:
    """Recompute the yellow/red warning of every running case; return how many of each."""
    return PROCESS.refresh_warnings(on)


# Applying, as one call for the API and the pages ----------------------------------------------


@transaction.atomic
def apply(
    *,
    actor: Actor,
    item_version: ItemVersion,
    form_data: dict[str, Any],
    on_behalf_of: dict[str, Any] | None = None,
    company_uscc: str | None = None,
    assisted: bool = False,
    idempotency_key: str = "",
    submit: bool = False,
    place: Division | None = None,
    window: Window | None = None,
    delivery: dict[str, str] | None = None,
) -> Case:
    """Open (and optionally submit) a case, working out who the applicant is and where the
    case is received (`place`: where an applicant applying online lives; see `place_of`):

    - a citizen applies for themself; a company agent names the company (`company_uscc`);
    - a window clerk applies on behalf of a person or company (`on_behalf_of`) at one of
      the windows they are assigned to (`window`; the only one when they staff one),
      received by the window's organisation — 代办帮办 when `assisted`; a different
      organisation than the item's owner makes it a 异地代收代办 (proxy) case;
    - a department system (any other staff role) files on behalf of an applicant, received
      by the item's own organisation.
    """
    user = user_of(actor)
    if user is None:
        raise RuleViolation("actor_required", "须以登录账号办理", status=401)
    person: Person | None = None
    company: Company | None = None
    channel: str = Case.Channel.ONLINE
    at_window: Window | None = None
    if on_behalf_of is not None:
        roles = list(StaffRole.objects.filter(user=user).select_related("organisation"))
        if not roles:
            raise RuleViolation("action_forbidden", "只有工作人员可以代他人申请", status=403)
        if any(r.role == Role.WINDOW_CLERK for r in roles):
            channel = Case.Channel.WINDOW
            at_window = intake_window(actor, window, item_version.item)
        else:
            channel = Case.Channel.API
        if on_behalf_of.get("kind") == "company":
            company = register_company(
                uscc=on_behalf_of.get("uscc") or "",
                name=on_behalf_of.get("name") or "",
                legal_representative=on_behalf_of.get("legal_representative") or "",
                actor=actor,
            )
        else:
            person = register_person(
                name=on_behalf_of.get("name") or "",
                id_number=on_behalf_of.get("id_number") or "",
                mobile=on_behalf_of.get("mobile") or "",
                actor=actor,
            )
    elif company_uscc:
        # Whether this user may apply for it, and for this item, start_case asks (check_agent).
        company = Company.objects.filter(uscc=company_uscc.strip().upper()).first()
        if company is None:
            raise RuleViolation("company_not_authorised", "您不是该法人的经办人", status=403)
    else:
        person = Person.objects.filter(user=user).first()
        if person is None:
            raise RuleViolation("person_not_registered", "请先完成实名登记", status=403)
    if assisted and channel != Case.Channel.WINDOW:
        raise RuleViolation("assisted_window_only", "代办帮办须由窗口人员办理")
    case = start_case(
        item_version=item_version,
        form_data=form_data,
        actor=actor,
        person=person,
        company=company,
        channel=channel,
        window=at_window,
        place=place,
        assisted=assisted,
        idempotency_key=idempotency_key,
        delivery_method=(delivery or {}).get("method") or "",
        delivery_address=(delivery or {}).get("address") or "",
        delivery_mobile=(delivery or {}).get("mobile") or "",
    )
    if submit:
        spec = definition_of(case).action_with_effect(case.state, "mark_submitted")
        if spec is None:
            raise RuleViolation("submit_not_possible", "该办件当前不能直接提交", status=409)
        case = take_action(case, spec.name, actor=actor)
    return case


def supplement_due_window(case: Case, today: dt.date | None = None) -> DateWindow:
    """The dates a 补正 may be due: after today, within the promised limit (at least five
    days) on the case's calendar. The console shows it under the field before any error."""
    today = today or timeline.today()
    latest = PROCESS.days_after(case, today, max(case.item_version.promised_limit, 5)).date
    return DateWindow(today + dt.timedelta(days=1), latest)


# Named date windows of action payloads (a payload field's `window`), for the forms.
DATE_WINDOWS = {"supplement_due": supplement_due_window}


def reveal_form(case: Case, *, viewer: Actor, purpose: str) -> dict[str, Any]:
    """The application form in clear, for staff handling the case, with the read logged.

    The applicant sees their own form in clear anyway; other parties get masked values from
    `selectors.masked_form` and must state a purpose here."""
    user = staff_user(viewer, REVEAL_ROLES, [case.handling_org_id, case.receiving_org_id])
    if user is None:
        raise RuleViolation("action_forbidden", "无权查看完整个人信息", status=403)
    if len(purpose.strip()) < 2:
        raise RuleViolation("purpose_required", "请说明查看用途")
    PersonalDataAccess.objects.create(
        actor=user,
        subject=applicant_label(case),
        context=f"办件 {case.number}",
        purpose=purpose.strip()[:200],
        fields=sorted(case.form_data or {}),
    )
    return dict(case.form_data or {})
