from django.apps import AppConfig


class RatificationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ratification"

    def ready(self) -> None:
        # Registers the tasks in every process, so that the services can queue them by name
        # (eagerly too, in tests) without importing the module that imports them.
        from . import receivers, tasks  # noqa: F401
