from django.apps import AppConfig


class FederationConfig(AppConfig):
    """Floor 2: the exchange between nodes — the signed directory, envelopes with their
    outbox, inbox and receipts, and the delivery jobs the node's worker runs. It knows
    envelope kinds only as strings; higher apps register their handlers in
    `federation.registry`."""

    name = "federation"
    verbose_name = "节点联邦"

    def ready(self) -> None:
        from django.conf import settings

        from core import scheduler
        from core.personal_data import KEY_STORE, register_sealed_column
        from federation import keys, ping, tasks

        ping.register()
        # The node's signing keys: re-sealed by `manage.py reencrypt`.
        register_sealed_column(
            "federation.NodeKey", "sealed_private_key", ring=KEY_STORE, purpose=keys.PURPOSE
        )
        scheduler.register_periodic(
            "federation.refresh_directory",
            settings.FEDERATION_DIRECTORY_REFRESH_SECONDS,
            tasks.refresh_directory,
        )
        scheduler.register_periodic("federation.deliver_outbox", 0, tasks.deliver_outbox)
