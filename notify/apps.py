from django.apps import AppConfig


class NotifyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notify"
    verbose_name = "Notifications: webhooks, follows and feeds"

    def ready(self) -> None:
        # Registers the relays in every process, so that the domain, which never imports this
        # app, can start them by name (eagerly too, in tests).
        from ratification.signals import agreement_merging

        from . import receivers, tasks  # noqa: F401

        agreement_merging.connect(receivers.agreement_merging, dispatch_uid="notify.merging")
