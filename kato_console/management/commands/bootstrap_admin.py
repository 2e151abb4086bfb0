"""Create the first operator and the default team; safe to run at every start."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from core import services as accounts
from core.models import Role, Team

DEFAULT_TEAM = ("Default", "default")


class Command(BaseCommand):
    help = "Create (or update) a superuser who owns the default team. Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", help="Generated and printed once when not given (for a new user).")
        parser.add_argument("--email", default="")

    @transaction.atomic
    def handle(self, *args: Any, username: str, password: str | None, email: str, **options: Any) -> None:
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        generated = None
        if user is None:
            generated = None if password else secrets.token_urlsafe(12)
            user = User.objects.create_superuser(
                username=username, email=email, password=password or generated
            )
            self.stdout.write(f"Created the superuser {username}.")
        else:
            changed = not (user.is_superuser and user.is_staff and user.is_active)
            user.is_superuser = user.is_staff = user.is_active = True
            if password and not user.check_password(password):
                user.set_password(password)
                changed = True
            if changed:
                user.save()
            self.stdout.write(f"The superuser {username} already exists{'; updated' if changed else ''}.")
        # Through the accounts' services, so that the team and the ownership leave audit events.
        team = Team.objects.filter(slug=DEFAULT_TEAM[1]).first()
        if team is None:
            team = accounts.team_create(name=DEFAULT_TEAM[0], slug=DEFAULT_TEAM[1])
        accounts.membership_set(team=team, user=user, role=Role.OWNER)
        if generated:
            self.stdout.write(f"Its password (shown once, keep it): {generated}")
