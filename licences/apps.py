from django.apps import AppConfig


class LicencesConfig(AppConfig):
    """Floor 3: electronic seals, the licence library, verification, the holder's wallet."""

    name = "licences"
    verbose_name = "电子证照"
