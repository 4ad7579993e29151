"""The catalog of government service items (政务服务事项) and the lists that publish them.

An item's rules live on effective-dated `ItemVersion`s; a published version never changes
(a case pins the version it was opened under), a new version is made instead. Lists are
published the same way, as `ListVersion`s whose entries pin the item versions in force.
"""

from __future__ import annotations

from typing import ClassVar

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models

from core.assurance import Assurance
from core.models import Division, Organisation


class Scope(models.TextChoices):
    """通办范围."""

    CROSS_PROVINCE = "cross_province", "跨省通办"
    REGIONAL = "regional", "区域通办"
    IN_PROVINCE = "in_province", "省内通办"


class Mode(models.TextChoices):
    """业务模式."""

    ONLINE = "online", "全程网办"
    PROXY = "proxy", "异地代收代办"
    JOINT = "joint", "多地联办"


class Audience(models.TextChoices):
    PERSON = "person", "自然人"
    COMPANY = "company", "法人"
    BOTH = "both", "自然人、法人"

    @classmethod
    def serves(cls, audience: str, kind: str) -> bool:
        """Whether an item for `audience` serves an applicant of `kind` (person, company)."""
        return audience in (cls.BOTH, kind)


class PublicationStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    PUBLISHED = "published", "已发布"


class Theme(models.Model):
    """A life or business theme items are browsed by (创业、教育、就业 …)."""

    code = models.SlugField("代码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=32, unique=True)
    position = models.PositiveSmallIntegerField("排序", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "主题"
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name


class ItemCategory(models.Model):
    """事项类型 with the code system it comes from: codes differ between national and local
    catalogs (01 行政许可 nationally; XK in some provinces), so the pair is the key."""

    system = models.CharField("编码体系", max_length=32, default="national")
    code = models.CharField("类型代码", max_length=8)
    name = models.CharField("类型名称", max_length=32)

    class Meta:
        verbose_name = verbose_name_plural = "事项类型"
        ordering = ["system", "code"]
        constraints = [
            models.UniqueConstraint(fields=["system", "code"], name="item_category_code_once")
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


# The defining body of the platform's own document types (办理结果文书, licences/documents.py):
# the same on every node, made on first use, and not part of the catalog exchange.
PLATFORM_DEFINING_BODY = "11100000000000000J"


class LicenceType(models.Model):
    """证照类型: master data that materials name when a licence can replace them.

    `code` is the 证照类型代码 of the national identifier scheme: the defining body's
    统一社会信用代码 followed by a 3-digit sequence."""

    code = models.CharField("证照类型代码", max_length=32, unique=True)
    name = models.CharField("证照名称", max_length=64)
    defining_organisation = models.CharField("证照定义机构", max_length=128, blank=True)
    holder_kind = models.CharField(
        "持证主体", max_length=16, choices=Audience.choices, default=Audience.PERSON
    )
    issuer_kind = models.CharField("颁证机构类别", max_length=64, blank=True)
    face_fields = models.JSONField("照面信息字段", default=list, blank=True)
    valid_years = models.PositiveSmallIntegerField("有效期（年，空为长期）", null=True, blank=True)
    allow_multiple = models.BooleanField("同一持证主体可持有多份有效证照", default=False)

    class Meta:
        verbose_name = verbose_name_plural = "证照类型"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class RegionalScheme(models.Model):
    """A regional cooperation scheme (区域协作机制): a named set of member divisions with
    its own item list, e.g. 东北三省一区. Data, not code: a province can join several."""

    code = models.SlugField("代码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=64)
    members = models.ManyToManyField(Division, verbose_name="成员区划", related_name="schemes")
    signed_at = models.DateField("签署日期", null=True, blank=True)
    description = models.TextField("说明", blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "区域协作机制"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class ServiceItem(models.Model):
    """政务服务事项 as implemented by one organisation in one division (实施清单 row).

    `code` is the item's key on the platform and in URLs: its 业务办理项编码 where the item
    is split by situation, its 实施编码 otherwise."""

    code = models.CharField("事项编码", max_length=64, unique=True)
    basic_code = models.CharField("基本编码", max_length=32)
    implementation_code = models.CharField("实施编码", max_length=64)
    handling_code = models.CharField("业务办理项编码", max_length=64, blank=True)
    organisation = models.ForeignKey(
        Organisation, verbose_name="实施主体", on_delete=models.PROTECT, related_name="items"
    )
    division = models.ForeignKey(
        Division, verbose_name="所属区划", on_delete=models.PROTECT, related_name="items"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "政务服务事项"
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["implementation_code", "handling_code"], name="item_codes_once"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args: object, **kwargs: object) -> None:
        self.code = self.handling_code or self.implementation_code
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class _FrozenWhenPublished(models.Model):
    """Refuses to save or delete a row that belongs to a published version.

    The guard sits on the model so that admin, import, API and shell alike are stopped; a
    published version is evidence of what applied to the cases pinned to it."""

    # The version whose stored status decides: (model label, attribute holding its key).
    frozen_by: ClassVar[tuple[str, str]]

    class Meta:
        abstract = True

    def save(self, *args: object, **kwargs: object) -> None:
        self._check_not_frozen()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        self._check_not_frozen()
        return super().delete(*args, **kwargs)  # type: ignore[arg-type]

    def _check_not_frozen(self) -> None:
        label, attribute = self.frozen_by
        key = getattr(self, attribute)
        if key is None:
            return
        stored = (
            apps.get_model(label).objects.filter(pk=key).values_list("status", flat=True).first()
        )
        if stored == PublicationStatus.PUBLISHED:
            raise ValidationError("已发布的版本不可修改，请新建版本", code="version_published")


class ItemVersion(_FrozenWhenPublished):
    """One effective-dated version of an item's unified rules: its 办事指南 and form.

    Fields follow GLOSSARY.md and the national 实施清单 data set; every one is shown on the
    guide page."""

    class AcceptanceMode(models.TextChoices):
        ON_THE_SPOT = "on_the_spot", "即办件"
        PROMISED = "promised", "承诺件"

    class LimitUnit(models.TextChoices):
        WORKING_DAYS = "working_days", "工作日"
        CALENDAR_DAYS = "calendar_days", "自然日"

    class HandlingLevel(models.TextChoices):
        NATIONAL = "national", "国家级"
        PROVINCE = "province", "省级"
        CITY = "city", "市级"
        COUNTY = "county", "县级"
        TOWNSHIP = "township", "乡镇（街道）级"
        VILLAGE = "village", "村（社区）级"

    class ResultType(models.TextChoices):
        APPROVAL = "approval", "批文"
        LICENCE = "licence", "证照"
        CERTIFICATE = "certificate", "证明"
        REPORT = "report", "鉴定报告"
        OTHER = "other", "其他"

    class HeldResult(models.TextChoices):
        """What applying means when the applicant already holds a valid licence of the
        result's type: refused at once (a second one cannot be had), or a re-issue whose
        new version supersedes the one held (换发、补发、变更)."""

        REFUSE = "refuse", "不得重复申请"
        REISSUE = "reissue", "换发（新证取代已持有的证照）"

    frozen_by = ("catalog.ItemVersion", "pk")

    item = models.ForeignKey(
        ServiceItem, verbose_name="事项", on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField("版本号")
    status = models.CharField(
        "状态", max_length=16, choices=PublicationStatus.choices, default=PublicationStatus.DRAFT
    )
    effective_from = models.DateField("生效日期")
    published_at = models.DateTimeField("发布时间", null=True, blank=True)
    change_note = models.CharField("变更说明", max_length=500, blank=True)

    name = models.CharField("事项名称", max_length=200)
    category = models.ForeignKey(ItemCategory, verbose_name="事项类型", on_delete=models.PROTECT)
    handling_level = models.CharField("行使层级", max_length=16, choices=HandlingLevel.choices)
    audience = models.CharField("服务对象", max_length=16, choices=Audience.choices)
    themes = models.ManyToManyField(
        Theme, verbose_name="主题", blank=True, related_name="item_versions"
    )
    keywords = models.CharField("检索关键词", max_length=200, blank=True)

    conditions = models.TextField("申请条件")
    application_channels = models.JSONField("申报方式", default=list)
    acceptance_mode = models.CharField("受理模式", max_length=16, choices=AcceptanceMode.choices)
    procedure_steps = models.JSONField("审核程序", default=list)
    legal_limit = models.PositiveIntegerField("法定办结时限", null=True, blank=True)
    legal_limit_unit = models.CharField(
        "法定时限单位", max_length=16, choices=LimitUnit.choices, default=LimitUnit.WORKING_DAYS
    )
    promised_limit = models.PositiveIntegerField("承诺办结时限")
    promised_limit_unit = models.CharField(
        "承诺时限单位", max_length=16, choices=LimitUnit.choices, default=LimitUnit.WORKING_DAYS
    )
    special_procedures = models.JSONField("特别程序", default=list, blank=True)
    result_type = models.CharField("办理结果类型", max_length=16, choices=ResultType.choices)
    result_name = models.CharField("办理结果名称", max_length=100, blank=True)
    result_licence_type = models.ForeignKey(
        LicenceType,
        verbose_name="结果证照类型",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    held_result = models.CharField(
        "已持有结果证照时",
        max_length=16,
        choices=HeldResult.choices,
        default=HeldResult.REFUSE,
    )
    result_delivery = models.JSONField("发证方式", default=list)
    fee_charged = models.BooleanField("是否收费", default=False)
    fees = models.JSONField("收费标准", default=list, blank=True)
    visits_required = models.PositiveSmallIntegerField("到办事现场次数", default=0)
    legal_basis = models.TextField("设定依据")
    allows_commitment = models.BooleanField("可告知承诺", default=False)
    # 涉密事项: its materials are never obtained by data sharing and it is no scene of a
    # sharing request (docs/sharing.md, decisions 258–259).
    classified = models.BooleanField("涉密", default=False)
    # The least an applicant's sign-in must prove to apply online (core/assurance.py).
    assurance_level = models.CharField(
        "身份认证等级要求", max_length=16, choices=Assurance.choices, default=Assurance.PASSWORD
    )
    location = models.CharField("办理地点", max_length=300, blank=True)
    office_hours = models.CharField("办理时间", max_length=200, blank=True)
    consultation_phone = models.CharField("咨询电话", max_length=64, blank=True)
    complaint_phone = models.CharField("监督投诉电话", max_length=64, blank=True)
    form_fields = models.JSONField("申请表字段", default=list, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "事项版本"
        ordering = ["item", "number"]
        constraints = [
            models.UniqueConstraint(fields=["item", "number"], name="item_version_number_once"),
        ]
        indexes = [
            models.Index(fields=["item", "status", "effective_from"], name="item_version_current"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.status == PublicationStatus.PUBLISHED


class Material(_FrozenWhenPublished):
    """A material an item version requires (申请材料), as the guide lists it."""

    class Necessity(models.TextChoices):
        REQUIRED = "required", "必要"
        OPTIONAL = "optional", "非必要"
        DEFICIENCY_ALLOWED = "deficiency_allowed", "容缺后补"

    class SourceType(models.TextChoices):
        APPLICANT = "applicant", "申请人自备"
        GOVERNMENT = "government", "政府部门核发"
        INTERMEDIARY = "intermediary", "中介或法定机构制发"
        OTHER = "other", "其他"

    class Form(models.TextChoices):
        PAPER = "paper", "纸质"
        ELECTRONIC = "electronic", "电子"
        BOTH = "both", "纸质或电子"

    frozen_by = ("catalog.ItemVersion", "version_id")

    version = models.ForeignKey(
        ItemVersion, verbose_name="事项版本", on_delete=models.CASCADE, related_name="materials"
    )
    position = models.PositiveSmallIntegerField("序号", default=0)
    name = models.CharField("材料名称", max_length=200)
    # 材料编码: the same material asked by many items has one code, so a data resource that
    # can replace it (sharing.DataResource.material_codes) serves every item asking for it.
    code = models.CharField("材料编码", max_length=40, blank=True, default="", db_index=True)
    necessity = models.CharField("必要性", max_length=24, choices=Necessity.choices)
    source_type = models.CharField("来源渠道", max_length=16, choices=SourceType.choices)
    originals = models.PositiveSmallIntegerField("原件份数", default=0)
    copies = models.PositiveSmallIntegerField("复印件份数", default=0)
    form = models.CharField("材料形式", max_length=16, choices=Form.choices, default=Form.BOTH)
    licence_type = models.ForeignKey(
        LicenceType,
        verbose_name="可替代的证照类型",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="materials",
    )
    notes = models.TextField("填报须知", blank=True)
    commitment_allowed = models.BooleanField("可告知承诺替代", default=False)

    class Meta:
        verbose_name = verbose_name_plural = "申请材料"
        ordering = ["version", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "name"], name="material_name_once"),
        ]

    def __str__(self) -> str:
        return self.name


class Availability(_FrozenWhenPublished):
    """Where and how an item version can be handled away from its owner: one scope and
    mode, with the divisions (or the regional scheme) it covers (跨域通办 block)."""

    frozen_by = ("catalog.ItemVersion", "version_id")

    version = models.ForeignKey(
        ItemVersion,
        verbose_name="事项版本",
        on_delete=models.CASCADE,
        related_name="availabilities",
    )
    scope = models.CharField("通办范围", max_length=16, choices=Scope.choices)
    mode = models.CharField("业务模式", max_length=16, choices=Mode.choices)
    scheme = models.ForeignKey(
        RegionalScheme,
        verbose_name="区域协作机制",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="availabilities",
    )
    divisions = models.ManyToManyField(
        Division, verbose_name="覆盖区划", blank=True, related_name="+"
    )

    class Meta:
        verbose_name = verbose_name_plural = "通办范围"
        ordering = ["version", "scope", "mode"]
        constraints = [
            models.UniqueConstraint(fields=["version", "scope", "mode"], name="availability_once"),
            models.CheckConstraint(
                condition=~models.Q(scope="regional") | models.Q(scheme__isnull=False),
                name="regional_availability_has_scheme",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_scope_display()}·{self.get_mode_display()}"


class ItemList(models.Model):
    """A published list of items (事项清单) for one scope: the national 跨省通办 list, a
    regional scheme's list, the province's 省内通办 list."""

    code = models.SlugField("代码", max_length=48, unique=True)
    name = models.CharField("名称", max_length=100)
    scope = models.CharField("通办范围", max_length=16, choices=Scope.choices)
    scheme = models.ForeignKey(
        RegionalScheme,
        verbose_name="区域协作机制",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="lists",
    )
    description = models.TextField("说明", blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "事项清单"
        ordering = ["scope", "code"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(scope="regional") | models.Q(scheme__isnull=False),
                name="regional_list_has_scheme",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ListVersion(_FrozenWhenPublished):
    """One published state of a list, effective from a date, with its change-log entry."""

    frozen_by = ("catalog.ListVersion", "pk")

    item_list = models.ForeignKey(
        ItemList, verbose_name="清单", on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField("版本号")
    status = models.CharField(
        "状态", max_length=16, choices=PublicationStatus.choices, default=PublicationStatus.DRAFT
    )
    effective_from = models.DateField("生效日期")
    published_at = models.DateTimeField("发布时间", null=True, blank=True)
    change_note = models.CharField("变更说明", max_length=500, blank=True)
    items = models.ManyToManyField(ServiceItem, through="ListEntry", related_name="list_versions")

    class Meta:
        verbose_name = verbose_name_plural = "清单版本"
        ordering = ["item_list", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["item_list", "number"], name="list_version_number_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_list} 第{self.number}版"

    @property
    def is_published(self) -> bool:
        return self.status == PublicationStatus.PUBLISHED


class ListEntry(_FrozenWhenPublished):
    """An item on a list version, with the modes it is offered in on that list. Publishing
    pins the item version in force, so the diff between list versions shows rule changes."""

    frozen_by = ("catalog.ListVersion", "list_version_id")

    list_version = models.ForeignKey(
        ListVersion, verbose_name="清单版本", on_delete=models.CASCADE, related_name="entries"
    )
    item = models.ForeignKey(
        ServiceItem, verbose_name="事项", on_delete=models.PROTECT, related_name="list_entries"
    )
    item_version = models.ForeignKey(
        ItemVersion,
        verbose_name="发布时的事项版本",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    modes = models.JSONField("业务模式", default=list)
    position = models.PositiveIntegerField("序号", default=0)
    note = models.CharField("备注", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "清单条目"
        ordering = ["list_version", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["list_version", "item"], name="list_entry_once"),
        ]

    def __str__(self) -> str:
        return f"{self.list_version}: {self.item}"


class ItemSearchEntry(models.Model):
    """The search document of an item's current version: jieba tokens of its name and
    keywords, their pinyin and initials, its codes. Indexed by FTS5 on SQLite and a
    `simple` tsvector on PostgreSQL (migrations create both; `catalog.search` queries)."""

    item = models.OneToOneField(
        ServiceItem, on_delete=models.CASCADE, primary_key=True, related_name="search_entry"
    )
    document = models.TextField()
    # What ranking and the page need, copied here so that a search matches, ranks, counts
    # and cuts on this table alone and joins only the page's rows (decision 156). Kept by
    # `catalog.services.refresh_search_entry` (every publication, and the periodic job
    # when a published version takes effect).
    version = models.OneToOneField(
        ItemVersion,
        verbose_name="当前生效版本",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="search_entry",
    )
    code = models.CharField("事项编码", max_length=64, default="")
    division = models.CharField("所属区划代码", max_length=12, default="")
    # The day a later published version takes effect, when this entry's `version` stops
    # being the one in force; until the entry is refreshed, searches take the slow path.
    stale_on = models.DateField("待更新日期", null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = "检索索引"

    def __str__(self) -> str:
        return f"检索索引 {self.item_id}"


class ZoneSource(models.Model):
    """Another member node whose regional-zone items this node keeps a cached copy of
    (`catalog.zone`), and how the exchange with it last went.

    The zone page says when each member's data were last brought up to date; while a node
    cannot be reached its cached items stay listed and the error is kept here."""

    node = models.CharField("节点", max_length=32, unique=True)
    name = models.CharField("名称", max_length=64, help_text="页面上称呼该节点的名称，如“吉林省”")
    synced_at = models.DateTimeField("数据更新时间", null=True, blank=True)
    attempted_at = models.DateTimeField("最近同步时间", null=True, blank=True)
    item_count = models.PositiveIntegerField("事项数", default=0)
    last_error = models.TextField("最近一次同步的错误", blank=True)
    # The entries of that node's 区域通办 lists in force when last synced: item codes and
    # their modes. The zone shows exactly these; an item the node took off its list is gone.
    offered = models.JSONField("清单条目", default=list, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "区域通办数据来源"
        ordering = ["node"]

    def __str__(self) -> str:
        return self.name or self.node

    @property
    def failing(self) -> bool:
        """Whether the last attempt failed (the cached data are older than that attempt)."""
        return bool(self.last_error)


class Bundle(models.Model):
    """一件事一次办: several items of several departments applied for at once, with one
    form and each material asked once. Its rules live on published `BundleVersion`s."""

    code = models.SlugField("代码", max_length=48, unique=True)
    name = models.CharField("名称", max_length=100)
    audience = models.CharField("服务对象", max_length=16, choices=Audience.choices)
    description = models.TextField("说明", blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "一件事"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class BundleVersion(_FrozenWhenPublished):
    """One published state of a bundle, effective from a date, like a list version: its
    merged form (`form_fields`, the schema of catalog/form_schema.py, each field asked
    once) and its steps. Publishing pins each step's item version in force."""

    frozen_by = ("catalog.BundleVersion", "pk")

    bundle = models.ForeignKey(
        Bundle, verbose_name="一件事", on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField("版本号")
    status = models.CharField(
        "状态", max_length=16, choices=PublicationStatus.choices, default=PublicationStatus.DRAFT
    )
    effective_from = models.DateField("生效日期")
    published_at = models.DateTimeField("发布时间", null=True, blank=True)
    change_note = models.CharField("变更说明", max_length=500, blank=True)
    form_fields = models.JSONField("合并申请表字段", default=list, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "一件事版本"
        ordering = ["bundle", "number"]
        constraints = [
            models.UniqueConstraint(fields=["bundle", "number"], name="bundle_version_number_once"),
        ]

    def __str__(self) -> str:
        return f"{self.bundle} 第{self.number}版"

    @property
    def is_published(self) -> bool:
        return self.status == PublicationStatus.PUBLISHED


class BundleStep(_FrozenWhenPublished):
    """One item of a bundle version. Steps of the same `order` run in parallel; a higher
    order starts when every applicable step before it is approved. `condition` makes the
    item apply only when an answer says so (`{"field": name, "values": [...]}`; empty:
    always); `field_map` maps each field of the merged form to the item's own field."""

    frozen_by = ("catalog.BundleVersion", "version_id")

    version = models.ForeignKey(
        BundleVersion, verbose_name="一件事版本", on_delete=models.CASCADE, related_name="steps"
    )
    order = models.PositiveSmallIntegerField("顺序")
    item = models.ForeignKey(
        ServiceItem, verbose_name="事项", on_delete=models.PROTECT, related_name="bundle_steps"
    )
    item_version = models.ForeignKey(
        ItemVersion,
        verbose_name="发布时的事项版本",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    condition = models.JSONField("适用条件", default=dict, blank=True)
    field_map = models.JSONField("字段对应", default=dict, blank=True)
    position = models.PositiveIntegerField("序号", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "一件事环节"
        ordering = ["version", "order", "position", "id"]

    def __str__(self) -> str:
        return f"{self.version}: {self.order}. {self.item}"
