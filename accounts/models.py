"""Who uses the platform: applicants (自然人 and 法人), staff with roles scoped to an
organisation or division, API tokens, and the in-app notification inbox.

ID numbers and mobile numbers are stored encrypted, with a keyed hash for look-up and a
masked copy for display (DESIGN.md §4.4)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.models import Division, Organisation
from core.personal_data import EncryptedTextField
from core.validators import validate_uscc


class Person(models.Model):
    """A natural person (自然人) who applies, identified by 公民身份号码."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name="登录账号",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="person",
    )
    name = models.CharField("姓名", max_length=64)
    id_number = EncryptedTextField("公民身份号码（加密）")
    id_number_hash = models.CharField(
        "身份号码检索摘要", max_length=64, unique=True, editable=False
    )
    id_number_masked = models.CharField("公民身份号码", max_length=18, editable=False)
    mobile = EncryptedTextField("手机号码（加密）", blank=True)
    mobile_masked = models.CharField("手机号码", max_length=11, blank=True, editable=False)
    real_name_verified_at = models.DateTimeField("实名核验时间", null=True, blank=True)
    # Identity checked face to face, with the ID card, by a window clerk (assurance level 3).
    in_person_verified_at = models.DateTimeField("窗口当面核验时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "自然人"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name}（{self.id_number_masked}）"


class Company(models.Model):
    """A legal person (法人) that applies, identified by 统一社会信用代码."""

    uscc = models.CharField(
        "统一社会信用代码", max_length=18, unique=True, validators=[validate_uscc]
    )
    name = models.CharField("名称", max_length=128)
    legal_representative = models.CharField("法定代表人", max_length=64)
    # The legal representative's own person record, when the company registered online
    # (register_company_online): that account authorises and revokes the agents.
    representative = models.ForeignKey(
        Person,
        verbose_name="法定代表人（实名账号）",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="represented_companies",
    )
    registry_checked_at = models.DateTimeField("企业登记核验时间", null=True, blank=True)
    # The accounts that see the company's cases and licences: the representative and every
    # agent whose authorisation is not revoked (kept by accounts.agents). What each may
    # do is on its AgentAuthorisation.
    agents = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name="经办账号", blank=True, related_name="companies"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "法人"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentAction(models.TextChoices):
    """What an agent (经办人) may do for a company: the scope's verbs."""

    APPLY = "apply", "申请（填写、修改、提交申请）"
    SUPPLEMENT = "supplement", "提交材料（上传、补正、承诺）"
    WITHDRAW = "withdraw", "撤回申请"


class AgentAuthorisation(models.Model):
    """A company's authorisation of an agent (经办人授权): which items (by code; none listed
    means every item) and which actions, until when. Made and revoked by the legal
    representative (accounts.agents); checked by every service an agent acts through."""

    company = models.ForeignKey(
        Company, verbose_name="法人", on_delete=models.CASCADE, related_name="authorisations"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="经办人账号",
        on_delete=models.CASCADE,
        related_name="agent_authorisations",
    )
    agent_name = models.CharField("经办人姓名", max_length=64)
    items = models.JSONField("授权事项（事项编码，空为全部事项）", default=list, blank=True)
    actions = models.JSONField("授权操作", default=list)
    valid_until = models.DateTimeField("有效期至", null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="授权人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    granted_at = models.DateTimeField("授权时间", auto_now_add=True)
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "经办人授权"
        ordering = ["company", "-granted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "agent"],
                condition=models.Q(revoked_at__isnull=True),
                name="agent_authorisation_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.company} · {self.agent_name}"

    def covers(self, *, action: str, item_code: str) -> bool:
        return action in self.actions and (not self.items or item_code in self.items)


class Role(models.TextChoices):
    WINDOW_CLERK = "window_clerk", "窗口人员"
    REVIEWER = "reviewer", "审查人员"
    APPROVER = "approver", "审批人员"
    ORG_ADMIN = "org_admin", "机构管理员"
    SUPERVISOR = "supervisor", "监督人员"
    CATALOG_MAINTAINER = "catalog_maintainer", "目录维护人员"
    # 12345 话务员: acts for a hotline centre (hotline.models.Centre); reads its centre's
    # tickets and, through a ticket, only what the ticket needs (hotline.selectors).
    HOTLINE_AGENT = "hotline_agent", "12345 话务员"


class StaffRole(models.Model):
    """A role a staff account holds, scoped to one organisation and its division.

    A supervisor's scope is the division (and everything under it); every other role acts
    for its organisation only."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="账号",
        on_delete=models.CASCADE,
        related_name="staff_roles",
    )
    role = models.CharField("角色", max_length=32, choices=Role.choices)
    organisation = models.ForeignKey(
        Organisation, verbose_name="所属机构", on_delete=models.PROTECT, related_name="staff_roles"
    )
    division = models.ForeignKey(
        Division, verbose_name="管辖区划", on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = verbose_name_plural = "人员角色"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "organisation"], name="staff_role_once"
            ),
        ]
        ordering = ["organisation", "role"]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.organisation}"


class ApiToken(models.Model):
    """A bearer token for a person's app or a department system. Only its SHA-256 is kept;
    the token itself is shown once, when made."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="账号",
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField("用途", max_length=64, blank=True)
    prefix = models.CharField("前缀", max_length=12)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "接口令牌"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class CreditRecord(models.Model):
    """A mark on an applicant's record, e.g. a false commitment (虚假承诺). While one is
    open (not cleared), the applicant may not use 容缺受理 or 告知承诺."""

    class Kind(models.TextChoices):
        FALSE_COMMITMENT = "false_commitment", "虚假承诺"

    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_records"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_records"
    )
    kind = models.CharField("类型", max_length=32, choices=Kind.choices)
    case_number = models.CharField("办件编号", max_length=40)
    note = models.CharField("说明", max_length=500)
    recorded_at = models.DateTimeField("记录时间", auto_now_add=True)
    cleared_at = models.DateTimeField("信用修复时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "信用记录"
        ordering = ["-recorded_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(person__isnull=False, company__isnull=True)
                | models.Q(person__isnull=True, company__isnull=False),
                name="credit_record_one_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.case_number}"


class Notification(models.Model):
    """A message in a user's in-app inbox; SMS and e-mail copies go through adapters."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="接收人",
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    title = models.CharField("标题", max_length=100)
    body = models.TextField("内容")
    link = models.CharField("链接", max_length=200, blank=True)
    created_at = models.DateTimeField("时间", auto_now_add=True)
    read_at = models.DateTimeField("已读时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "站内消息"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_inbox")]

    def __str__(self) -> str:
        return self.title
