from django.apps import AppConfig


class ForecastingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "forecasting"

    def ready(self) -> None:
        # Registers the tasks in every process: the domain runs them by name after a write.
        from . import tasks  # noqa: F401
