from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"
    verbose_name = "Accounts, API tokens and the audit log"

    def ready(self) -> None:
        # `authentication` registers the token scheme with drf-spectacular (extensions register
        # on import); `tasks` registers the audit log's pruning.
        from axes.signals import user_locked_out
        from django.contrib.auth import signals as auth_signals

        from . import audit, authentication, tasks  # noqa: F401

        # The audit log's receivers; dispatch_uid keeps a second ready() from doubling them.
        auth_signals.user_logged_in.connect(audit.on_logged_in, dispatch_uid="audit_sign_in")
        auth_signals.user_logged_out.connect(audit.on_logged_out, dispatch_uid="audit_sign_out")
        auth_signals.user_login_failed.connect(
            audit.on_login_failed, dispatch_uid="audit_sign_in_failed"
        )
        user_locked_out.connect(audit.on_locked_out, dispatch_uid="audit_locked_out")
