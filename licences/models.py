"""Electronic seals (电子印章) and the licence library (证照库).

A seal is an organisation's signing key with its validity and status; its private key lives
in the key store (`licences/keys.py`), never here. A licence (电子证照) is issued from a case,
signed with a seal over a documented canonical form (`licences/canonical.py`), identified
per GB/T 36904, and never deleted: a re-issue supersedes it, a revocation marks it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import Company, Person
from catalog.models import LicenceType
from core.models import Organisation
from core.personal_data import EncryptedJSONField, EncryptedTextField
from core.signing import Algorithm


class Seal(models.Model):
    """电子印章: an organisation's seal — key pair, algorithm, validity, status, image."""

    class Status(models.TextChoices):
        ACTIVE = "active", "有效"
        REVOKED = "revoked", "已吊销"

    organisation = models.ForeignKey(
        Organisation, verbose_name="用印机构", on_delete=models.PROTECT, related_name="seals"
    )
    name = models.CharField("印章名称", max_length=100)
    algorithm = models.CharField(
        "签名算法", max_length=16, choices=[(a.value, a.value) for a in Algorithm]
    )
    public_pem = models.TextField("公钥（PEM）")
    fingerprint = models.CharField("公钥指纹", max_length=64, unique=True)
    valid_from = models.DateTimeField("启用时间")
    valid_until = models.DateTimeField("有效期至")
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.ACTIVE)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)
    revocation_reason = models.CharField("吊销原因", max_length=200, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "电子印章"
        ordering = ["organisation", "-valid_from"]

    def __str__(self) -> str:
        return f"{self.name}（{self.algorithm}）"


class StoredKey(models.Model):
    """The local key store's record of a private key, encrypted at rest with a key derived
    from `settings.KEY_STORE_KEY`. Only `licences.keys.LocalKeyStore` reads it."""

    seal = models.OneToOneField(Seal, on_delete=models.PROTECT, related_name="+")
    sealed_private_key = models.TextField()

    class Meta:
        verbose_name = verbose_name_plural = "私钥存储"

    def __str__(self) -> str:
        return f"key of seal {self.seal_id}"


class Licence(models.Model):
    """电子证照 in the licence library."""

    class HolderCodeType(models.TextChoices):
        ID_NUMBER = "111", "公民身份号码"
        USCC = "001", "统一社会信用代码"

    class Status(models.TextChoices):
        VALID = "valid", "有效"
        SUPERSEDED = "superseded", "已换发"
        REVOKED = "revoked", "已撤销"

    identifier = models.CharField("电子证照标识", max_length=120, unique=True)
    licence_type = models.ForeignKey(
        LicenceType, verbose_name="证照类型", on_delete=models.PROTECT, related_name="licences"
    )
    number = models.CharField("证照编号", max_length=64)
    serial = models.CharField("流水号", max_length=32)
    version = models.PositiveSmallIntegerField("版本号", default=1)
    holder_name = models.CharField("持证主体", max_length=128)
    holder_code_type = models.CharField(
        "持证主体代码类型", max_length=3, choices=HolderCodeType.choices
    )
    holder_code = EncryptedTextField("持证主体代码（加密）")
    holder_code_hash = models.CharField(max_length=64, db_index=True, editable=False)
    holder_code_masked = models.CharField("持证主体代码", max_length=18, editable=False)
    holder_person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="licences"
    )
    holder_company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.PROTECT, related_name="licences"
    )
    face_data = EncryptedJSONField("照面信息（加密）")
    issuer = models.ForeignKey(
        Organisation,
        verbose_name="颁证机构",
        on_delete=models.PROTECT,
        related_name="issued_licences",
    )
    issued_at = models.DateTimeField("颁证时间")
    valid_from = models.DateField("有效期起")
    valid_until = models.DateField("有效期至", null=True, blank=True)
    seal = models.ForeignKey(
        Seal, verbose_name="电子印章", on_delete=models.PROTECT, related_name="licences"
    )
    signature = models.TextField("签名（Base64）")
    token = models.TextField("二维码令牌")
    case_number = models.CharField("来源办件编号", max_length=40, db_index=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.VALID)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    revoked_at = models.DateTimeField("撤销时间", null=True, blank=True)
    revocation_reason = models.CharField("撤销原因", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "电子证照"
        ordering = ["-issued_at", "-id"]
        indexes = [
            models.Index(
                fields=["licence_type", "holder_code_hash", "status"], name="licence_holder_type"
            )
        ]

    def __str__(self) -> str:
        return f"{self.licence_type.name} {self.identifier}"


class LicenceEvent(models.Model):
    """Every issue, verification, use, download and revocation of a licence, with who and
    the outcome. The holder sees all of them. Verifications of unknown tokens are kept too
    (licence empty)."""

    class Kind(models.TextChoices):
        ISSUED = "issued", "签发"
        VERIFIED = "verified", "核验"
        USED = "used", "用作申请材料"
        DOWNLOADED = "downloaded", "下载"
        REVOKED = "revoked", "撤销"
        SUPERSEDED = "superseded", "换发"

    licence = models.ForeignKey(
        Licence, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    outcome = models.CharField("结果", max_length=32, blank=True)
    at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField("操作方", max_length=128)
    detail = models.JSONField("详情", default=dict, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "证照使用与核验记录"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.outcome}"
