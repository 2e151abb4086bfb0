"""Writes to the accounts: teams, memberships and personal API tokens.

Every function takes keyword arguments and runs in a transaction; a change to who may do what in a
team leaves an audit event, whichever door made it (the admin, ``bootstrap_admin``, the tests).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.db import transaction
from django.utils.text import slugify

from core.errors import validated_save
from core.models import ApiToken, Membership, Role, Team, token_digest

logger = logging.getLogger(__name__)


@transaction.atomic
def team_create(*, name: str, owner: Any = None, slug: str = "") -> Team:
    team = Team(name=name, slug=slug or slugify(name) or "team")
    validated_save(team)
    if owner is not None:
        Membership.objects.create(user=owner, team=team, role=Role.OWNER)
    return team


@transaction.atomic
def membership_set(*, team: Team, user: Any, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(team=team, user=user, defaults={"role": role})
    membership.full_clean()
    return membership


@transaction.atomic
def api_token_create(*, user: Any, name: str = "") -> tuple[ApiToken, str]:
    """Make a personal API token; returns it with its key, which is shown once and never stored."""
    key = secrets.token_urlsafe(32)  # 256 bits from the operating system's CSPRNG.
    token = ApiToken(user=user, name=(name or "").strip()[:100], prefix=key[:8], digest=token_digest(key))
    validated_save(token)
    logger.info("API token %s created for user %s", token.pk, user.pk)
    return token, key


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> None:
    """Delete a token; requests that present it are refused from now on."""
    logger.info("API token %s of user %s revoked", token.pk, token.user_id)
    token.delete()
