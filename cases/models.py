"""Cases (办件): one application for one item version, moved through a workflow definition.

A case pins the item version and the workflow definition version it started under; later
edits to either never change a running case. Its two halves — the organisation that
received it (收件地) and the one that decides (业务属地) — are separate fields even when they
are the same, so that a later issue can put them on different nodes.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from accounts.models import Company, Person
from catalog.models import ItemVersion, ListVersion, Material, Mode
from catalog.offers import MODE_CHOICES, SCOPE_CHOICES
from core.models import (
    ClockState,
    DeadlineWarning,
    Division,
    Organisation,
    ProcessEvent,
    ProcessFields,
    ProcessPause,
    StoredDefinition,
    division_code_prefix,
)
from core.personal_data import EncryptedJSONField, EncryptedTextField, mask_address
from licences.models import Licence


class WorkflowDefinition(StoredDefinition):
    """One version of a case workflow, stored as the data it was loaded from (format:
    core/workflow.py; case vocabulary: cases/workflow.py). Immutable once stored."""

    mode = models.CharField("业务模式", max_length=16, choices=Mode.choices)

    class Meta(StoredDefinition.Meta):
        verbose_name = verbose_name_plural = "流程定义"


class CaseQuerySet(models.QuerySet["Case"]):
    def for_user(self, user: Any, within: models.Q | None = None) -> CaseQuerySet:
        """The one scoping primitive for reading cases (STYLE.md): pages, API, exports and
        dashboards all start here.

        An applicant sees their own cases (as a person, or as an agent of a company); window
        clerks, reviewers, approvers and organisation admins see the cases their
        organisations received or handle; a supervisor sees every case handled inside their
        division; a catalog maintainer sees none. Staff never see an applicant's draft:
        only what was submitted, or a window draft they took in themselves.

        `within` narrows the cases before the scope is taken (open ones, one number…): the
        same rows as `for_user(user).filter(within)`, but each way of seeing a case is its
        own indexed select, united (decision 163), so that over millions of cases the
        database reads only the rows of the viewer's organisations that match `within`,
        never the whole table."""
        return self.filter(InSelect(models.F("pk"), visible_case_ids(user, within)))


class InSelect(models.Lookup):  # type: ignore[type-arg]
    """`pk IN (SELECT …)`, which PostgreSQL runs as `pk = ANY(ARRAY(SELECT …))`: the
    select runs once, first, and its few ids are fetched by the primary key. As a semi-join
    the planner would join it last, after the page's many `select_related` tables
    (beyond `join_collapse_limit`), reading every case first (decision 163)."""

    lookup_name = "in_select"

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} IN {rhs}", (*lhs_params, *rhs_params)

    def as_postgresql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY(ARRAY{rhs})", (*lhs_params, *rhs_params)


def visible_case_ids(
    user: Any,
    within: models.Q | None = None,
    *,
    keys: tuple[str, ...] = (),
    roles: list[Any] | None = None,
) -> Any:
    """The ids of the cases `user` may see (narrowed by `within`): a UNION of one select
    per way of seeing a case, each served by its own index. Each row carries the columns
    `keys` too (a case seen two ways gives the same row twice, which the UNION drops), so
    that the union alone can be ordered and paged (`cases.selectors.ScopedCases`). `roles`:
    the user's staff roles with their divisions, when the caller has read them already."""
    from accounts.agents import acting_companies
    from accounts.models import Role, StaffRole

    cases = Case.objects.all()
    if not getattr(user, "is_authenticated", False):
        return cases.none().values("pk")
    narrow = within or models.Q()
    arms = [
        cases.filter(narrow, applicant_person__user=user),
        cases.filter(narrow, applicant_company__in=acting_companies(user).values("pk")),
    ]
    if roles is None:
        roles = list(StaffRole.objects.filter(user=user).select_related("division"))
    case_roles = {Role.WINDOW_CLERK, Role.REVIEWER, Role.APPROVER, Role.ORG_ADMIN}
    orgs = sorted({r.organisation_id for r in roles if r.role in case_roles})
    # A draft is the applicant's until submitted (提交前不会送交审批部门); a draft taken
    # in at a window is its clerk's.
    submitted = models.Q(submitted_at__isnull=False) | models.Q(submitted_by=user)
    if orgs:
        arms += [
            cases.filter(narrow, submitted, handling_org_id__in=orgs),
            cases.filter(narrow, submitted, receiving_org_id__in=orgs),
            cases.filter(narrow, submitted, steps__organisation_id__in=orgs),
        ]
    for role in roles:
        if role.role == Role.SUPERVISOR:
            prefix = division_code_prefix(role.division.code)
            arms.append(
                cases.filter(narrow, submitted, handling_org__division__code__startswith=prefix)
            )
    first, *rest = (arm.order_by().values("pk", *keys) for arm in arms)
    return first.union(*rest)


class Case(ProcessFields):
    """办件: an application being handled. The state, clock and warning fields come from
    `core.models.ProcessFields`; the engine (cases/engine.py) is the only writer of them."""

    class Channel(models.TextChoices):
        ONLINE = "online", "网上申请"
        WINDOW = "window", "窗口申请"
        API = "api", "部门系统"

    Warning = DeadlineWarning
    ClockState = ClockState

    class Outcome(models.TextChoices):
        APPROVED = "approved", "准予"
        DENIED = "denied", "不予准予"
        NOT_ACCEPTED = "not_accepted", "不予受理"
        WITHDRAWN = "withdrawn", "撤回"
        TERMINATED = "terminated", "终止"
        REVOKED = "revoked", "撤销"

    class DeliveryMethod(models.TextChoices):
        # The codes of the catalog's 发证方式 (catalog.schemas DELIVERY).
        ELECTRONIC = "electronic", "电子送达"
        WINDOW = "window", "窗口领取"
        POST = "post", "邮寄送达"

    number = models.CharField("办件编号", max_length=40, unique=True)
    item_version = models.ForeignKey(
        ItemVersion, verbose_name="事项版本", on_delete=models.PROTECT, related_name="cases"
    )
    workflow = models.ForeignKey(
        WorkflowDefinition, verbose_name="流程定义", on_delete=models.PROTECT, related_name="cases"
    )
    mode = models.CharField("业务模式", max_length=16, choices=MODE_CHOICES)
    channel = models.CharField("申请渠道", max_length=16, choices=Channel.choices)
    # 通办范围 as decided when the case was opened (catalog/offers.py): where the applicant
    # was served, against the item's division, and the list that promised it.
    scope = models.CharField(
        "通办范围", max_length=16, choices=SCOPE_CHOICES, blank=True, db_index=True
    )
    place = models.ForeignKey(
        Division,
        verbose_name="办理地",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    list_version = models.ForeignKey(
        ListVersion,
        verbose_name="依据清单版本",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    applicant_person = models.ForeignKey(
        Person,
        verbose_name="申请人（自然人）",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    applicant_company = models.ForeignKey(
        Company,
        verbose_name="申请人（法人）",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    applicant_name = models.CharField("申请人名称", max_length=128)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="提交账号",
        on_delete=models.PROTECT,
        related_name="+",
    )
    assisted = models.BooleanField("代办帮办", default=False)
    idempotency_key = models.CharField("幂等键", max_length=64, blank=True)

    receiving_org = models.ForeignKey(
        Organisation, verbose_name="收件地", on_delete=models.PROTECT, related_name="received_cases"
    )
    # The window (专窗) a window case was taken in at, on this node: cases (floor 4) stand
    # above halls (floor 2), so a foreign key. Empty for an online case, and for a case
    # received at another node's window (that node keeps its window).
    window = models.ForeignKey(
        "halls.Window",
        verbose_name="收件窗口",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    handling_org = models.ForeignKey(
        Organisation,
        verbose_name="业务属地",
        on_delete=models.PROTECT,
        related_name="handled_cases",
    )
    form_data = EncryptedJSONField("申请表（加密）")
    # 送达: how the applicant chose to receive the result, among the ways the item offers
    # (`result_delivery`); for post, where to (personal data, encrypted).
    delivery_method = models.CharField(
        "送达方式", max_length=16, choices=DeliveryMethod.choices, default=DeliveryMethod.ELECTRONIC
    )
    delivery_address = EncryptedTextField("邮寄地址（加密）", blank=True, default="")
    delivery_mobile = EncryptedTextField("收件手机号码（加密）", blank=True, default="")

    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    submitted_at = models.DateTimeField("提交时间", null=True, blank=True)
    outcome_note = models.CharField("结论说明", max_length=500, blank=True)
    # The other node holding this case, when its two halves live on two nodes: on the node
    # that received it, the handling node; on the handling node, the receiving one. Each
    # action is shared with it through the federation (cases/exchange.py).
    counterpart_node = models.CharField("协同节点", max_length=32, blank=True, default="")

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "办件"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(applicant_person__isnull=False, applicant_company__isnull=True)
                | models.Q(applicant_person__isnull=True, applicant_company__isnull=False),
                name="case_one_applicant",
            ),
            models.UniqueConstraint(
                fields=["submitted_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="case_idempotency_key_once",
            ),
        ]
        indexes = [
            models.Index(fields=["handling_org", "state"], name="case_handling_inbox"),
            models.Index(fields=["receiving_org", "state"], name="case_receiving_inbox"),
            # The inbox's open cases of an organisation, in the inbox's order (decision 163).
            models.Index(
                fields=["handling_org", "due_date", "state_due_date", "created_at"],
                condition=models.Q(closed_at__isnull=True),
                name="case_open_handling",
            ),
            models.Index(
                fields=["receiving_org", "due_date", "state_due_date", "created_at"],
                condition=models.Q(closed_at__isnull=True),
                name="case_open_receiving",
            ),
            # The yellow and red cases by organisation, for supervision's live warnings:
            # a few per cent of the cases, counted from the index alone (decision 312).
            models.Index(
                fields=["handling_org", "warning"],
                condition=models.Q(warning__in=["yellow", "red"]),
                name="case_warned",
            ),
        ]

    @property
    def delivery_address_masked(self) -> str:
        return mask_address(self.delivery_address) if self.delivery_address else ""

    def __str__(self) -> str:
        return self.number


class CaseNumberSequence(models.Model):
    """The last case number used per day; case numbers are `<node>-<yyyymmdd>-<nnnnnn>`."""

    day = models.DateField(unique=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = verbose_name_plural = "办件编号序列"

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


class CaseEvent(ProcessEvent):
    """One entry of a case's timeline (fields: `core.models.ProcessEvent`). Append-only;
    it is also the case's audit trail."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")

    class Meta(ProcessEvent.Meta):
        verbose_name = verbose_name_plural = "办件时间线"

    def __str__(self) -> str:
        return f"{self.case} {self.action}"


class CaseMaterial(models.Model):
    """A material given for a case: an uploaded file (checked by content), or a verified
    reference to the applicant's own licence (免提交). Replaced files are kept, superseded,
    never overwritten; a licence reference, once verified, cannot be replaced."""

    class Status(models.TextChoices):
        PROVIDED = "provided", "已提供"
        SUPERSEDED = "superseded", "已被替换"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="materials")
    requirement = models.ForeignKey(
        Material, verbose_name="材料要求", on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        "状态", max_length=16, choices=Status.choices, default=Status.PROVIDED
    )
    file = models.FileField("文件", upload_to="cases/%Y/%m/", blank=True)
    original_name = models.CharField("原文件名", max_length=200, blank=True)
    content_type = models.CharField("文件类型", max_length=64, blank=True)
    size = models.PositiveIntegerField("大小", default=0)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="上传人", on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)
    paper_custody = models.CharField("纸质材料保管", max_length=200, blank=True)
    licence = models.ForeignKey(
        Licence,
        verbose_name="以电子证照代替",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="case_uses",
    )
    licence_verified_at = models.DateTimeField("证照核验时间", null=True, blank=True)
    # 免提交 with a licence another node issued: its identifier and issuing node (there is
    # no local Licence row); verified with the issuer when given.
    foreign_licence = models.CharField("外节点电子证照标识", max_length=120, blank=True)
    foreign_licence_node = models.CharField("签发节点", max_length=32, blank=True)
    # A material given on the other node of a two-node case names that node; one given
    # here is sent to the counterpart with the next action (`exchanged_at` then set).
    node = models.CharField("提交节点", max_length=32, blank=True, default="")
    exchanged_at = models.DateTimeField("已同步至协同节点", null=True, blank=True)
    # 应享尽享: obtained from the issuing organisation's data under a grant at submission
    # (cases/sharing.py): which resource and provider, the grant, and its answer (the
    # verification's yes, or the granted fields of the record — encrypted).
    shared_source = models.CharField("共享数据来源", max_length=200, blank=True)
    shared_grant = models.CharField("共享授权编号", max_length=32, blank=True)
    shared_answer = EncryptedJSONField("共享核验结果（加密）", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "办件材料"
        ordering = ["case", "requirement__position", "uploaded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "requirement"],
                condition=models.Q(status="provided"),
                name="case_material_one_current",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} {self.requirement.name}"


class CaseStep(models.Model):
    """多地联办: one step of a joint case done by one organisation, possibly on another
    node. Steps of the same `order` run in parallel; a higher order starts when every step
    before it is finished."""

    class Status(models.TextChoices):
        WAITING = "waiting", "待开始"
        ACTIVE = "active", "办理中"
        DONE = "done", "已完成"
        REFUSED = "refused", "未通过"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField("顺序")
    name = models.CharField("环节", max_length=64)
    organisation = models.ForeignKey(
        Organisation, verbose_name="承办机构", on_delete=models.PROTECT, related_name="case_steps"
    )
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.WAITING)
    # The step's number on the case's home node, so both nodes name the same step.
    home_id = models.PositiveBigIntegerField("主办节点环节号", null=True, blank=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)
    actor_label = models.CharField("办理人", max_length=128, blank=True)
    note = models.TextField("办理意见", blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "联办环节"
        ordering = ["case", "order", "id"]

    def __str__(self) -> str:
        return f"{self.case} {self.order}.{self.name}"


class ClockPause(ProcessPause):
    """A stretch during which the deadline clock stood still: the applicant supplementing
    materials, or a special procedure (检测、鉴定、专家评审)."""

    class Reason(models.TextChoices):
        SUPPLEMENT = "supplement", "补正材料"
        SPECIAL_PROCEDURE = "special_procedure", "特别程序"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="pauses")
    reason = models.CharField("原因", max_length=24, choices=Reason.choices)

    class Meta(ProcessPause.Meta):
        verbose_name = verbose_name_plural = "计时暂停"
        ordering = ["case", "started_on", "id"]

    def __str__(self) -> str:
        return f"{self.case} {self.get_reason_display()} {self.started_on}"


class SupplementRequest(models.Model):
    """补正: the materials a reviewer asked for at once (一次性告知), with a due date."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="supplement_requests")
    materials = models.ManyToManyField(Material, verbose_name="需补正材料", related_name="+")
    note = models.TextField("补正说明")
    due_date = models.DateField("补正期限")
    requested_at = models.DateTimeField("要求时间", auto_now_add=True)
    fulfilled_at = models.DateTimeField("补正完成时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "补正要求"
        ordering = ["case", "requested_at"]

    def __str__(self) -> str:
        return f"{self.case} 补正 {self.due_date}"


class Commitment(models.Model):
    """A written commitment the applicant signs: for 容缺受理 (to supply the listed missing
    materials by a due date) or for 告知承诺 (in place of a proof, verified later)."""

    class Kind(models.TextChoices):
        DEFICIENCY = "deficiency", "容缺受理承诺书"
        NOTIFICATION = "notification", "告知承诺书"

    class Status(models.TextChoices):
        OPEN = "open", "履行中"
        FULFILLED = "fulfilled", "已履行"
        VERIFIED = "verified", "核查属实"
        EXPIRED = "expired", "逾期未履行"
        FALSE = "false", "核查不实"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="commitments")
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.OPEN)
    materials = models.ManyToManyField(Material, verbose_name="涉及材料", related_name="+")
    notice = models.TextField("告知内容")
    signed_at = models.DateTimeField("签署时间", auto_now_add=True)
    due_date = models.DateField("履行或核查期限", null=True, blank=True)
    resolved_at = models.DateTimeField("结束时间", null=True, blank=True)
    resolution_note = models.CharField("结论", max_length=500, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "承诺"
        ordering = ["case", "signed_at"]
        constraints = [
            models.UniqueConstraint(fields=["case", "kind"], name="commitment_kind_once"),
        ]

    def __str__(self) -> str:
        return f"{self.case} {self.get_kind_display()}"


class CaseArchive(models.Model):
    """电子档案: the frozen record of a finished case — every field, event and material
    digest — with the SHA-256 of that record, so later tampering shows. A case finished
    and later revoked has a second record; records are never changed."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="archives")
    archived_at = models.DateTimeField("归档时间", auto_now_add=True)
    record = EncryptedJSONField("档案内容（加密）")
    digest = models.CharField("SHA-256", max_length=64)

    class Meta:
        verbose_name = verbose_name_plural = "电子档案"

    def __str__(self) -> str:
        return f"{self.case} 档案"


# 一件事一次办 (cases/bundles.py) ----------------------------------------------------------------


class BundleCase(models.Model):
    """一件事: one application for a bundle version, fanned out into one case per step
    that applies (`BundleSubCase`), each with its own workflow and organisation. Its
    status, deadline, timeline and result are the combination of its sub-cases'; the
    services of cases/bundles.py are its only writers."""

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        RUNNING = "running", "办理中"
        DONE = "done", "已办结"
        FAILED = "failed", "未通过"
        WITHDRAWN = "withdrawn", "已撤回"

    number = models.CharField("一件事编号", max_length=40, unique=True)
    bundle_version = models.ForeignKey(
        "catalog.BundleVersion",
        verbose_name="一件事版本",
        on_delete=models.PROTECT,
        related_name="cases",
    )
    applicant_person = models.ForeignKey(
        Person,
        verbose_name="申请人（自然人）",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bundle_cases",
    )
    applicant_company = models.ForeignKey(
        Company,
        verbose_name="申请人（法人）",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bundle_cases",
    )
    applicant_name = models.CharField("申请人名称", max_length=128)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="申请账号",
        on_delete=models.PROTECT,
        related_name="+",
    )
    place = models.ForeignKey(
        Division, verbose_name="办理地", on_delete=models.PROTECT, related_name="+"
    )
    form_data = EncryptedJSONField("合并申请表（加密）")
    status = models.CharField(
        "状态", max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    due_date = models.DateField("一件事办结期限", null=True, blank=True)
    idempotency_key = models.CharField("幂等键", max_length=64, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    submitted_at = models.DateTimeField("提交时间", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "一件事办件"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(applicant_person__isnull=False, applicant_company__isnull=True)
                | models.Q(applicant_person__isnull=True, applicant_company__isnull=False),
                name="bundle_case_one_applicant",
            ),
            models.UniqueConstraint(
                fields=["submitted_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="bundle_case_idempotency_key_once",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class BundleSubCase(models.Model):
    """One step of a bundle case: the case opened for it once its turn comes (steps of the
    same order together, after every earlier one is approved), or why it has none."""

    class Status(models.TextChoices):
        WAITING = "waiting", "待前序事项办结"
        RUNNING = "running", "办理中"
        APPROVED = "approved", "已准予"
        FAILED = "failed", "未通过"
        BLOCKED = "blocked", "受阻未办"
        WITHDRAWN = "withdrawn", "已撤回"
        CANCELLED = "cancelled", "已取消"

    bundle_case = models.ForeignKey(
        BundleCase, verbose_name="一件事办件", on_delete=models.CASCADE, related_name="sub_cases"
    )
    step = models.ForeignKey(
        "catalog.BundleStep", verbose_name="一件事环节", on_delete=models.PROTECT, related_name="+"
    )
    order = models.PositiveSmallIntegerField("顺序")
    case = models.OneToOneField(
        Case,
        verbose_name="子办件",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bundle_link",
    )
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.WAITING)
    note = models.CharField("说明", max_length=500, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "一件事子办件"
        ordering = ["bundle_case", "order", "step__position", "id"]

    def __str__(self) -> str:
        return f"{self.bundle_case} {self.order}"


class BundleMaterial(models.Model):
    """A material given once for a bundle case (one per key of catalog.bundles: a licence
    type or a material name), copied into each sub-case that asks for it when it opens."""

    bundle_case = models.ForeignKey(
        BundleCase, verbose_name="一件事办件", on_delete=models.CASCADE, related_name="materials"
    )
    key = models.CharField("材料标识", max_length=250)
    name = models.CharField("材料名称", max_length=200)
    path = models.CharField("存储位置", max_length=200)
    original_name = models.CharField("原文件名", max_length=200)
    content_type = models.CharField("文件类型", max_length=64)
    size = models.PositiveIntegerField("大小")
    sha256 = models.CharField("SHA-256", max_length=64)
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "一件事材料"
        ordering = ["bundle_case", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bundle_case", "key"], name="bundle_material_once"),
        ]

    def __str__(self) -> str:
        return f"{self.bundle_case} {self.name}"


class BundleCaseEvent(models.Model):
    """An entry of a bundle case's own timeline (applied, a step started or blocked,
    withdrawn); the combined timeline adds its sub-cases' events."""

    bundle_case = models.ForeignKey(BundleCase, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField("时间", auto_now_add=True)
    actor_label = models.CharField("操作人", max_length=128)
    action = models.CharField("动作", max_length=48)
    note = models.CharField("说明", max_length=500, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "一件事时间线"
        ordering = ["bundle_case", "at", "id"]

    def __str__(self) -> str:
        return f"{self.bundle_case} {self.action}"
