"""`manage.py audit_prune`: delete audit events older than AUDIT_RETENTION_DAYS (idempotent)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.audit import audit_prune


class Command(BaseCommand):
    help = "Delete audit events older than AUDIT_RETENTION_DAYS (also run daily by Celery beat)."

    def handle(self, *args, **options) -> None:
        deleted = audit_prune()
        self.stdout.write(
            f"{deleted} audit event(s) older than {settings.AUDIT_RETENTION_DAYS} days deleted."
        )
