"""Print a new API token for a user (shown once; only its hash is kept)."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import create_api_token
from core.actors import SystemActor


class Command(BaseCommand):
    help = "为账号创建接口令牌并打印（只显示这一次）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="令牌用途说明")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"账号 {options['username']} 不存在")
        self.stdout.write(
            create_api_token(user, name=options["name"], actor=SystemActor("create_api_token"))
        )
