"""Every change to halls, windows, their clerks and consultations; and the one rule of
intake every entry of a window case asks (`check_intake`, called by
`cases.services.start_case`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Role, StaffRole
from catalog.models import ItemList, ServiceItem
from catalog.selectors import current_item_versions
from core.actors import Actor, user_of
from core.exceptions import ProblemList, RuleViolation
from core.models import Division, Organisation
from core.personal_data import mask_mobile, mask_name, scrub
from core.services import record_audit
from core.validators import normalize_mobile
from halls.models import Consultation, ServiceHall, Window
from halls.selectors import window_receives

# Halls and windows ---------------------------------------------------------------------------


@transaction.atomic
def save_hall(
    *,
    code: str,
    name: str,
    organisation: Organisation,
    division: Division,
    address: str,
    opening_hours: str,
    phone: str,
    actor: Actor,
    kind: str = ServiceHall.Kind.CENTRE,
    directions: str = "",
) -> ServiceHall:
    """Create or update the hall with `code`. A hall sits in a division of this node's
    province and is run by one of this node's organisations."""
    problems = ProblemList()
    if not organisation.is_local:
        problems.add("运行机构须为本节点的机构", field="organisation")
    if kind not in ServiceHall.Kind.values:
        problems.add(f"未知的大厅类型：{kind}", field="kind")
    for value, label, name_ in (
        (name, "名称", "name"),
        (address, "地址", "address"),
        (opening_hours, "办公时间", "opening_hours"),
        (phone, "咨询电话", "phone"),
    ):
        if not value.strip():
            problems.add(f"请填写{label}", field=name_)
    problems.raise_if_any("hall_invalid", "服务大厅信息不完整")
    hall, created = ServiceHall.objects.update_or_create(
        code=code,
        defaults={
            "name": name.strip(),
            "kind": kind,
            "organisation": organisation,
            "division": division,
            "address": address.strip(),
            "opening_hours": opening_hours.strip(),
            "phone": phone.strip(),
            "directions": directions.strip(),
        },
    )
    record_audit(
        actor=actor,
        action="create_hall" if created else "update_hall",
        obj=hall,
        summary=f"{'新增' if created else '更新'}服务大厅 {hall.name}",
    )
    return hall


@transaction.atomic
def save_window(
    hall: ServiceHall,
    *,
    number: str,
    name: str,
    actor: Actor,
    organisation: Organisation | None = None,
    lists: Iterable[ItemList] = (),
    items: Iterable[ServiceItem] = (),
) -> Window:
    """Create or update the window `number` of `hall` and set what it receives (入驻): the
    lists (every item in force on them) and single items. Cases taken in at it are
    received by `organisation`, the hall's unless a department staffs the window."""
    organisation = organisation or hall.organisation
    if not organisation.is_local:
        raise RuleViolation(
            "window_invalid", "窗口的受理机构须为本节点的机构", field="organisation"
        )
    if not number.strip() or not name.strip():
        raise RuleViolation("window_invalid", "请填写窗口号和名称")
    window, created = Window.objects.update_or_create(
        hall=hall,
        number=number.strip(),
        defaults={"name": name.strip(), "organisation": organisation},
    )
    window.lists.set(list(lists))
    window.items.set(list(items))
    record_audit(
        actor=actor,
        action="create_window" if created else "update_window",
        obj=window,
        summary=f"{'新增' if created else '更新'}窗口 {window}",
        data={
            "lists": sorted(lst.code for lst in window.lists.all()),
            "items": sorted(i.code for i in window.items.all()),
        },
    )
    return window


def _is_clerk_of(user: Any, organisation_id: int) -> bool:
    return StaffRole.objects.filter(
        user=user, role=Role.WINDOW_CLERK, organisation_id=organisation_id
    ).exists()


@transaction.atomic
def assign_clerk(window: Window, user: User, *, actor: Actor) -> Window:
    """Assign a window clerk to `window`: they must hold the window-clerk role at the
    organisation that receives there."""
    if not _is_clerk_of(user, window.organisation_id):
        raise RuleViolation(
            "clerk_role_missing",
            f"{user.get_username()} 不是{window.organisation.name}的窗口人员，不能指派到该窗口",
        )
    window.clerks.add(user)
    record_audit(
        actor=actor,
        action="assign_window_clerk",
        obj=window,
        summary=f"指派窗口人员 {user.get_username()} 到 {window}",
    )
    return window


@transaction.atomic
def unassign_clerk(window: Window, user: User, *, actor: Actor) -> Window:
    window.clerks.remove(user)
    record_audit(
        actor=actor,
        action="unassign_window_clerk",
        obj=window,
        summary=f"撤销窗口人员 {user.get_username()} 在 {window} 的指派",
    )
    return window


# Intake ----------------------------------------------------------------------------------------


def check_intake(window: Window, item: ServiceItem, *, actor: Actor) -> None:
    """The rule of window intake: the clerk is assigned to the window (and still holds the
    window-clerk role of its organisation), and the window receives the item. Refusals:
    `window_clerk_not_assigned` (403), `window_not_receiving` (422)."""
    user = user_of(actor)
    if (
        user is None
        or not window.clerks.filter(pk=user.pk).exists()
        or not _is_clerk_of(user, window.organisation_id)
    ):
        raise RuleViolation(
            "window_clerk_not_assigned",
            f"您未被指派到{window}，不能在该窗口收件",
            status=403,
            field="window",
        )
    if not window_receives(window, item):
        raise RuleViolation(
            "window_not_receiving",
            f"{window}未入驻该事项，请引导申请人到入驻该事项的窗口办理",
            field="window",
        )


def intake_window(actor: Actor, window: Window | None, item: ServiceItem) -> Window:
    """The window a clerk takes a case for `item` in at: the one named, else the only one
    of theirs that receives the item. `window_clerk_not_assigned` (403) when they staff
    none, `window_not_receiving` when none of theirs receives it, `window_required` (422)
    when several do and none was named."""
    if window is not None:
        return window
    user = user_of(actor)
    windows = list(
        Window.objects.filter(clerks=user).select_related("hall__division", "organisation")
    )
    if not windows:
        raise RuleViolation(
            "window_clerk_not_assigned", "您未被指派到任何窗口，不能收件", status=403
        )
    receiving = [w for w in windows if window_receives(w, item)]
    if not receiving:
        raise RuleViolation(
            "window_not_receiving",
            "您所在的窗口均未入驻该事项，请引导申请人到入驻该事项的窗口办理",
            field="window",
        )
    if len(receiving) > 1:
        raise RuleViolation(
            "window_required", "您所在的多个窗口均入驻该事项，请选择收件窗口", field="window"
        )
    return receiving[0]


# Consultations ---------------------------------------------------------------------------------


@transaction.atomic
def record_consultation(
    window: Window,
    *,
    question: str,
    outcome: str,
    actor: Actor,
    item: ServiceItem | None = None,
    item_name: str = "",
    asker_name: str = "",
    asker_contact: str = "",
    answer: str = "",
    case_number: str = "",
) -> Consultation:
    """Record a counter consultation (咨询辅导) at `window`, by a clerk assigned to it. The
    name and contact are kept encrypted with masked copies; the question and the answer
    are scrubbed of ID and mobile numbers."""
    user = user_of(actor)
    if user is None or not window.clerks.filter(pk=user.pk).exists():
        raise RuleViolation(
            "window_clerk_not_assigned", f"您未被指派到{window}，不能登记咨询", status=403
        )
    problems = ProblemList()
    question = scrub(question.strip())
    if not question:
        problems.add("请填写咨询内容", field="question")
    if outcome not in Consultation.Outcome.values:
        problems.add("请选择咨询结果", field="outcome")
    contact = ""
    if asker_contact.strip():
        try:
            contact = normalize_mobile(asker_contact)
        except ValidationError as exc:
            problems.add(exc.messages[0], field="asker_contact")
    if outcome == Consultation.Outcome.APPLIED and not case_number.strip():
        problems.add("当场受理的，请填写办件编号", field="case_number")
    problems.raise_if_any("consultation_invalid", "咨询登记信息有误")
    item_name = item_name.strip()[:200]
    if item is not None:
        version = current_item_versions().filter(item=item).first()
        item_name = version.name if version else item.code
    name = asker_name.strip()[:30]
    consultation = Consultation.objects.create(
        window=window,
        clerk=user,
        item=item,
        item_name=item_name,
        asker_name=name,
        asker_name_masked=mask_name(name),
        asker_contact=contact,
        asker_contact_masked=mask_mobile(contact) if contact else "",
        question=question[:500],
        answer=scrub(answer.strip()),
        outcome=outcome,
        case_number=case_number.strip()[:40],
    )
    record_audit(
        actor=actor,
        action="record_consultation",
        obj=consultation,
        summary=f"{window} 登记咨询（{consultation.get_outcome_display()}）",
    )
    return consultation
