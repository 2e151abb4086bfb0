"""Accounts (teams, memberships, personal API tokens) and the audit trail: one row for every
change, reveal and health transition (docs/architecture.md).

The audit event refers to its component by name ("components.Component"), so that this app, at the
bottom of the layers, imports nothing above it.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.validation import refuse_control_characters


def token_digest(key: str) -> str:
    """What is stored of a personal API token: the SHA-256 digest of its key."""
    return hashlib.sha256(key.encode()).hexdigest()


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        abstract = True


class Team(TimeStamped):
    name = models.CharField(max_length=100, verbose_name=_("name"))
    slug = models.SlugField(max_length=100, unique=True, verbose_name=_("slug"))
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams", verbose_name=_("members")
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        refuse_control_characters(name=self.name)


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    DEVELOPER = "developer", _("Developer")
    VIEWER = "viewer", _("Viewer")


class MembershipSource(models.TextChoices):
    """Where a membership comes from: given in the console (local), or from the user's groups in
    the company directory at sign-in (README, "Teams from groups"). Only the latter are taken away
    when the user leaves the group; a local membership is never touched by a sign-in."""

    LOCAL = "local", _("Local")
    LDAP = "ldap", _("LDAP group")
    OIDC = "oidc", _("OpenID Connect group")


class Membership(TimeStamped):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("team")
    )
    role = models.CharField(
        max_length=16, choices=Role.choices, default=Role.DEVELOPER, verbose_name=_("role")
    )
    source = models.CharField(
        max_length=8,
        choices=MembershipSource.choices,
        default=MembershipSource.LOCAL,
        verbose_name=_("source"),
    )

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="membership_unique_user_team"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role in (Role.OWNER, Role.DEVELOPER)


class ActorKind(models.TextChoices):
    USER = "user", _("User")
    API_KEY = "api-key", _("API key")
    API_TOKEN = "api-token", _("API token")
    SYSTEM = "system", _("System")


# Every action the console writes. The admin's and the events page's action filters offer these
# rather than a SELECT DISTINCT over a table of a million rows (tests/core/test_audit_actions.py
# checks that the code writes no other).
AUDIT_ACTIONS = (
    "account.sign_in",
    "application.create",
    "channel.create",
    "channel.delete",
    "channel.regenerate",
    "channel.reveal",
    "channel.test",
    "channel.update",
    "component.create",
    "component.delete",
    "component.probe",
    "component.update",
    "dependency.add",
    "dependency.remove",
    "env.create",
    "env.delete",
    "env.reveal",
    "env.update",
    "health_check.pause",
    "health_check.resume",
    "health_check.update",
    "instance.add",
    "instance.delete",
    "instance.dns_change",
    "instance.healthy",
    "instance.offline",
    "instance.online",
    "instance.unhealthy",
    "instance.unknown",
    "instance.update",
    "maintenance.create",
    "maintenance.delete",
    "maintenance.end",
    "maintenance.start",
    "membership.delete",
    "membership.set",
    "port.create",
    "port.delete",
    "port.update",
    "secret_key.regenerate",
    "status_page.publish",
    "status_page.unpublish",
    "secret_key.reveal",
    "team.create",
    "team.update",
)


class AuditEvent(models.Model):
    # No index of its own: audit_recent (created_at, id) serves the newest-first lists and the
    # retention's range, and every index is paid for by each event written.
    created_at = models.DateTimeField(auto_now_add=True, db_index=False, verbose_name=_("created at"))
    # team and component have no index of their own: audit_team_recent and audit_component_recent
    # start with them, and every index is paid for by each event written.
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="audit_events", db_index=False, verbose_name=_("team")
    )
    component = models.ForeignKey(
        "components.Component",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
        db_index=False,
        verbose_name=_("component"),
    )
    component_label = models.CharField(max_length=64, blank=True, verbose_name=_("component label"))
    actor = models.CharField(max_length=16, choices=ActorKind.choices, verbose_name=_("actor"))
    # Indexed only where set (audit_user): most events are the instance API's or the sweep's.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        verbose_name=_("user"),
    )
    action = models.CharField(max_length=64, verbose_name=_("action"))
    detail = models.JSONField(default=dict, blank=True, verbose_name=_("detail"))
    remote_addr = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("remote addr"))

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["team", "-created_at"], name="audit_team_recent"),
            # With the id: the events page's order is read from the index, however deep its page.
            models.Index(fields=["component", "-created_at", "-id"], name="audit_component_recent"),
            # The events page filtered by action: without it, an action the component rarely has
            # means reading every one of its events.
            models.Index(fields=["component", "action", "-created_at", "-id"], name="audit_component_action"),
            models.Index(fields=["user"], name="audit_user", condition=Q(user__isnull=False)),
            # The admin's changelist: newest first with the id as tiebreaker (a sweep writes many
            # events with one timestamp), its action filter, and its exact search on the label.
            models.Index(fields=["-created_at", "-id"], name="audit_recent"),
            models.Index(fields=["action", "-created_at", "-id"], name="audit_action_recent"),
            models.Index(fields=["component_label", "-created_at", "-id"], name="audit_label_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label}"

    @property
    def actor_label(self) -> str:
        if self.actor in (ActorKind.USER, ActorKind.API_TOKEN) and self.user is not None:
            return self.user.get_username()
        return self.actor


class ApiToken(models.Model):
    """A personal token for the console API; only its SHA-256 digest is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("user")
    )
    name = models.CharField(max_length=100, blank=True, verbose_name=_("name"))
    prefix = models.CharField(max_length=8, editable=False, verbose_name=_("prefix"))
    digest = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("digest"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("last used at"))

    class Meta:
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]
        verbose_name = _("API token")
        # Names are required (core.services.api_token_create); tokens from before may have none.
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"],
                condition=~Q(name=""),
                name="api_token_name_unique_per_user",
                violation_error_message=_("You already have a token with this name; choose another."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
