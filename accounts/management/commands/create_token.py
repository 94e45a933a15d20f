"""Create an API token for a user and print it (the only time it is shown)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import token_create


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it; it is stored hashed."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--read-only", action="store_true", help="The token cannot write.")
        parser.add_argument(
            "--expires-in-days", type=int, default=None, help="Expire after N days (default never)."
        )
        parser.add_argument("--name", default="", help="What the token is for.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}.")
        try:
            token, raw = token_create(
                user=user,
                name=options["name"],
                read_only=options["read_only"],
                expires_in_days=options["expires_in_days"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        expiry = token.expires_at.isoformat() if token.expires_at else "never"
        mode = "read-only" if token.read_only else "read-write"
        self.stderr.write(f"{mode} token for {user.username}, expires {expiry}. Shown only once:")
        self.stdout.write(raw)
