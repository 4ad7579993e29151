from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Floor 2: people, companies, staff roles, API tokens, the notification inbox."""

    name = "accounts"
    verbose_name = "用户与机构人员"
