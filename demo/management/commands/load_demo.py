"""`manage.py load_demo`: load the demo data of this node. Idempotent: what is already there
and identical is left alone, so running it twice changes nothing.

The node is `settings.NODE_ID` (`TONGBAN_NODE_ID`); its data are in `demo/data/<node>/`
(`liaoning`, `jilin`, `heilongjiang`, `neimenggu`). A node without a folder there is refused
with a CommandError.

1. The catalog (`demo/data/<node>/catalog.json`) goes through `import_catalog`, the same
   path as any catalog file: its organisations, licence types, the 东北三省一区 scheme
   (the same record on every node), the items with their guides, and the published lists.
   Its codes are invented (docs/catalog-format.md).
2. The demo accounts (`demo/users.py`, `demo/data/<node>/accounts.json`): staff for every
   role of every demo organisation, citizens, companies with their agents — all with the
   password `tongban-demo-2026`. `manage.py demo_users` lists them.
3. An electronic seal for every demo organisation (`demo/seals.py`), so that deciding an
   item whose result is a licence can issue it.
4. The service halls (`demo/halls.py`, `demo/data/<node>/halls.json`): halls, their 通办
   windows with what they receive and their clerks, a few counter consultations; the
   window cases below are taken in at these windows.
5. A few demo cases in different states (`demo/cases.py`), made once. On the Liaoning node,
   approving the licence-producing ones issues their licences, so 孙浩然's 证照夹 holds a
   居民身份证, which his draft 社会保障卡申领 uses in place of the paper material; the
   other nodes get one small case each.
6. On the Liaoning node, the 12345 demo (`demo/hotline.py`): the 大连 centre and its agent,
   the dispatch catalog, knowledge articles and tickets of every type in different states.
7. On the Liaoning node, 好差评 (`demo/ratings.py`): ratings of the closed cases and a
   ticket, one bad rating under rectification and one closed after its callback.
8. On the Liaoning node, data sharing (`demo/sharing.py`): the resource catalog, the
   department records behind it, grants (one to 长春市公安局 of the Jilin node) and a
   request waiting for review.
9. The mobile app 辽事通 as a sign-in client with PKCE (`demo/signon.py`). On the Liaoning
   node, 大连海辰精密机械有限公司 is registered online by its legal representative
   (`rep-haichen`), who authorised its agent (`agent-haichen`) to apply and give
   materials for a year.
10. 督查督办 (`demo/supervision.py`): the figures rebuilt from the demo cases and the
    warning cards on every node; on Liaoning, the work ledger (the plan's 11 tasks and 4
    safeguards), the national list's targets and this month's published bulletin.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from core.exceptions import RuleViolation
from demo.bundles import load_demo_bundles
from demo.cases import load_demo_cases
from demo.halls import load_demo_halls
from demo.hotline import load_demo_hotline
from demo.ratings import load_demo_ratings
from demo.seals import load_demo_seals
from demo.sharing import load_demo_sharing
from demo.signon import load_demo_signon
from demo.supervision import load_demo_supervision
from demo.users import ACTOR, catalog_file, catalog_organisations, load_demo_users


class Command(BaseCommand):
    help = (
        "载入本节点（TONGBAN_NODE_ID）的演示数据（事项目录与清单、演示账号、电子印章、演示办件）；"
        "可重复执行，已有的数据不会改动"
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            catalog = catalog_file()
        except RuleViolation as exc:
            raise CommandError(str(exc)) from exc
        call_command(
            "import_catalog",
            str(catalog),
            actor=ACTOR.name,
            stdout=self.stdout,
            stderr=self.stderr,
        )
        # The local SMS adapter logs every text; to the invented demo applicants that is
        # only noise on the console of `make run`.
        sms_log = logging.getLogger("accounts.adapters")
        level = sms_log.level
        sms_log.setLevel(logging.WARNING)
        try:
            users = load_demo_users()
            seals = load_demo_seals(catalog_organisations(), actor=ACTOR)
            halls = load_demo_halls()
            bundles = load_demo_bundles()
            cases = load_demo_cases()
            tickets = load_demo_hotline()
            ratings = load_demo_ratings()
            shared = load_demo_sharing()
            apps = load_demo_signon(actor=ACTOR)
            ledger = load_demo_supervision()
        except RuleViolation as exc:
            raise CommandError(str(exc)) from exc
        finally:
            sms_log.setLevel(level)
        self.stdout.write(
            f"节点 {settings.NODE_ID}（{settings.NODE_NAME}）的演示数据："
            f"新建工作人员账号 {users.staff} 个、自然人 {users.citizens} 个、"
            f"法人 {users.companies} 个；电子印章：新建 {seals} 枚；"
            f"服务大厅：新建 {halls.halls} 个、窗口 {halls.windows} 个、窗口咨询 {halls.consultations} 条；"
            f"一件事：新建 {bundles} 件；演示办件：新建 {cases} 件；"
            f"12345 演示工单：新建 {tickets} 件；好差评：新建 {ratings} 条；"
            f"数据共享：新建部门数据记录 {shared} 条；"
            f"移动应用登录客户端：新建 {apps} 个；"
            f"工作台账：新建 {ledger} 项。"
            "账号清单见 `manage.py demo_users`。"
        )
