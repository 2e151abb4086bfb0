"""The audit trail: one row for every change, reveal and health transition (docs/architecture.md).

The model refers to the teams and components by name ("components.Team"), so that this app, at
the bottom of the layers, imports nothing above it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ActorKind(models.TextChoices):
    USER = "user", "User"
    API_KEY = "api-key", "API key"
    API_TOKEN = "api-token", "API token"
    SYSTEM = "system", "System"


class AuditEvent(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # team and component have no index of their own: audit_team_recent and audit_component_recent
    # start with them, and every index is paid for by each event written.
    team = models.ForeignKey(
        "components.Team", on_delete=models.CASCADE, related_name="audit_events", db_index=False
    )
    component = models.ForeignKey(
        "components.Component",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_events",
        db_index=False,
    )
    component_label = models.CharField(max_length=64, blank=True)
    actor = models.CharField(max_length=16, choices=ActorKind.choices)
    # Indexed only where set (audit_user): most events are the instance API's or the sweep's.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, db_index=False
    )
    action = models.CharField(max_length=64)
    detail = models.JSONField(default=dict, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        # The table keeps the name it was created with, when the model lived in the components app.
        db_table = "components_auditevent"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["team", "-created_at"], name="audit_team_recent"),
            models.Index(fields=["component", "-created_at"], name="audit_component_recent"),
            models.Index(fields=["user"], name="audit_user", condition=Q(user__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label}"

    @property
    def actor_label(self) -> str:
        if self.actor in (ActorKind.USER, ActorKind.API_TOKEN) and self.user is not None:
            return self.user.get_username()
        return self.actor
