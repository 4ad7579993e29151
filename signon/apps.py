from typing import Any

from django.apps import AppConfig


def _signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from signon.sessions import record_session

    if request is not None and user is not None:
        record_session(request, user)


def _signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from signon.sessions import end_session

    end_session(request)


class SignonConfig(AppConfig):
    """Floor 3: this node as an OpenID Connect provider for its residents and the mobile
    app (OAuth 2 with PKCE), and as a relying party of the other members' providers,
    trusted through the signed federation directory."""

    name = "signon"
    verbose_name = "统一身份认证"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from accounts.services import register_bearer_verifier
        from federation.registry import register_entry_part
        from signon import keys, provider

        register_bearer_verifier(provider.ACCESS_PREFIX, provider.authenticate_access_token)
        user_logged_in.connect(_signed_in, dispatch_uid="signon.sessions.record")
        user_logged_out.connect(_signed_out, dispatch_uid="signon.sessions.end")
        register_entry_part("oidc", keys.directory_part)
