"""``python manage.py create_api_token <username> [--name N]``: the new key is the last line of output."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core import services as accounts
from core.errors import ComponentError


class Command(BaseCommand):
    help = "Create a console API token for a user and print it (once: only its digest is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--name",
            default="",
            help="What the token is for, e.g. deploy-hook (unique among the user's tokens; "
            "without it, 'command line' and the time).",
        )

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"There is no user {username!r}.")
        if not user.is_active:
            raise CommandError(f"{username} is inactive; a token of theirs would not be accepted.")
        name = name or f"command line {timezone.now():%Y-%m-%d %H:%M:%S.%f}"
        try:
            token, key = accounts.api_token_create(user=user, name=name)
        except ComponentError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Created the API token {token.prefix}… for {username}. Send it as 'Authorization: Token <key>'; "
            "it is shown only now:"
        )
        self.stdout.write(key)
