"""Create (or reset) the demo editor account for the embedded set-up and print its credentials.

A fresh random password on every run: the credentials are only ever shown in this terminal.
"""

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.urls import reverse


class Command(BaseCommand):
    help = "Create or reset the demo editor account (staff, in the editors group) and print it."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="editor")
        parser.add_argument(
            "--port", type=int, default=8000, help="The port `make run` serves on (its PORT)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user, created = get_user_model().objects.get_or_create(
            username=options["username"], defaults={"email": "editor@example.org"}
        )
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.is_staff = True  # the editor works in the admin too
        user.save()
        user.groups.add(Group.objects.get(name="editors"))
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo editor {'created' if created else 'reset'}: "
                f"username {user.username!r}, password {password!r} "
                f"(sign in at http://127.0.0.1:{options['port']}{reverse('login')})"
            )
        )
