"""`manage.py federation_keys create|export|list`: this node's signing keys, and its entry
for the directory authority."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.signing import Algorithm
from federation import keys, registry
from federation.directory import utc_text


class Command(BaseCommand):
    help = (
        "本节点的联邦签名密钥：create 生成，list 列出，export 输出交给目录签发方的节点条目（JSON）"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["create", "list", "export"])
        parser.add_argument(
            "--algorithm", choices=[a.value for a in Algorithm], default=Algorithm.SM2.value
        )
        parser.add_argument(
            "--if-missing", action="store_true", help="create：本节点已有密钥时不再生成"
        )
        parser.add_argument("--base-url", default=settings.PUBLIC_BASE_URL)
        parser.add_argument("--valid-days", type=int, default=365)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            if options["if_missing"] and keys.active_keys():
                self.stdout.write("本节点已有签名密钥，未生成新的。")
                return
            key = keys.create_key(Algorithm(options["algorithm"]))
            self.stdout.write(f"已生成 {key.algorithm} 密钥，指纹 {key.fingerprint}")
        elif action == "list":
            for key in keys.active_keys():
                self.stdout.write(f"{key.algorithm}\t{key.fingerprint}\t{key.created_at:%Y-%m-%d}")
        else:
            active = keys.active_keys()
            if not active:
                raise CommandError("本节点还没有签名密钥：请先运行 federation_keys create")
            now = timezone.now()
            entry = {
                "id": settings.NODE_ID,
                "name": settings.NODE_NAME,
                "code": settings.NODE_CODE,
                "division": settings.NODE_DIVISION,
                "base_url": options["base_url"].rstrip("/"),
                "valid_from": utc_text(now - dt.timedelta(days=1)),
                "valid_until": utc_text(now + dt.timedelta(days=options["valid_days"])),
                "keys": [
                    {"kid": k.fingerprint, "alg": k.algorithm, "public_key": k.public_pem}
                    for k in active
                ],
                "seals": registry.published_keys(),
                **registry.entry_parts(),
            }
            self.stdout.write(json.dumps(entry, ensure_ascii=False, indent=1))
