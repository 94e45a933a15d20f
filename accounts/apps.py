from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Accounts and API tokens"

    def ready(self) -> None:
        # Registers the token scheme with drf-spectacular (extensions register on import).
        from . import schema  # noqa: F401
