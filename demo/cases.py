"""Demo cases: a handful of applications by the demo citizens and company, each moved by
the demo staff through the real services to a different point of its workflow, so that
the console inboxes and "my cases" have something to show after `make run`.

The cases belong to the node's demo data (`SCENARIOS`, by `settings.NODE_ID`). The
Liaoning node has these:

| Applicant | Item (owner) | Where it stands |
| --- | --- | --- |
| citizen-wangfang | 社会保障卡申领 (省人社厅) | draft, one material uploaded |
| citizen-liuyang | 新生儿入户 (大连市公安局), her first child | approved: her 居民户口簿 issued |
| citizen-liuyang | 新生儿入户 (大连市公安局), her second child | submitted, waiting for acceptance (approving it re-issues the 户口簿) |
| citizen-zhaozihan | 户口迁移（大中专院校录取学生） (大连市公安局) | under review, supplement requested (clock paused) |
| citizen-sunhaoran | 首次申领居民身份证 (大连市公安局, taken in at its window) | 工本费 paid in cash at the window; approved (his 居民身份证 licence issued), result not yet issued |
| citizen-sunhaoran | 社会保障卡申领 (省人社厅) | draft, 居民身份证 given as that licence (免提交) |
| citizen-chenjing | 学历公证 (沈阳公证处) | fee paid online (local gateway); closed, archived; the 办理结果证明 in her 证照夹, delivered at the window |
| citizen-wangfang | 学历公证 (沈阳公证处) | 待缴费: 80 元 to pay online or at the window before acceptance |
| citizen-chenjing | 新生儿入户 ×2 (大连市公安局) | both approved: the second re-issued her 居民户口簿 (第 2 版), the first version 已换发 |
| citizen-zhoumin | 户口迁移（夫妻投靠） (大连市公安局) | 容缺受理: under review, result withheld until the missing material comes |
| agent-haichen | 工业产品生产许可证核发 (省市场监管局) | 告知承诺: decided and closed, verification (核查) open |
| citizen-lijianguo | 开具户籍类证明 (沈阳市公安局) | 代办帮办 at the 大连市公安局 window, forwarded to 沈阳 (异地代收代办) |

The other nodes have one small case each, so that their inboxes are not empty:

| Node | Applicant | Item (owner) | Where it stands |
| --- | --- | --- | --- |
| jilin | citizen-liuxin | 就业登记 (长春市人社局) | submitted, waiting for acceptance |
| heilongjiang | citizen-sunyue | 无犯罪记录证明 (黑龙江省公安厅) | submitted, waiting for acceptance |
| neimenggu | citizen-wuyun | 社会保障卡申领 (内蒙古自治区人社厅) | accepted, under review |

Approving a case of an item whose result is a licence issues the licence, as on any node:
孙浩然's 居民身份证 and the 大连海辰 全国工业产品生产许可证 land in their 证照夹, and the
second case of 孙浩然 reuses the first licence in place of the paper material.

Made once: if any demo applicant already has a case, nothing is done (so `load_demo`
twice changes nothing, and cases moved on by hand are left alone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Person
from cases import commitments, payment, services
from cases import materials as case_materials
from cases.engine import PROCESS, take_action
from cases.models import Case
from catalog.models import ItemVersion, Material
from catalog.selectors import current_item_versions
from core.exceptions import RuleViolation
from demo.pdf import demo_pdf
from demo.users import DemoAccounts, demo_accounts, staff_username
from licences.models import Licence
from payments.gateways import LocalGateway
from payments.selectors import open_payment_of
from payments.services import receive_notice


class _Demo:
    """Looks up the demo accounts and items the scenarios below name."""

    def __init__(self, data: DemoAccounts) -> None:
        self.data = data
        self.slug_to_uscc = {slug: code for code, slug in data.slugs.items()}
        self.today = timezone.localdate()
        users = get_user_model().objects.filter(
            username__in=data.staff_usernames() + data.applicant_usernames()
        )
        self.users: dict[str, User] = {u.username: u for u in users}

    def user(self, username: str) -> User:
        try:
            return self.users[username]
        except KeyError:
            raise RuleViolation("demo_user_missing", f"演示账号 {username} 不存在") from None

    def staff(self, slug: str, role: str) -> User:
        return self.user(staff_username(slug, role))

    def applicant(self, username: str) -> tuple[Person, User]:
        user = self.user(username)
        return Person.objects.get(user=user), user

    def version(self, slug: str, name: str) -> ItemVersion:
        """The version in force of the item called `name` owned by organisation `slug`."""
        version = (
            current_item_versions()
            .filter(item__organisation__uscc=self.slug_to_uscc[slug], name=name)
            .first()
        )
        if version is None:
            raise RuleViolation("demo_item_missing", f"演示目录中没有 {slug} 的事项“{name}”")
        return version

    def personal_fields(self, person: Person) -> dict[str, str]:
        return {
            "applicant_name": person.name,
            "id_number": person.id_number,
            "phone": person.mobile,
        }

    def days_ago(self, days: int) -> str:
        return (self.today - dt.timedelta(days=days)).isoformat()


def _upload(case: Case, actor: User, *, only: list[str] | None = None, custody: str = "") -> None:
    """Upload a demo PDF for each material still missing (or for the ones named)."""
    missing = case_materials.missing_materials(case)
    materials: list[Material] = (
        [m for m in case.item_version.materials.all() if m.name in only] if only else missing
    )
    for material in materials:
        content = demo_pdf(
            material.name,
            [
                "Tongban demo material - not a real document",
                f"Case {case.number}",
                f"Material {material.position} of item {case.item_version.item.code}",
            ],
        )
        case_materials.add_material(
            case,
            material,
            content=content,
            name=f"{material.name}.pdf",
            actor=actor,
            paper_custody=custody,
        )


def _applied(
    demo: _Demo, username: str, slug: str, item: str, fields: dict[str, str]
) -> tuple[Case, User]:
    """A citizen's online application with every material uploaded, not yet submitted."""
    person, user = demo.applicant(username)
    case = services.apply(
        actor=user,
        item_version=demo.version(slug, item),
        form_data={**demo.personal_fields(person), **fields},
    )
    _upload(case, user)
    return case, user


def _act(case: Case, steps: list[tuple[str, User]]) -> Case:
    for action, actor in steps:
        case = take_action(case, action, actor=actor)
    return case


# The scenarios, one per case ---------------------------------------------------------------


def _draft(demo: _Demo) -> Case:
    wang, wang_user = demo.applicant("citizen-wangfang")
    case = services.apply(
        actor=wang_user,
        item_version=demo.version("ln-rst", "社会保障卡申领"),
        form_data={
            **demo.personal_fields(wang),
            "bank": "盛京银行",
            "mailing_address": "大连市中山区人民路23号",
        },
    )
    _upload(case, wang_user, only=["居民身份证"])
    return case


def _submitted(demo: _Demo) -> Case:
    case, liu_user = _applied(
        demo,
        "citizen-liuyang",
        "dl-gaj",
        "新生儿入户",
        {
            "baby_name": "刘一诺",
            "birth_date": demo.days_ago(20),
            "birth_place": "210200",
            "household_kind": "家庭户",
            "household_address": "大连市沙河口区西安路128号",
        },
    )
    return take_action(case, "submit", actor=liu_user)


def _birth_registered(
    demo: _Demo, username: str, baby: str, born_days_ago: int, address: str
) -> Case:
    """A 新生儿入户 approved: the parent's 居民户口簿 is issued — or, if they hold one, re-issued
    (换发: the item's `held_result` is `reissue`), the old version then 已换发."""
    reviewer, approver = demo.staff("dl-gaj", "reviewer"), demo.staff("dl-gaj", "approver")
    case, user = _applied(
        demo,
        username,
        "dl-gaj",
        "新生儿入户",
        {
            "baby_name": baby,
            "birth_date": demo.days_ago(born_days_ago),
            "birth_place": "210200",
            "household_kind": "家庭户",
            "household_address": address,
        },
    )
    return _act(
        case,
        [("submit", user), ("accept", reviewer), ("start_review", reviewer), ("approve", approver)],
    )


def _household_book(demo: _Demo) -> Case:
    """刘洋 already holds a 居民户口簿 from her first child's registration; approving her
    waiting second one (`_submitted`) re-issues it."""
    return _birth_registered(demo, "citizen-liuyang", "刘一鸣", 700, "大连市沙河口区西安路128号")


def _household_first(demo: _Demo) -> Case:
    """陈静's first child: her 居民户口簿, superseded by the next registration."""
    return _birth_registered(demo, "citizen-chenjing", "陈思远", 900, "大连市中山区人民路23号")


def _household_reissued(demo: _Demo) -> Case:
    """陈静's second child: the 户口簿 re-issued (第 2 版), the first version 已换发."""
    return _birth_registered(demo, "citizen-chenjing", "陈思齐", 30, "大连市中山区人民路23号")


def _supplement_requested(demo: _Demo) -> Case:
    reviewer = demo.staff("dl-gaj", "reviewer")
    case, zhao_user = _applied(
        demo,
        "citizen-zhaozihan",
        "dl-gaj",
        "户口迁移（大中专院校录取学生）",
        {
            "move_from": "210300",
            "move_from_address": "鞍山市铁东区胜利南路15号",
            "move_to_address": "大连市甘井子区凌工路2号",
            "school": "大连理工大学",
            "enrol_date": demo.days_ago(10),
        },
    )
    case = _act(case, [("submit", zhao_user), ("accept", reviewer), ("start_review", reviewer)])
    notice = case.item_version.materials.get(name="录取通知书")
    return take_action(
        case,
        "request_supplement",
        actor=reviewer,
        note="录取通知书扫描件不清晰，请上传清晰的彩色扫描件（含学校印章）。",
        data={
            "materials": [notice.pk],
            "due_date": PROCESS.days_after(case, demo.today, 3).date.isoformat(),
        },
    )


def _approved(demo: _Demo) -> Case:
    """Approving issues the 居民身份证 electronic licence, its face taken from the form. A
    first ID card is applied for in person (its 申报方式 is the window only): the police
    window takes it in for 孙浩然 and his guardian."""
    sun, _ = demo.applicant("citizen-sunhaoran")
    clerk = demo.staff("dl-gaj", "window-clerk")
    reviewer, approver = demo.staff("dl-gaj", "reviewer"), demo.staff("dl-gaj", "approver")
    case = services.apply(
        actor=clerk,
        item_version=demo.version("dl-gaj", "首次申领居民身份证"),
        form_data={
            **demo.personal_fields(sun),
            "gender": "男",
            "ethnicity": "汉",
            "birth_date": "2010-03-08",
            "household_address": "大连市西岗区五四路66号",
            "guardian_name": "孙立军",
            "mailing_address": "大连市西岗区五四路66号",
        },
        on_behalf_of={
            "kind": "person",
            "name": sun.name,
            "id_number": sun.id_number,
            "mobile": sun.mobile,
        },
    )
    _upload(case, clerk, custody="户口簿原件已当场核验并退还")
    case = _act(
        case,
        [
            ("check_identity", clerk),
            ("check_materials", clerk),
            ("submit", clerk),
        ],
    )
    # 工本费 20 元, paid in cash at the window before the department accepts.
    case = payment.hold_if_due(case)
    payment.take_counter_payment(case, method="cash", reference="", actor=clerk)
    return _act(
        case,
        [("accept", reviewer), ("start_review", reviewer), ("approve", approver)],
    )


def _licence_reused(demo: _Demo) -> Case:
    """免提交: 孙浩然 applies for his social security card and gives the 居民身份证 licence
    issued by the approval above instead of a scan; the case stays a draft."""
    sun, sun_user = demo.applicant("citizen-sunhaoran")
    case = services.apply(
        actor=sun_user,
        item_version=demo.version("ln-rst", "社会保障卡申领"),
        form_data={
            **demo.personal_fields(sun),
            "bank": "中国银行",
            "mailing_address": "大连市西岗区五四路66号",
        },
    )
    requirement = case.item_version.materials.get(name="居民身份证")
    licence = Licence.objects.filter(
        holder_person=sun, licence_type=requirement.licence_type, status=Licence.Status.VALID
    ).first()
    if licence is None:
        raise RuleViolation("demo_licence_missing", "孙浩然没有可用的居民身份证电子证照")
    case_materials.use_licence(case, requirement, licence, actor=sun_user)
    return case


def _closed(demo: _Demo) -> Case:
    chen, chen_user = demo.applicant("citizen-chenjing")
    reviewer, approver = demo.staff("sy-gzc", "reviewer"), demo.staff("sy-gzc", "approver")
    case = services.apply(
        actor=chen_user,
        item_version=demo.version("sy-gzc", "学历公证"),
        form_data={**demo.personal_fields(chen), "destination": "加拿大", "copies": "2"},
    )
    _upload(case, chen_user)
    case = payment.hold_if_due(take_action(case, "submit", actor=chen_user))
    _pay_online(case)
    return _act(
        case,
        [
            ("accept", reviewer),
            ("start_review", reviewer),
            ("approve", approver),
            ("issue_result", reviewer),
            ("deliver", reviewer),
            ("close", approver),
        ],
    )


def _pay_online(case: Case) -> None:
    """The applicant pays the case's payment at the local gateway's cashier: its signed
    notice settles the payment and releases the case, as when paid in the browser."""
    due = open_payment_of(case.number)
    if due is None:
        raise RuleViolation("demo_payment_missing", f"办件 {case.number} 没有待缴费用")
    body, signature = LocalGateway().take_payment(due.order_number, due.amount_text)
    receive_notice(body, signature, gateway_code=LocalGateway.code)


def _awaiting_payment(demo: _Demo) -> Case:
    """学历公证 charges 80 元: 王芳's application waits in 待缴费 until she pays online (the
    local gateway's cashier) or at the window."""
    case, wang_user = _applied(
        demo,
        "citizen-wangfang",
        "sy-gzc",
        "学历公证",
        {"destination": "澳大利亚", "copies": "1"},
    )
    return payment.hold_if_due(take_action(case, "submit", actor=wang_user))


def _deficiency(demo: _Demo) -> Case:
    """容缺受理: the proof of the new residence is promised for later."""
    zhou, zhou_user = demo.applicant("citizen-zhoumin")
    reviewer = demo.staff("dl-gaj", "reviewer")
    case = services.apply(
        actor=zhou_user,
        item_version=demo.version("dl-gaj", "户口迁移（夫妻投靠）"),
        form_data={
            **demo.personal_fields(zhou),
            "move_from": "230100",
            "move_from_address": "哈尔滨市南岗区西大直街92号",
            "move_to_address": "大连市沙河口区西安路88号",
            "spouse_name": "王磊",
            "marriage_date": "2023-10-02",
        },
    )
    deferred = case.item_version.materials.filter(necessity=Material.Necessity.DEFICIENCY_ALLOWED)
    limit = max(case.item_version.promised_limit, 1)
    commitments.sign_deficiency_commitment(
        case,
        materials=list(deferred),
        due_date=PROCESS.days_after(case, demo.today, limit).date,
        actor=zhou_user,
    )
    _upload(case, zhou_user)
    return _act(
        case,
        [("submit", zhou_user), ("accept", reviewer), ("start_review", reviewer)],
    )


def _notification_commitment(demo: _Demo) -> Case:
    """告知承诺: the company commits instead of proving; verification follows the decision."""
    company = demo.data.companies[0]
    agent = demo.user(company.agent.username)
    reviewer, approver = demo.staff("ln-scjgj", "reviewer"), demo.staff("ln-scjgj", "approver")
    case = services.apply(
        actor=agent,
        item_version=demo.version("ln-scjgj", "工业产品生产许可证核发"),
        company_uscc=company.uscc,
        form_data={
            "company_name": company.name,
            "uscc": company.uscc,
            "legal_representative": company.legal_representative,
            "contact_phone": company.agent.mobile,
            "product": "金属切削机床",
            "factory_address": "大连市金州区辽河东路99号",
            "annual_output": "1200",
        },
    )
    commitments.sign_notification_commitment(case, actor=agent)
    _upload(case, agent)
    return _act(
        case,
        [
            ("submit", agent),
            ("accept", reviewer),
            ("start_review", reviewer),
            ("approve", approver),
            ("issue_result", reviewer),
            ("deliver", reviewer),
            ("close", approver),
        ],
    )


def _window_proxy(demo: _Demo) -> Case:
    """代办帮办 at the 大连 window for an item of 沈阳: identity and formal check here, the
    paper kept here, the case forwarded to 沈阳市公安局."""
    li = demo.data.person("citizen-lijianguo")
    clerk = demo.staff("dl-gaj", "window_clerk")
    case = services.apply(
        actor=clerk,
        item_version=demo.version("sy-gaj", "开具户籍类证明"),
        on_behalf_of={"kind": "person", "name": li.name, "id_number": li.id_number},
        assisted=True,
        form_data={
            "applicant_name": li.name,
            "id_number": li.id_number,
            "phone": li.mobile,
            "certificate_kind": "户籍信息证明",
            "purpose": "办理养老金领取资格认证",
        },
    )
    case = take_action(
        case, "check_identity", actor=clerk, note="老年申请人，窗口代办帮办，已当面核验身份证原件"
    )
    _upload(case, clerk, custody="居民身份证复印件由大连市公安局通办窗口留存")
    return _act(case, [("check_materials", clerk), ("forward", clerk)])


# The other nodes ---------------------------------------------------------------------------


def _jilin_submitted(demo: _Demo) -> Case:
    case, liu_user = _applied(
        demo,
        "citizen-liuxin",
        "cc-rsj",
        "就业登记",
        {
            "employment_kind": "单位就业",
            "employer": "长春春城餐饮管理有限公司",
            "employed_since": demo.days_ago(14),
        },
    )
    return take_action(case, "submit", actor=liu_user)


def _heilongjiang_submitted(demo: _Demo) -> Case:
    case, sun_user = _applied(
        demo,
        "citizen-sunyue",
        "hl-gat",
        "无犯罪记录证明",
        {
            "purpose": "就业",
            "residence_period": "2013-09-01",
        },
    )
    return take_action(case, "submit", actor=sun_user)


def _neimenggu_under_review(demo: _Demo) -> Case:
    reviewer = demo.staff("nm-rst", "reviewer")
    case, wu_user = _applied(
        demo,
        "citizen-wuyun",
        "nm-rst",
        "社会保障卡申领",
        {
            "bank": "农业银行",
            "mailing_address": "呼和浩特市赛罕区大学东街235号",
        },
    )
    return _act(case, [("submit", wu_user), ("accept", reviewer), ("start_review", reviewer)])


SCENARIOS: dict[str, tuple[Callable[[_Demo], Case], ...]] = {
    "liaoning": (
        _draft,
        _household_book,
        _submitted,
        _supplement_requested,
        _approved,
        _licence_reused,
        _closed,
        _awaiting_payment,
        _deficiency,
        _notification_commitment,
        _window_proxy,
        _household_first,
        _household_reissued,
    ),
    "jilin": (_jilin_submitted,),
    "heilongjiang": (_heilongjiang_submitted,),
    "neimenggu": (_neimenggu_under_review,),
}


def load_demo_cases() -> int:
    """Make the node's demo cases unless a demo applicant already has one; return how many.

    A node without scenarios of its own gets none."""
    scenarios = SCENARIOS.get(settings.NODE_ID, ())
    if not scenarios:
        return 0
    data = demo_accounts()
    already = Case.objects.filter(
        Q(applicant_person__user__username__in=data.applicant_usernames())
        | Q(applicant_company__uscc__in=[c.uscc for c in data.companies])
    ).exists()
    if already:
        return 0
    with transaction.atomic():
        demo = _Demo(data)
        return len([scenario(demo) for scenario in scenarios])
