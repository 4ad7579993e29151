from django.apps import AppConfig


class LicencesConfig(AppConfig):
    """Floor 3: electronic seals, the licence library, verification, the holder's wallet."""

    name = "licences"
    verbose_name = "电子证照"

    def ready(self) -> None:
        from core.personal_data import KEY_STORE, register_sealed_column
        from federation import registry
        from licences import keys, recognition, services

        # Seals' private keys (local key store): re-sealed by `manage.py reencrypt`.
        register_sealed_column(
            "licences.StoredKey", "sealed_private_key", ring=KEY_STORE, purpose=keys.PURPOSE
        )

        # Other nodes verify this node's licences offline from the directory's seals and
        # ask this node for their status (docs/licences.md, "Licences of other nodes").
        registry.register_key_provider(recognition.published_seals)
        registry.register_query(
            recognition.STATUS_QUERY, recognition.StatusQuestion, services.answer_licence_status
        )
