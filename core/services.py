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

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext

from core.audit import SYSTEM, Actor, audit_record
from core.errors import ComponentError, validated_save
from core.groups import GroupTeam
from core.models import ApiToken, Membership, MembershipSource, Role, Team, token_digest
from core.validation import refuse_control_characters

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
    Team.objects.select_for_update().filter(pk=team.pk).first()  # one change of members at a time
    membership = Membership.objects.filter(team=team, user=user).first()
    previous = membership.role if membership is not None else ""
    previous_source = membership.source if membership is not None else ""
    if previous == Role.OWNER and role != Role.OWNER:
        _refuse_removing_the_last_owner(team=team, user=user, doing="stop being an owner")
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


def _refuse_removing_the_last_owner(*, team: Team, user: Any, doing: str) -> None:
    if not Membership.objects.filter(team=team, role=Role.OWNER).exclude(user=user).exists():
        message = (
            gettext(
                "%(user)s is the last owner of %(team)s and cannot stop being an owner: "
                "make another member an owner first."
            )
            if doing == "stop being an owner"
            else gettext(
                "%(user)s is the last owner of %(team)s and cannot leave the team: "
                "make another member an owner first."
            )
        )
        raise ComponentError(message % {"user": user.get_username(), "team": team.name})


@transaction.atomic
def membership_delete(*, membership: Membership, actor: Actor = SYSTEM) -> None:
    """Take a member out of a team; the team's components stay. The last owner stays: a team
    without one could no longer manage its members."""
    Team.objects.select_for_update().filter(pk=membership.team_id).first()
    membership.refresh_from_db(fields=["role"])
    if membership.role == Role.OWNER:
        _refuse_removing_the_last_owner(team=membership.team, user=membership.user, doing="leave the team")
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
        try:
            kept.append(membership_set(team=team, user=user, role=wanted[slug], actor=actor, source=provider))
        except ComponentError as error:  # the team's last owner stays an owner until another is named
            logger.warning("Sign-in of user %s: %s", user.pk, error)
    for slug, membership in existing.items():
        if membership.source == provider and slug not in teams:
            try:
                membership_delete(membership=membership, actor=actor)
            except ComponentError as error:
                logger.warning("Sign-in of user %s: %s", user.pk, error)
    return kept


@transaction.atomic
def api_token_create(*, user: Any, name: str) -> tuple[ApiToken, str]:
    """Make a personal API token; returns it with its key, which is shown once and never stored.

    The name says what the token is for; it is required and unique among the user's tokens, so that
    a list of tokens can be read and the right one revoked."""
    name = (name or "").strip()
    try:  # Before the name is looked up: PostgreSQL refuses a NUL byte even in a query.
        refuse_control_characters(name=name)
    except ValidationError as error:
        raise ComponentError.from_validation(error) from None
    if not name:
        raise ComponentError(
            {"name": [gettext("Give the token a name that says what it is for, e.g. deploy hook.")]}
        )
    if len(name) > 100:
        raise ComponentError({"name": [gettext("A token's name has at most 100 characters.")]})
    if ApiToken.objects.filter(user=user, name=name).exists():
        raise ComponentError(
            {
                "name": [
                    gettext("You already have a token called '%(name)s'; choose another name.")
                    % {"name": name}
                ]
            }
        )
    key = secrets.token_urlsafe(32)  # 256 bits from the operating system's CSPRNG.
    token = ApiToken(user=user, name=name, prefix=key[:8], digest=token_digest(key))
    validated_save(token)
    logger.info("API token %s created for user %s", token.pk, user.pk)
    return token, key


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> None:
    """Delete a token; requests that present it are refused from now on."""
    logger.info("API token %s of user %s revoked", token.pk, token.user_id)
    token.delete()


@transaction.atomic
def password_change(*, user: Any, password: str) -> None:
    """Give the user a new password (the form that asked for it checked the old one and Django's
    password validators). Every other session of theirs ends with it: Django keys a session to the
    password it was opened with."""
    user.set_password(password)
    user.save(update_fields=["password"])
    logger.info("User %s changed their password", user.pk)


@transaction.atomic
def sessions_end_others(*, user: Any, keep: str | None) -> int:
    """Sign the user out everywhere but the session ``keep`` (the one asking); returns how many
    sessions ended. Sessions live in the database: each unexpired one is read to find its user."""
    ended = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.session_key != keep and session.get_decoded().get(SESSION_KEY) == str(user.pk):
            ended.append(session.session_key)
    Session.objects.filter(session_key__in=ended).delete()
    logger.info("User %s signed out %d other sessions", user.pk, len(ended))
    return len(ended)


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
