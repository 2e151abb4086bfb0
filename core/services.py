"""Writes to the accounts: teams, memberships and personal API tokens.

Every function takes keyword arguments and runs in a transaction; a change to who may do what in a
team leaves an audit event, whichever door made it (the admin, ``bootstrap_admin``, the tests).
The actor defaults to the system: teams are made by operators and their scripts.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.db import transaction
from django.utils.text import slugify

from core.audit import SYSTEM, Actor, audit_record
from core.errors import validated_save
from core.models import ApiToken, Membership, Role, Team, token_digest

logger = logging.getLogger(__name__)


@transaction.atomic
def team_create(*, name: str, owner: Any = None, slug: str = "", actor: Actor = SYSTEM) -> Team:
    """Make a team (its slug from the name unless given); ``owner``, when given, owns it."""
    team = Team(name=name, slug=slug or slugify(name) or "team")
    validated_save(team)
    audit_record(actor=actor, team=team, action="team.create", detail={"name": team.name, "slug": team.slug})
    if owner is not None:
        membership_set(team=team, user=owner, role=Role.OWNER, actor=actor)
    return team


@transaction.atomic
def team_update(*, team: Team, name: str, slug: str, actor: Actor = SYSTEM) -> Team:
    """Rename a team; its slug is part of its pages' addresses."""
    detail = {"name": name, "slug": slug, "previous_name": team.name, "previous_slug": team.slug}
    team.name, team.slug = name, slug
    validated_save(team)
    audit_record(actor=actor, team=team, action="team.update", detail=detail)
    return team


@transaction.atomic
def membership_set(*, team: Team, user: Any, role: str, actor: Actor = SYSTEM) -> Membership:
    """Give ``user`` this role in ``team`` (a member already there changes role); a change leaves
    an audit event, a role set again to what it was does not."""
    membership = Membership.objects.select_for_update().filter(team=team, user=user).first()
    previous = membership.role if membership is not None else ""
    if membership is None:
        membership = Membership(team=team, user=user)
    membership.role = role
    validated_save(membership)
    if role != previous:
        detail = {"user": user.get_username(), "role": role, "previous_role": previous}
        audit_record(actor=actor, team=team, action="membership.set", detail=detail)
    return membership


@transaction.atomic
def membership_delete(*, membership: Membership, actor: Actor = SYSTEM) -> None:
    """Take a member out of a team; the team's components stay."""
    detail = {"user": membership.user.get_username(), "previous_role": membership.role}
    audit_record(actor=actor, team=membership.team, action="membership.delete", detail=detail)
    membership.delete()


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
