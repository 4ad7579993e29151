"""What a node keeps about the federation: its own signing keys, the directory copies it
accepted, the append-only log of envelopes and receipts, the outbox, and refusals.

The log holds each signed document exactly as it travelled (`body`, the canonical JSON
text — encrypted at rest with the personal-data key — and `signature`), so that every
entry can be verified again later from storage alone (`federation.services.verify_log`). Entries are chained: each stores the SHA-256 of
the previous entry's hash and its own content, so a deleted or altered row shows.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from core.personal_data import EncryptedTextField


class AppendOnly(models.Model):
    """Refuses to change or delete a stored row, from any path (admin, shell, services)."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError(f"{self._meta.verbose_name} 只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"{self._meta.verbose_name} 只能追加，不能删除")


class NodeKey(models.Model):
    """A signing key of this node. The private key is AES-256-GCM encrypted under a key
    derived from `settings.KEY_STORE_KEY`; the public key is published in the directory."""

    algorithm = models.CharField("算法", max_length=16)
    public_pem = models.TextField("公钥")
    fingerprint = models.CharField("公钥指纹", max_length=64, unique=True)
    sealed_private_key = models.TextField("私钥（加密）")
    created_at = models.DateTimeField("生成时间", auto_now_add=True)
    retired_at = models.DateTimeField("停用时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "本节点密钥"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.algorithm} {self.fingerprint[:16]}"


class DirectoryCopy(AppendOnly):
    """One signed directory this node accepted; the newest valid one is in force."""

    serial = models.PositiveBigIntegerField("序号", unique=True)
    issued_at = models.DateTimeField("签发时间")
    valid_until = models.DateTimeField("有效期至")
    body = models.TextField("目录（规范 JSON）")
    signature = models.TextField("签名（base64）")
    signer = models.CharField("签发密钥指纹", max_length=64)
    source = models.CharField("来源", max_length=500)
    fetched_at = models.DateTimeField("获取时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "节点目录"
        ordering = ["-serial"]

    def __str__(self) -> str:
        return f"目录 #{self.serial}"


class LogEntry(AppendOnly):
    """One envelope, receipt or answer, sent or received, exactly as signed."""

    class Type(models.TextChoices):
        ENVELOPE = "envelope", "报文"
        RECEIPT = "receipt", "回执"

    class Direction(models.TextChoices):
        OUT = "out", "发出"
        IN = "in", "收到"

    entry_type = models.CharField("类型", max_length=16, choices=Type.choices)
    direction = models.CharField("方向", max_length=8, choices=Direction.choices)
    envelope_id = models.UUIDField("报文标识")
    sender = models.CharField("发送节点", max_length=32)
    receiver = models.CharField("接收节点", max_length=32)
    kind = models.CharField("报文类型", max_length=64)
    # Encrypted at rest (it may carry a case's personal data); the hash chain and the
    # signature cover the clear text, so the entry still verifies from storage.
    body = EncryptedTextField("内容（规范 JSON，加密）")
    signature = models.TextField("签名（base64）")
    key_id = models.CharField("签名密钥指纹", max_length=64)
    algorithm = models.CharField("算法", max_length=16)
    logged_at = models.DateTimeField("记录时间", auto_now_add=True)
    previous_hash = models.CharField("前一条摘要", max_length=64)
    entry_hash = models.CharField("本条摘要", max_length=64, unique=True)
    # The entry's place in the chain, given when it is linked (sealed). An envelope sent
    # inside a business transaction is written unsealed (no position, a placeholder hash)
    # and linked by the next append, under the head's lock (decision 161): the chain's
    # order is the order of linking, which is not always the order of the ids.
    position = models.PositiveBigIntegerField("链上序号", null=True, blank=True, unique=True)

    class Meta:
        verbose_name = verbose_name_plural = "报文日志"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry_type", "direction", "envelope_id"], name="log_entry_once"
            ),
        ]
        indexes = [models.Index(fields=["envelope_id"], name="log_envelope_id")]

    def __str__(self) -> str:
        return f"{self.get_entry_type_display()} {self.envelope_id}"


class LogHead(models.Model):
    """The hash of the newest log entry: one row, locked while an entry is appended, so the
    chain stays a line when several processes write."""

    last_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = verbose_name_plural = "报文日志链头"

    def __str__(self) -> str:
        return self.last_hash


class Outbox(models.Model):
    """Delivery state of one envelope this node sent: tried until a signed receipt comes."""

    class Status(models.TextChoices):
        PENDING = "pending", "待投递"
        DELIVERED = "delivered", "已送达"
        REFUSED = "refused", "被拒收"

    envelope = models.OneToOneField(
        LogEntry, verbose_name="报文", on_delete=models.PROTECT, related_name="outbox"
    )
    receiver = models.CharField("接收节点", max_length=32)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField("投递次数", default=0)
    next_attempt_at = models.DateTimeField("下次投递时间")
    last_error = models.CharField("最近一次错误", max_length=500, blank=True)
    delivered_at = models.DateTimeField("送达时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "发件箱"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["status", "receiver", "id"], name="outbox_due"),
        ]

    def __str__(self) -> str:
        return f"{self.envelope.envelope_id} → {self.receiver}"


class Refusal(AppendOnly):
    """An envelope this node refused, and why. The body is not kept (it may be forged or
    carry personal data): only what it claimed and the digest of what arrived."""

    at = models.DateTimeField("时间", auto_now_add=True)
    code = models.CharField("原因代码", max_length=48)
    reason = models.CharField("原因", max_length=500)
    envelope_id = models.CharField("声称的报文标识", max_length=64, blank=True)
    claimed_sender = models.CharField("声称的发送节点", max_length=64, blank=True)
    kind = models.CharField("报文类型", max_length=64, blank=True)
    digest = models.CharField("内容摘要", max_length=64)

    class Meta:
        verbose_name = verbose_name_plural = "拒收记录"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.code} {self.envelope_id}"
