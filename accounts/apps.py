from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Accounts, API tokens and follows"

    def ready(self) -> None:
        # `schema` registers the token scheme with drf-spectacular (extensions register on
        # import). `tasks` registers the follow tasks in every process, so that ratification,
        # which may not import this app, can start them by name (eagerly too, in tests).
        from . import schema, tasks  # noqa: F401
