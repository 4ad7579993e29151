"""12345 hotline (热线): tickets (工单/诉求) moved through their workflow definition on the
shared process engine, the versioned dispatch catalog (派单目录) that says which
organisations a ticket of a category and place may go to, the per-province deadline table,
the 12345 centres, and the hand-written knowledge articles (知识库). Articles generated
from the catalog's service guides are not stored: they are derived on read from the item
version in force (hotline/knowledge.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalog.models import ItemVersion, ServiceItem
from core.models import (
    Division,
    LimitUnit,
    Organisation,
    ProcessEvent,
    ProcessFields,
    StoredDefinition,
    division_code_prefix,
)
from core.personal_data import EncryptedTextField


class TicketType(models.TextChoices):
    CONSULTATION = "consultation", "咨询"
    HELP = "help", "求助"
    COMPLAINT = "complaint", "投诉"
    REPORT = "report", "举报"
    SUGGESTION = "suggestion", "建议"


class Channel(models.TextChoices):
    PHONE = "phone", "电话"
    WEB = "web", "网站"
    MOBILE = "mobile", "移动端"
    OPEN311 = "open311", "Open311 接口"


class Referral(models.TextChoices):
    """Where a ticket the hotline does not take belongs (不予受理并告知去向)."""

    LITIGATION = "litigation", "属诉讼事项，请向人民法院起诉"
    ARBITRATION = "arbitration", "属仲裁事项，请向仲裁机构申请"
    PETITION = "petition", "已进入信访程序，请向信访部门反映"
    STATE_SECRET = "state_secret", "涉及国家秘密，不予受理"
    POLICE_110 = "police_110", "紧急警情，请拨打 110"
    FIRE_119 = "fire_119", "火警，请拨打 119"
    AMBULANCE_120 = "ambulance_120", "急救，请拨打 120"
    TRAFFIC_122 = "traffic_122", "交通事故，请拨打 122"


class CallbackOutcome(models.TextChoices):
    """回访结果: what the caller said when called back."""

    SATISFIED = "satisfied", "满意"
    BASICALLY_SATISFIED = "basically_satisfied", "基本满意"
    UNSATISFIED = "unsatisfied", "不满意"
    UNREACHABLE = "unreachable", "联系不上"


class PublicationStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    PUBLISHED = "published", "已发布"


class Centre(models.Model):
    """A 12345 centre (热线中心): the organisation whose agents take calls for a division
    and everything under it. Web, mobile and Open311 tickets go to the centre of their
    place with the longest matching division code."""

    organisation = models.OneToOneField(
        Organisation, verbose_name="机构", on_delete=models.PROTECT, related_name="hotline_centre"
    )
    division = models.ForeignKey(
        Division, verbose_name="服务区划", on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField("名称", max_length=64)

    class Meta:
        verbose_name = verbose_name_plural = "12345 热线中心"
        ordering = ["division__code"]

    def __str__(self) -> str:
        return self.name


class DeadlineRule(models.Model):
    """How long a ticket of a type may take in a province (办理时限表): working days, or
    hours for 接诉即办 tickets. A row without a province is the national default the
    migration seeds (reference/cn-standards.md §3); a province's own row wins."""

    province = models.ForeignKey(
        Division,
        verbose_name="省份",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    ticket_type = models.CharField("诉求类型", max_length=16, choices=TicketType.choices)
    urgent = models.BooleanField("接诉即办", default=False)
    amount = models.PositiveIntegerField("时限")
    unit = models.CharField("单位", max_length=16, choices=LimitUnit.choices)

    class Meta:
        verbose_name = verbose_name_plural = "办理时限"
        ordering = ["province__code", "ticket_type", "urgent"]
        constraints = [
            models.UniqueConstraint(
                fields=["province", "ticket_type", "urgent"], name="deadline_rule_once"
            ),
            models.UniqueConstraint(
                fields=["ticket_type", "urgent"],
                condition=Q(province__isnull=True),
                name="deadline_rule_default_once",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="deadline_rule_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_ticket_type_display()} {self.amount}{self.get_unit_display()}"


class DispatchCategory(models.Model):
    """A category of the dispatch catalog (派单目录的诉求分类), e.g. 供暖 or 医保报销. Its code
    is the Open311 `service_code`."""

    class Group(models.TextChoices):
        ECONOMY = "economy", "经济调节"
        MARKET = "market", "市场监管"
        SOCIETY = "society", "社会管理"
        PUBLIC_SERVICE = "public_service", "公共服务"
        ENVIRONMENT = "environment", "生态环境保护"

    code = models.SlugField("分类代码", max_length=40, unique=True)
    name = models.CharField("分类名称", max_length=64)
    group = models.CharField("领域", max_length=16, choices=Group.choices)
    description = models.CharField("说明", max_length=300, blank=True)
    keywords = models.CharField("关键词", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "派单分类"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class DispatchCatalogVersion(models.Model):
    """One version of the dispatch catalog (派单目录). Published versions are frozen; the
    one in force is the published version with the latest effective date not after today."""

    number = models.PositiveIntegerField("版本号", unique=True)
    status = models.CharField(
        "状态", max_length=16, choices=PublicationStatus.choices, default=PublicationStatus.DRAFT
    )
    effective_from = models.DateField("生效日期")
    published_at = models.DateTimeField("发布时间", null=True, blank=True)
    change_note = models.CharField("变更说明", max_length=300, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "派单目录版本"
        ordering = ["-effective_from", "-number"]

    def __str__(self) -> str:
        return f"派单目录第 {self.number} 版"


class DispatchEntry(models.Model):
    """One row of a catalog version: tickets of `category` in `division` (and below it) go
    to `lead` (主办) with `co_organisers` (协办)."""

    version = models.ForeignKey(
        DispatchCatalogVersion,
        verbose_name="版本",
        on_delete=models.CASCADE,
        related_name="entries",
    )
    category = models.ForeignKey(
        DispatchCategory, verbose_name="分类", on_delete=models.PROTECT, related_name="entries"
    )
    division = models.ForeignKey(
        Division, verbose_name="区划", on_delete=models.PROTECT, related_name="+"
    )
    lead = models.ForeignKey(
        Organisation, verbose_name="主办单位", on_delete=models.PROTECT, related_name="+"
    )
    co_organisers = models.ManyToManyField(
        Organisation, verbose_name="协办单位", blank=True, related_name="+"
    )

    class Meta:
        verbose_name = verbose_name_plural = "派单目录条目"
        ordering = ["category__code", "division__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "category", "division"], name="dispatch_entry_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.category} · {self.division} → {self.lead}"


class TicketDefinition(StoredDefinition):
    """A stored version of a ticket workflow definition (hotline/workflows/*.json)."""

    class Meta(StoredDefinition.Meta):
        verbose_name = verbose_name_plural = "工单流程定义"


class KnowledgeArticle(models.Model):
    """A hand-written knowledge-base article (知识库条目): an answer agents read out, on
    what the service guides do not cover. `document` is its search document (jieba words,
    pinyin, initials), indexed like the catalog's (migration 0002)."""

    title = models.CharField("标题", max_length=200)
    body = models.TextField("内容")
    keywords = models.CharField("关键词", max_length=200, blank=True)
    category = models.ForeignKey(
        DispatchCategory,
        verbose_name="分类",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="articles",
    )
    published = models.BooleanField("已发布", default=True)
    document = models.TextField("检索文档", editable=False, default="")
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "知识库条目"
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class TicketQuerySet(models.QuerySet["Ticket"]):
    def for_user(self, user: Any) -> TicketQuerySet:
        """The tickets `user` may read — the one scoping primitive of hotline reads:
        agents their centre's tickets; an organisation's staff the tickets dispatched to
        it now (as lead or co-organiser); a supervisor those placed in their division;
        a citizen their own."""
        from accounts.models import Role, StaffRole

        if user is None or not getattr(user, "is_authenticated", False):
            return self.none()
        roles = list(StaffRole.objects.filter(user=user).values_list("role", "organisation_id"))
        agent_orgs = [o for r, o in roles if r == Role.HOTLINE_AGENT]
        handling_orgs = [o for r, o in roles if r in HANDLING_ROLES]
        scope = Q(caller_user=user) | Q(centre__organisation_id__in=agent_orgs)
        if handling_orgs:
            scope |= Q(
                pk__in=TicketAssignment.objects.filter(
                    organisation_id__in=handling_orgs, active=True
                ).values("ticket_id")
            )
        for code in StaffRole.objects.filter(user=user, role=Role.SUPERVISOR).values_list(
            "division__code", flat=True
        ):
            scope |= Q(division__code__startswith=division_code_prefix(code))
        return self.filter(scope)


# Staff of an organisation who handle the tickets dispatched to it.
HANDLING_ROLES = ("reviewer", "approver", "org_admin")


class Ticket(ProcessFields):
    """A 12345 ticket (工单/诉求): a consultation, help request, complaint, report or
    suggestion, from a caller (who may stay anonymous) about a place, maybe about a case,
    an item or an organisation. Its life — accept or refuse, dispatch, return, re-dispatch,
    merge, reply, callback, close — is `hotline/workflows/ticket.json` on the shared engine
    (hotline/engine.py); the deadline is pinned from the province's table when accepted."""

    number = models.CharField("工单编号", max_length=32, unique=True)
    token = models.CharField("受理凭证", max_length=32, unique=True, editable=False)
    workflow = models.ForeignKey(
        TicketDefinition, verbose_name="流程定义", on_delete=models.PROTECT, related_name="tickets"
    )
    type = models.CharField("诉求类型", max_length=16, choices=TicketType.choices)
    channel = models.CharField("渠道", max_length=16, choices=Channel.choices)
    urgent = models.BooleanField("接诉即办", default=False)
    centre = models.ForeignKey(
        Centre, verbose_name="受理中心", on_delete=models.PROTECT, related_name="tickets"
    )
    division = models.ForeignKey(
        Division, verbose_name="发生地", on_delete=models.PROTECT, related_name="+"
    )
    address = EncryptedTextField("详细地址（加密）", blank=True)
    address_masked = models.CharField("详细地址", max_length=64, blank=True, editable=False)
    lat = models.DecimalField("纬度", max_digits=9, decimal_places=6, null=True, blank=True)
    long = models.DecimalField("经度", max_digits=9, decimal_places=6, null=True, blank=True)
    title = models.CharField("标题", max_length=100)
    description = models.TextField("诉求内容")
    category = models.ForeignKey(
        DispatchCategory,
        verbose_name="分类",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    # The caller: nobody (anonymous), or a name and phone (encrypted, masked copies for
    # screens, a keyed hash to find a caller's earlier tickets), or a signed-in citizen.
    anonymous = models.BooleanField("匿名", default=False)
    caller_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="来电人账号",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="hotline_tickets",
    )
    caller_name = EncryptedTextField("来电人姓名（加密）", blank=True)
    caller_name_masked = models.CharField("来电人", max_length=64, blank=True, editable=False)
    caller_phone = EncryptedTextField("联系电话（加密）", blank=True)
    caller_phone_masked = models.CharField("联系电话", max_length=20, blank=True, editable=False)
    caller_phone_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    # What the ticket is about.
    case_number = models.CharField("关联办件", max_length=40, blank=True)
    item = models.ForeignKey(
        ServiceItem,
        verbose_name="关联事项",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    organisation_concerned = models.ForeignKey(
        Organisation,
        verbose_name="被反映单位",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The deadline pinned when accepted, and approved extensions.
    limit_amount = models.PositiveIntegerField("办理时限", null=True, blank=True)
    limit_unit = models.CharField(
        "时限单位", max_length=16, choices=LimitUnit.choices, blank=True, default=""
    )
    extension_requested = models.PositiveIntegerField("申请延期", default=0)
    extended_by = models.PositiveIntegerField("已批准延期", default=0)
    # Dispatch: the current lead (主办); co-organisers are active assignments.
    lead = models.ForeignKey(
        Organisation,
        verbose_name="主办单位",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="led_tickets",
    )
    dispatched_at = models.DateTimeField("派单时间", null=True, blank=True)
    return_due_at = models.DateTimeField("退单截止时间", null=True, blank=True)
    referral = models.CharField(
        "告知去向", max_length=24, choices=Referral.choices, blank=True, default=""
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name="并入工单",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged",
    )
    # The answer, the callback, and the knowledge used on the spot.
    reply = models.TextField("答复内容", blank=True)
    replied_at = models.DateTimeField("答复时间", null=True, blank=True)
    answered_article = models.ForeignKey(
        KnowledgeArticle,
        verbose_name="答复所依据的知识条目",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    answered_guide = models.ForeignKey(
        ItemVersion,
        verbose_name="答复所依据的办事指南",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    callback_outcome = models.CharField(
        "回访结果", max_length=24, choices=CallbackOutcome.choices, blank=True, default=""
    )
    callback_note = models.CharField("回访记录", max_length=500, blank=True)
    callback_at = models.DateTimeField("回访时间", null=True, blank=True)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "工单"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["centre", "closed_at", "due_date"], name="ticket_centre_due"),
            models.Index(fields=["lead", "closed_at", "due_date"], name="ticket_lead_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(anonymous=False) | Q(caller_user__isnull=True, caller_phone_hash=""),
                name="ticket_anonymous_has_no_caller",
            ),
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True) | ~Q(merged_into=models.F("pk")),
                name="ticket_not_merged_into_itself",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class TicketAssignment(models.Model):
    """An organisation a ticket was dispatched to, as lead (主办) or co-organiser (协办).
    Re-dispatching deactivates the earlier round; a return (退单) keeps its reason."""

    class Part(models.TextChoices):
        LEAD = "lead", "主办"
        CO = "co", "协办"

    ticket = models.ForeignKey(
        Ticket, verbose_name="工单", on_delete=models.CASCADE, related_name="assignments"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name="单位", on_delete=models.PROTECT, related_name="+"
    )
    part = models.CharField("承办方式", max_length=8, choices=Part.choices)
    round = models.PositiveSmallIntegerField("派单轮次")
    assigned_at = models.DateTimeField("派单时间", auto_now_add=True)
    active = models.BooleanField("当前有效", default=True)
    returned_at = models.DateTimeField("退单时间", null=True, blank=True)
    return_reason = models.CharField("退单理由", max_length=500, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "派单记录"
        ordering = ["round", "part", "id"]
        indexes = [models.Index(fields=["organisation", "active"], name="assignment_org_active")]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "round", "organisation"], name="assignment_once_per_round"
            ),
            models.UniqueConstraint(
                fields=["ticket", "round"],
                condition=Q(part="lead"),
                name="assignment_one_lead_per_round",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket} → {self.organisation}（{self.get_part_display()}）"


class TicketAttachment(models.Model):
    """A file attached to a ticket, checked by content as case materials are and stored
    content-addressed (cases/materials.py)."""

    ticket = models.ForeignKey(
        Ticket, verbose_name="工单", on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.CharField("存储路径", max_length=200)
    original_name = models.CharField("文件名", max_length=200)
    content_type = models.CharField("类型", max_length=64)
    size = models.PositiveIntegerField("大小")
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "工单附件"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.original_name


class TicketEvent(ProcessEvent):
    """One entry of a ticket's timeline (fields: `core.models.ProcessEvent`)."""

    ticket = models.ForeignKey(
        Ticket, verbose_name="工单", on_delete=models.CASCADE, related_name="events"
    )

    class Meta(ProcessEvent.Meta):
        verbose_name = verbose_name_plural = "工单时间线"
