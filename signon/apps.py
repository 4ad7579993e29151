from django.apps import AppConfig


class SignonConfig(AppConfig):
    """Floor 3: this node as an OpenID Connect provider for its residents and the mobile
    app (OAuth 2 with PKCE), and as a relying party of the other members' providers,
    trusted through the signed federation directory."""

    name = "signon"
    verbose_name = "统一身份认证"

    def ready(self) -> None:
        from accounts.services import register_bearer_verifier
        from federation.registry import register_entry_part
        from signon import keys, provider

        register_bearer_verifier(provider.ACCESS_PREFIX, provider.authenticate_access_token)
        register_entry_part("oidc", keys.directory_part)
