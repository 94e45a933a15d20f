from django.apps import AppConfig


class WebConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "web"
    verbose_name = "Pages for analysts and editors"

    def ready(self) -> None:
        # Registers the tasks in every process, so that the domain can queue them by name
        # (ratification.tasks.KEPT_PAGE_TASK).
        from . import tasks  # noqa: F401
