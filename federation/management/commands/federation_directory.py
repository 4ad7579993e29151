"""`manage.py federation_directory keygen|sign|fetch|show`: the directory authority's key,
signing a directory from the nodes' entries, and fetching it on a node."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.exceptions import RuleViolation
from core.signing import Algorithm, canonical_json, generate_key, public_pem_of, sign
from federation import directory
from federation.directory import FORMAT, utc_text


class Command(BaseCommand):
    help = (
        "节点目录：keygen 生成目录签发密钥（私钥文件与 .pub 信任锚文件），"
        "sign 用节点条目签发目录，fetch 从来源获取并采用目录，show 显示在用目录"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["keygen", "sign", "fetch", "show"])
        parser.add_argument(
            "entries", nargs="*", help="sign：各节点 federation_keys export 的输出文件"
        )
        parser.add_argument("--key", help="keygen/sign：目录签发私钥文件")
        parser.add_argument("--out", help="sign：写出的已签名目录文件")
        parser.add_argument(
            "--algorithm", choices=[a.value for a in Algorithm], default=Algorithm.SM2.value
        )
        parser.add_argument("--federation", default="东北三省一区")
        parser.add_argument("--serial", type=int, help="sign：目录序号（默认取当前时间）")
        parser.add_argument("--valid-days", type=int, default=30)

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _keygen(self, options: dict[str, Any]) -> None:
        if not options["key"]:
            raise CommandError("请用 --key 指定私钥文件")
        path = Path(options["key"])
        if path.exists():
            raise CommandError(f"{path} 已存在，不覆盖")
        algorithm = Algorithm(options["algorithm"])
        pair = generate_key(algorithm)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(f"# alg: {algorithm.value}\n".encode() + pair.private_pem)
        Path(f"{path}.pub").write_text(f"# alg: {algorithm.value}\n{pair.public_pem.decode()}")
        self.stdout.write(f"目录签发私钥：{path}；信任锚（公钥）：{path}.pub")

    def _sign(self, options: dict[str, Any]) -> None:
        if not options["key"] or not options["out"] or not options["entries"]:
            raise CommandError("sign 需要 --key、--out 和至少一个节点条目文件")
        text = Path(options["key"]).read_text()
        algorithm = Algorithm.SM2
        for line in text.splitlines():
            if line.startswith("# alg:"):
                algorithm = Algorithm(line.partition(":")[2].strip())
        private_pem = text[text.index("-----BEGIN") :].encode()
        nodes = []
        for name in options["entries"]:
            try:
                nodes.append(json.loads(Path(name).read_text()))
            except (OSError, ValueError) as exc:
                raise CommandError(f"读不了节点条目 {name}：{exc}") from exc
        now = timezone.now()
        doc = {
            "format": FORMAT,
            "federation": options["federation"],
            "serial": options["serial"] or int(now.timestamp()),
            "issued_at": utc_text(now),
            "valid_until": utc_text(now + dt.timedelta(days=options["valid_days"])),
            "nodes": sorted(nodes, key=lambda n: n["id"]),
        }
        body = canonical_json(doc).decode()
        try:
            directory.parse(body)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        public_pem_of(algorithm, private_pem)  # refuses a key file that is not a private key
        signature = base64.b64encode(sign(algorithm, private_pem, body.encode())).decode()
        Path(options["out"]).write_text(
            json.dumps({"directory": body, "signature": signature}, ensure_ascii=False)
        )
        self.stdout.write(
            f"已签发节点目录 #{doc['serial']}（{len(nodes)} 个节点）：{options['out']}"
        )

    def _fetch(self, options: dict[str, Any]) -> None:
        if not directory.is_federated():
            raise CommandError(
                "本节点未配置 TONGBAN_FEDERATION_DIRECTORY 与 TONGBAN_FEDERATION_ANCHOR"
            )
        try:
            copy = directory.refresh()
        except RuleViolation as exc:
            raise CommandError(str(exc)) from exc
        if copy is None:
            raise CommandError("目录来源无法访问；继续使用已缓存的目录")
        self.stdout.write(
            f"在用节点目录 #{copy.serial}，有效期至 {copy.valid_until:%Y-%m-%d %H:%M}"
        )

    def _show(self, options: dict[str, Any]) -> None:
        try:
            current = directory.current()
        except directory.DirectoryUnavailable as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"节点目录 #{current.serial}（{current.federation}），有效期至 {utc_text(current.valid_until)}"
        )
        for node in current.nodes.values():
            self.stdout.write(
                f"  {node.id}\t{node.code}\t{node.name}\t{node.base_url}\t密钥 {len(node.keys)}，印章 {len(node.seals)}"
            )
