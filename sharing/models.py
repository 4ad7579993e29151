"""Data sharing between agencies (政务信息资源共享): the resource catalog, sharing requests
(需求清单) on the shared process engine, the grants they yield, every call made under a
grant (the access log the citizen sees) and the alerts raised by calls outside a grant.

Personal data never sits here in clear: subjects are kept as a keyed hash and a masked
copy; the local department records (`SharedRecord`) are an encrypted JSON document."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from core.models import (
    Division,
    Organisation,
    ProcessEvent,
    ProcessFields,
    StoredDefinition,
    division_code_prefix,
)
from core.personal_data import EncryptedJSONField
from sharing.sources import SOURCES


class SharingClass(models.TextChoices):
    """共享属性 (国发〔2016〕51号)."""

    UNCONDITIONAL = "unconditional", "无条件共享"
    CONDITIONAL = "conditional", "有条件共享"
    NOT_SHARED = "not_shared", "不予共享"


class Method(models.TextChoices):
    """How a resource is provided (共享方式)."""

    VERIFY = "verify", "核验（是/否）"
    QUERY = "query", "查询（授权字段）"
    BULK = "bulk", "批量交换"


class SubjectKind(models.TextChoices):
    PERSON = "person", "自然人"
    COMPANY = "company", "法人"


class UpdateFrequency(models.TextChoices):
    REALTIME = "realtime", "实时"
    DAILY = "daily", "每日"
    WEEKLY = "weekly", "每周"
    MONTHLY = "monthly", "每月"
    QUARTERLY = "quarterly", "每季度"
    YEARLY = "yearly", "每年"
    ON_CHANGE = "on_change", "变更时"


class Sensitivity(models.TextChoices):
    PUBLIC = "public", "公开"
    INTERNAL = "internal", "内部"
    PERSONAL = "personal", "个人信息"
    SENSITIVE = "sensitive", "敏感个人信息"


class DataResource(models.Model):
    """政务信息资源目录: one data resource a providing organisation shares — its fields
    (信息项: name, label, type, sensitivity), its sharing class with the legal basis the
    conditional and refused classes need, how often it is updated, how it is provided
    (verification, record query, bulk), the catalog materials it can replace (by material
    code, so one resource serves every item asking for that material), and the adapter
    that answers from the provider's data. Classified (涉密) data never enter: the model
    and the database refuse them."""

    code = models.CharField("资源代码", max_length=40, unique=True)
    name = models.CharField("资源名称", max_length=128)
    provider = models.ForeignKey(
        Organisation, verbose_name="提供部门", on_delete=models.PROTECT, related_name="+"
    )
    summary = models.TextField("摘要", blank=True)
    subject_kind = models.CharField("信息主体", max_length=16, choices=SubjectKind.choices)
    fields = models.JSONField("信息项", default=list)
    sharing_class = models.CharField("共享类型", max_length=16, choices=SharingClass.choices)
    legal_basis = models.CharField("共享条件或不予共享依据", max_length=300, blank=True)
    update_frequency = models.CharField("更新周期", max_length=16, choices=UpdateFrequency.choices)
    methods = models.JSONField("共享方式", default=list)
    material_codes = models.JSONField("可替代的材料编码", default=list, blank=True)
    adapter = models.CharField("数据来源适配器", max_length=32)
    adapter_config = models.JSONField("适配器参数", default=dict, blank=True)
    # Kept so the refusal is a rule of the data, not of one form: a row can never say it.
    classified = models.BooleanField("涉密", default=False)
    published = models.BooleanField("已发布", default=True)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "政务信息资源"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(classified=False), name="sharing_resource_never_classified"
            ),
            models.CheckConstraint(
                condition=Q(sharing_class="unconditional") | ~Q(legal_basis=""),
                name="sharing_resource_basis_when_restricted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def field_names(self) -> list[str]:
        return [f["name"] for f in self.fields]

    @property
    def personal(self) -> bool:
        return self.subject_kind == SubjectKind.PERSON

    def field_label(self, name: str) -> str:
        return next((f.get("label", name) for f in self.fields if f["name"] == name), name)

    def clean(self) -> None:
        problems = resource_problems(self)
        if problems:
            raise ValidationError(problems)


FIELD_TYPES = ("string", "date", "boolean", "number", "division")
SENSITIVITIES = ("public", "internal", "personal", "sensitive")


def resource_problems(resource: DataResource) -> dict[str, list[str]]:
    """What is wrong with a resource's description, by field (empty: nothing)."""
    problems: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    if resource.classified:
        add("classified", "涉密信息资源不得纳入共享目录")
    if resource.sharing_class not in SharingClass.values:
        add("sharing_class", "共享类型须为无条件共享、有条件共享或不予共享")
    elif resource.sharing_class != SharingClass.UNCONDITIONAL and not resource.legal_basis.strip():
        add("legal_basis", "有条件共享和不予共享的资源须写明依据")
    if resource.subject_kind not in SubjectKind.values:
        add("subject_kind", "信息主体须为自然人或法人")
    if resource.update_frequency not in UpdateFrequency.values:
        add("update_frequency", "未知的更新周期")
    fields = resource.fields if isinstance(resource.fields, list) else []
    if not fields:
        add("fields", "至少列出一个信息项")
    names = set()
    for f in fields:
        if not isinstance(f, dict) or not f.get("name") or not f.get("label"):
            add("fields", "每个信息项须有名称（name）和中文名（label）")
            continue
        if f["name"] in names:
            add("fields", f"信息项“{f['name']}”重复")
        names.add(f["name"])
        if f.get("type", "string") not in FIELD_TYPES:
            add("fields", f"信息项“{f['label']}”的类型未知")
        if f.get("sensitivity", "internal") not in SENSITIVITIES:
            add("fields", f"信息项“{f['label']}”的敏感程度未知")
    methods = resource.methods if isinstance(resource.methods, list) else []
    if not methods or any(m not in Method.values for m in methods):
        add("methods", "共享方式须为核验、查询或批量中的一种或几种")
    if not isinstance(resource.material_codes, list) or any(
        not isinstance(c, str) or not c.strip() for c in resource.material_codes
    ):
        add("material_codes", "可替代的材料编码须为编码列表")
    if resource.adapter not in SOURCES:
        add("adapter", f"未知的数据来源适配器：{resource.adapter}")
    return problems


class SharingDeadline(models.Model):
    """How many working days a provider has for a request of one sharing class: the review,
    then the answer (reference §9: 2 + 0 for 无条件, 2 + 5 for 有条件 — local values). The
    row without a province is the default the migration seeds; a province's own row wins."""

    province = models.ForeignKey(
        Division,
        verbose_name="省份",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    sharing_class = models.CharField("共享类型", max_length=16, choices=SharingClass.choices)
    review_days = models.PositiveSmallIntegerField("审核时限（工作日）")
    answer_days = models.PositiveSmallIntegerField("答复时限（工作日）", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "共享需求办理时限"
        ordering = ["province__code", "sharing_class"]
        constraints = [
            models.UniqueConstraint(
                fields=["province", "sharing_class"], name="sharing_deadline_once"
            ),
            models.CheckConstraint(
                condition=Q(review_days__gt=0), name="sharing_deadline_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.province or '默认'} {self.get_sharing_class_display()}"

    @property
    def total(self) -> int:
        return self.review_days + self.answer_days


class SharingRequestDefinition(StoredDefinition):
    """A stored version of the sharing-request workflow (sharing/workflows/*.json)."""

    class Meta(StoredDefinition.Meta):
        verbose_name = verbose_name_plural = "共享需求流程定义"


class SharingRequestQuerySet(models.QuerySet["SharingRequest"]):
    def for_user(self, user: Any) -> SharingRequestQuerySet:
        """Staff of the consuming or the providing organisation, and supervisors (the data
        authority) of a division containing the provider."""
        from accounts.models import Role, StaffRole

        if user is None or not getattr(user, "is_authenticated", False):
            return self.none()
        roles = list(
            StaffRole.objects.filter(user=user).values_list(
                "role", "organisation_id", "division__code"
            )
        )
        orgs = [o for _, o, _ in roles]
        scope = Q(consumer_id__in=orgs) | Q(resource__provider_id__in=orgs)
        for role, _org, code in roles:
            if role == Role.SUPERVISOR:
                scope |= Q(
                    resource__provider__division__code__startswith=division_code_prefix(code)
                )
        return self.filter(scope)


class SharingRequest(ProcessFields):
    """共享需求 (需求清单): a consuming organisation asks for fields of a resource, for a
    purpose, in a scene (the items it needs them for), on a legal basis. Reviewed by the
    provider within working-day limits; a refusal gives reasons and may be disputed before
    the data authority (`sharing/workflows/request.json`). Approval yields a `Grant`."""

    number = models.CharField("需求编号", max_length=32, unique=True)
    workflow = models.ForeignKey(
        SharingRequestDefinition,
        verbose_name="流程定义",
        on_delete=models.PROTECT,
        related_name="requests",
    )
    resource = models.ForeignKey(
        DataResource, verbose_name="资源", on_delete=models.PROTECT, related_name="requests"
    )
    consumer = models.ForeignKey(
        Organisation, verbose_name="需求部门", on_delete=models.PROTECT, related_name="+"
    )
    # The node the consuming organisation works on (empty: this node).
    consumer_node = models.CharField("需求方节点", max_length=32, blank=True, default="")
    requested_by_label = models.CharField("申请人", max_length=128)
    fields = models.JSONField("申请字段")
    methods = models.JSONField("共享方式")
    purpose = models.CharField("用途", max_length=300)
    scene_items = models.JSONField("应用场景（事项编码）", default=list, blank=True)
    legal_basis = models.CharField("依据", max_length=300)
    valid_until = models.DateField("申请使用期限")
    limit_days = models.PositiveSmallIntegerField("办理时限（工作日）")
    answered_on = models.DateField("答复日期", null=True, blank=True)
    refusal_reason = models.TextField("不予共享理由", blank=True)
    # The consumer's node's own number for a request of another node (`RemoteRequest`):
    # the provider's notices carry it back.
    consumer_reference = models.CharField("需求方编号", max_length=32, blank=True, default="")
    created_at = models.DateTimeField("提出时间", auto_now_add=True)

    objects = SharingRequestQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "共享需求"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["resource", "answered_on"], name="sharing_req_answer")]

    def __str__(self) -> str:
        return self.number

    def clean(self) -> None:
        _refuse_secret_scene(self.scene_items)


def secret_items(codes: list[str]) -> list[str]:
    """Of the item codes `codes` (an item's code, basic or implementation code), those of
    an item with a version marked secret (涉密, `ItemVersion.classified`): such an item is
    no scene of sharing. One query (none for no codes)."""
    from catalog.models import ItemVersion

    wanted = {c.strip() for c in codes if c and c.strip()}
    if not wanted:
        return []
    rows = ItemVersion.objects.filter(classified=True).filter(
        Q(item__code__in=wanted)
        | Q(item__implementation_code__in=wanted)
        | Q(item__basic_code__in=wanted)
    )
    found: set[str] = set()
    for code, impl, basic in rows.values_list(
        "item__code", "item__implementation_code", "item__basic_code"
    ):
        found.update(wanted & {code, impl, basic})
    return sorted(found)


def secret_scene_message(codes: list[str]) -> str:
    return f"涉密事项不得作为共享应用场景：{'、'.join(codes)}"


def _refuse_secret_scene(scene_items: Any) -> None:
    secret = secret_items(scene_items if isinstance(scene_items, list) else [])
    if secret:
        raise ValidationError({"scene_items": [secret_scene_message(secret)]})


class SharingRequestEvent(ProcessEvent):
    """One entry of a sharing request's timeline (fields: `core.models.ProcessEvent`)."""

    request = models.ForeignKey(
        SharingRequest, verbose_name="共享需求", on_delete=models.CASCADE, related_name="events"
    )

    class Meta(ProcessEvent.Meta):
        verbose_name = verbose_name_plural = "共享需求时间线"


class Grant(models.Model):
    """共享授权: what an approved request allows — these fields of this resource, by these
    methods, for this purpose and these items, to this organisation, until this day. The
    consumer presents the credential (shown once; only its hash is kept) with each call."""

    number = models.CharField("授权编号", max_length=32, unique=True)
    request = models.OneToOneField(
        SharingRequest, verbose_name="共享需求", on_delete=models.PROTECT, related_name="grant"
    )
    resource = models.ForeignKey(
        DataResource, verbose_name="资源", on_delete=models.PROTECT, related_name="grants"
    )
    consumer = models.ForeignKey(
        Organisation, verbose_name="被授权部门", on_delete=models.PROTECT, related_name="+"
    )
    consumer_node = models.CharField("被授权方节点", max_length=32, blank=True, default="")
    fields = models.JSONField("授权字段")
    methods = models.JSONField("授权方式")
    purpose = models.CharField("用途", max_length=300)
    scene_items = models.JSONField("应用场景（事项编码）", default=list, blank=True)
    # Personal fields leave the provider's node only when the grant says so.
    personal_data_may_leave = models.BooleanField("个人信息可出本节点", default=False)
    expires_on = models.DateField("有效期至")
    credential_prefix = models.CharField("凭据前缀", max_length=12)
    credential_hash = models.CharField(max_length=64, unique=True, editable=False)
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True)
    # A grant for an organisation of another node is announced to that node by the periodic
    # job (`sharing.exchange.send_grant_notices`), so approving never waits on the network.
    notice_sent_at = models.DateTimeField("已通知需求方节点", null=True, blank=True)
    created_at = models.DateTimeField("授权时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "共享授权"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.number

    def clean(self) -> None:
        _refuse_secret_scene(self.scene_items)


class HeldGrant(models.Model):
    """A grant another node's provider gave to an organisation of this node, as the
    provider's `sharing.granted` envelope told it: what the consumer may ask, and where.
    No credential crosses: the provider knows the caller by the node's signed envelope
    and the organisation the node vouches for."""

    number = models.CharField("授权编号", max_length=32, unique=True)
    provider_node = models.CharField("提供方节点", max_length=32)
    provider_name = models.CharField("提供部门", max_length=128, blank=True, default="")
    resource_code = models.CharField("资源代码", max_length=40)
    resource_name = models.CharField("资源名称", max_length=128)
    consumer = models.ForeignKey(
        Organisation, verbose_name="被授权部门", on_delete=models.PROTECT, related_name="+"
    )
    fields = models.JSONField("授权字段")
    field_labels = models.JSONField("授权字段中文名", default=list, blank=True)
    methods = models.JSONField("授权方式")
    purpose = models.CharField("用途", max_length=300)
    material_codes = models.JSONField("可替代的材料编码", default=list, blank=True)
    subject_kind = models.CharField("信息主体", max_length=16, choices=SubjectKind.choices)
    expires_on = models.DateField("有效期至")
    received_at = models.DateTimeField("接收时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "外节点授权"
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.number}（{self.provider_node}）"


class RemoteRequestStatus(models.TextChoices):
    """Where a request to another node stands, as its provider's node last told."""

    SENT = "sent", "已发出"
    UNDER_REVIEW = "under_review", "提供部门审核中"
    REFUSED = "refused", "不予共享（可申请协调）"
    DISPUTED = "disputed", "数据主管部门协调中"
    GRANTED = "granted", "已授权"
    CLOSED_REFUSED = "closed_refused", "不予共享（已办结）"
    WITHDRAWN = "withdrawn", "已撤回"
    REJECTED = "rejected", "提供方节点拒收"


# How far along each status is: a notice moves a request only forward, so a notice
# delivered twice or late changes nothing (exactly once in effect). Ends are final.
REMOTE_STATUS_RANK = {
    RemoteRequestStatus.SENT: 0,
    RemoteRequestStatus.UNDER_REVIEW: 1,
    RemoteRequestStatus.REFUSED: 2,
    RemoteRequestStatus.DISPUTED: 3,
    RemoteRequestStatus.GRANTED: 9,
    RemoteRequestStatus.CLOSED_REFUSED: 9,
    RemoteRequestStatus.WITHDRAWN: 9,
    RemoteRequestStatus.REJECTED: 9,
}


class RemoteRequest(models.Model):
    """The consumer's live copy of a sharing request an organisation of this node sent to
    a provider of another node (`exchange.file_remote_request`): what was asked, and the
    status the provider's notices (`sharing.request_status`, `sharing.granted`, or the
    envelope's refusal) brought back — each applied once, only forward."""

    reference = models.CharField("需求方编号", max_length=32, unique=True)
    provider_node = models.CharField("提供方节点", max_length=32)
    provider_name = models.CharField("提供部门", max_length=128, blank=True)
    resource_code = models.CharField("资源代码", max_length=40)
    resource_name = models.CharField("资源名称", max_length=128, blank=True)
    consumer = models.ForeignKey(
        Organisation, verbose_name="需求部门", on_delete=models.PROTECT, related_name="+"
    )
    requested_by_label = models.CharField("申请人", max_length=128, blank=True)
    fields = models.JSONField("申请字段")
    field_labels = models.JSONField("申请字段中文名", default=list, blank=True)
    methods = models.JSONField("共享方式")
    purpose = models.CharField("用途", max_length=300)
    legal_basis = models.CharField("依据", max_length=300)
    scene_items = models.JSONField("应用场景（事项编码）", default=list, blank=True)
    valid_until = models.DateField("申请使用期限")
    status = models.CharField(
        "状态",
        max_length=16,
        choices=RemoteRequestStatus.choices,
        default=RemoteRequestStatus.SENT,
    )
    provider_number = models.CharField("提供方需求编号", max_length=32, blank=True)
    grant_number = models.CharField("授权编号", max_length=32, blank=True)
    reason = models.CharField("说明", max_length=300, blank=True)
    created_at = models.DateTimeField("提出时间", auto_now_add=True)
    updated_at = models.DateTimeField("状态更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "向外节点提出的共享需求"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.reference}（{self.provider_node} {self.resource_code}）"


class AccessLog(models.Model):
    """One call under (or outside) a grant: who asked, about whom (hashed and masked), for
    which purpose and case, under which grant, and what was answered — the field names a
    query returned, never their values. Refused calls are logged with their code.
    Append-only; the subject's data log on the portal reads it."""

    class Outcome(models.TextChoices):
        ANSWERED = "answered", "已答复"
        REFUSED = "refused", "已拒绝"
        UNAVAILABLE = "unavailable", "数据源不可用"

    at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    consumer = models.ForeignKey(
        Organisation,
        verbose_name="调用部门",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    consumer_label = models.CharField("调用方", max_length=160)
    consumer_node = models.CharField("调用方节点", max_length=32, blank=True, default="")
    actor_label = models.CharField("操作人", max_length=128, blank=True)
    grant = models.ForeignKey(
        Grant,
        verbose_name="授权",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="calls",
    )
    grant_number = models.CharField("授权编号", max_length=32, blank=True)
    resource = models.ForeignKey(
        DataResource,
        verbose_name="资源",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="calls",
    )
    method = models.CharField("方式", max_length=16, choices=Method.choices)
    subject_kind = models.CharField(
        "信息主体类型", max_length=16, choices=SubjectKind.choices, blank=True
    )
    subject_hash = models.CharField("主体检索摘要", max_length=64, blank=True, db_index=True)
    subject_masked = models.CharField("信息主体（脱敏）", max_length=32, blank=True)
    purpose = models.CharField("用途", max_length=300, blank=True)
    case_number = models.CharField("办件编号", max_length=40, blank=True)
    question = models.JSONField("问题", default=dict, blank=True)
    answer = models.JSONField("答复", default=dict, blank=True)
    outcome = models.CharField("结果", max_length=16, choices=Outcome.choices)
    refusal_code = models.CharField("拒绝代码", max_length=48, blank=True)
    refusal_reason = models.CharField("拒绝原因", max_length=300, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "共享调用记录"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["subject_hash", "at"], name="sharing_log_subject")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.consumer_label} {self.get_outcome_display()}"


class SharingAlert(models.Model):
    """An attempt to read data outside a grant, raised to the data authority (the
    supervisors of the provider's province) for follow-up."""

    call = models.OneToOneField(
        AccessLog, verbose_name="调用记录", on_delete=models.PROTECT, related_name="alert"
    )
    provider = models.ForeignKey(
        Organisation,
        verbose_name="数据提供部门",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    division = models.ForeignKey(
        Division, verbose_name="所在区划", on_delete=models.PROTECT, related_name="+"
    )
    code = models.CharField("代码", max_length=48)
    message = models.CharField("说明", max_length=300)
    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    handled_at = models.DateTimeField("处理时间", null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="处理人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    handling_note = models.CharField("处理说明", max_length=300, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "越权调用告警"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.message}"


class SharedRecord(models.Model):
    """A record of a department system kept on this node for the local adapter (the
    complete local counterpart of the HTTP adapter): the subject by keyed hash and masked,
    the record itself encrypted."""

    resource = models.ForeignKey(
        DataResource, verbose_name="资源", on_delete=models.CASCADE, related_name="records"
    )
    subject_hash = models.CharField("主体检索摘要", max_length=64)
    subject_masked = models.CharField("信息主体（脱敏）", max_length=32)
    data = EncryptedJSONField("记录（加密）")
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "部门数据记录（本地）"
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "subject_hash"], name="sharing_record_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource.code} {self.subject_masked}"
