"""Writes to the accounts: teams, memberships and personal API tokens.

Every function takes keyword arguments and runs in a transaction; a change to who may do what in a
team leaves an audit event, whichever door made it (the admin, ``bootstrap_admin``, the tests).
The actor defaults to the system: teams are made by operators and their scripts.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.utils.text import slugify

from core.audit import SYSTEM, Actor, audit_record
from core.errors import validated_save
from core.groups import GroupTeam
from core.models import ApiToken, Membership, MembershipSource, Role, Team, token_digest

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
def membership_set(
    *, team: Team, user: Any, role: str, actor: Actor = SYSTEM, source: str = MembershipSource.LOCAL
) -> Membership:
    """Give ``user`` this role in ``team`` (a member already there changes role); a change leaves
    an audit event, a role set again to what it was does not. ``source`` says where the membership
    comes from: the console (local) or a directory group at sign-in (``memberships_from_groups``)."""
    membership = Membership.objects.select_for_update().filter(team=team, user=user).first()
    previous = membership.role if membership is not None else ""
    previous_source = membership.source if membership is not None else ""
    if membership is None:
        membership = Membership(team=team, user=user)
    membership.role = role
    membership.source = source
    validated_save(membership)
    if role != previous or source != previous_source:
        detail = {"user": user.get_username(), "role": role, "previous_role": previous}
        if source != MembershipSource.LOCAL or previous_source not in ("", MembershipSource.LOCAL):
            detail["source"] = source  # said only for a membership that a directory group gave
        audit_record(actor=actor, team=team, action="membership.set", detail=detail)
    return membership


@transaction.atomic
def membership_delete(*, membership: Membership, actor: Actor = SYSTEM) -> None:
    """Take a member out of a team; the team's components stay."""
    detail = {"user": membership.user.get_username(), "previous_role": membership.role}
    if membership.source != MembershipSource.LOCAL:
        detail["source"] = membership.source
    audit_record(actor=actor, team=membership.team, action="membership.delete", detail=detail)
    membership.delete()


ROLE_RANK = {Role.VIEWER: 0, Role.DEVELOPER: 1, Role.OWNER: 2}


@transaction.atomic
def memberships_from_groups(
    *, user: Any, provider: str, groups: Iterable[str], mapping: Sequence[GroupTeam], actor: Actor
) -> list[Membership]:
    """Bring the user's memberships from ``provider``'s groups in line with ``mapping``, at sign-in.

    A mapped group gives its role in its team (the highest role when several groups name the same
    team); a membership that came from this provider's groups and that no group gives any more is
    taken away. Local memberships, given in the console, are neither changed nor taken away. Every
    change goes through ``membership_set`` / ``membership_delete`` and so into the audit trail.
    Returns the user's memberships from the provider after the sign-in."""
    folded = {group.casefold() for group in groups}
    wanted: dict[str, str] = {}
    for line in mapping:
        if line.matches(provider, folded):
            current = wanted.get(line.team)
            if current is None or ROLE_RANK[Role(line.role)] > ROLE_RANK[Role(current)]:
                wanted[line.team] = line.role
    teams = {team.slug: team for team in Team.objects.filter(slug__in=wanted)}
    for slug in wanted.keys() - teams.keys():
        logger.warning("The group mapping names a team %r that does not exist; it is skipped.", slug)
    existing = {
        membership.team.slug: membership
        for membership in Membership.objects.select_related("team").filter(user=user)
    }
    kept: list[Membership] = []
    for slug, team in teams.items():
        membership = existing.get(slug)
        if membership is not None and membership.source == MembershipSource.LOCAL:
            continue
        kept.append(membership_set(team=team, user=user, role=wanted[slug], actor=actor, source=provider))
    for slug, membership in existing.items():
        if membership.source == provider and slug not in teams:
            membership_delete(membership=membership, actor=actor)
    return kept


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


@transaction.atomic
def external_sign_in(
    *,
    user: Any,
    provider: str,
    provider_name: str,
    groups: Iterable[str],
    mapping: Sequence[GroupTeam],
    actor: Actor,
) -> None:
    """What every LDAP or OpenID Connect sign-in does after the directory said yes: the teams from
    the groups (``memberships_from_groups``), then one ``account.sign_in`` event in each team the
    user is in, naming the provider (the audit trail is kept per team)."""
    groups = list(groups)
    memberships_from_groups(user=user, provider=provider, groups=groups, mapping=mapping, actor=actor)
    detail = {"user": user.get_username(), "provider": provider, "provider_name": provider_name}
    for team in Team.objects.filter(memberships__user=user).order_by("pk"):
        audit_record(actor=actor, team=team, action="account.sign_in", detail=detail)
    logger.info("User %s signed in through %s", user.pk, provider)
