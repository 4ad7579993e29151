from django.apps import AppConfig


class FederationConfig(AppConfig):
    """Floor 2: the exchange between nodes — the signed directory, envelopes with their
    outbox, inbox and receipts, and the delivery worker. It knows envelope kinds only as
    strings; higher apps register their handlers in `federation.registry`."""

    name = "federation"
    verbose_name = "节点联邦"

    def ready(self) -> None:
        from federation import ping

        ping.register()
