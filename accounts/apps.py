from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Floor 2: people, companies and their agents, staff roles, API tokens, the
    notification inbox, assurance levels of sign-ins."""

    name = "accounts"
    verbose_name = "用户与机构人员"

    def ready(self) -> None:
        # The sign-in receiver that records a session's assurance level.
        from accounts import assurance  # noqa: F401
