"""Give a user the editor role (the `editors` group), or take it away with --revoke.

Idempotent: granting to an editor, or revoking from someone who is not one, changes nothing and
says so.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

EDITORS = "editors"


class Command(BaseCommand):
    help = "Grant the editor role to a user (or revoke it with --revoke)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--revoke", action="store_true", help="Take the editor role away instead."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        try:
            user = get_user_model().objects.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        try:
            group = Group.objects.get(name=EDITORS)
        except Group.DoesNotExist:
            raise CommandError(
                "The editors group is missing; run `manage.py migrate` first."
            ) from None
        is_editor = user.groups.filter(pk=group.pk).exists()
        if options["revoke"]:
            if not is_editor:
                self.stdout.write(f"{username} is not an editor; nothing to do.")
                return
            user.groups.remove(group)
            self.stdout.write(self.style.SUCCESS(f"{username} is no longer an editor."))
            return
        if is_editor:
            self.stdout.write(f"{username} is already an editor; nothing to do.")
            return
        user.groups.add(group)
        self.stdout.write(self.style.SUCCESS(f"{username} is now an editor."))
