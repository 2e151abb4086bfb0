"""Notification channels of a team and the deliveries of their notifications (README, "Alerts")."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from components.models import Component
from core.models import Team
from core.validation import refuse_control_characters


def new_channel_secret() -> str:
    # 256 bits from the operating system's CSPRNG: the key of the webhook's HMAC-SHA256 signature.
    return secrets.token_hex(32)


class ChannelKind(models.TextChoices):
    WEBHOOK = "webhook", gettext_lazy("Webhook (signed JSON)")
    SLACK = "slack", gettext_lazy("Slack-compatible webhook")
    EMAIL = "email", gettext_lazy("Email")
    ALERTMANAGER = "alertmanager", "Prometheus Alertmanager (API v2)"


class ChannelScope(models.TextChoices):
    TEAM = "team", gettext_lazy("Every component of the team")
    COMPONENTS = "components", gettext_lazy("Chosen components")


class NotificationChannel(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="notification_channels")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=ChannelKind.choices, default=ChannelKind.WEBHOOK)
    # A URL for the webhooks, comma-separated addresses for email, Alertmanager's base URL.
    target = models.CharField(max_length=2000)
    secret = models.CharField(max_length=64, default=new_channel_secret, editable=False)
    scope = models.CharField(max_length=16, choices=ChannelScope.choices, default=ChannelScope.TEAM)
    components = models.ManyToManyField(Component, blank=True, related_name="notification_channels")
    on_instance_transitions = models.BooleanField(default=True)
    on_component_status = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "name"],
                name="channel_unique_name_in_team",
                violation_error_message="The team already has a channel with this name; choose another.",
            ),
            models.CheckConstraint(condition=Q(kind__in=ChannelKind.values), name="channel_kind_valid"),
            models.CheckConstraint(condition=Q(scope__in=ChannelScope.values), name="channel_scope_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        refuse_control_characters(name=self.name)

    def __repr__(self) -> str:
        # Never the secret: a channel may end up in a log line or a traceback.
        return f"<NotificationChannel {self.pk} {self.kind} {self.name!r}>"

    @property
    def masked_secret(self) -> str:
        return f"{self.secret[:4]}…" if self.secret else ""

    @property
    def masked_target(self) -> str:
        """The target as a viewer sees it: a webhook's scheme and host, never its path or query (a
        Slack-compatible URL carries its token there); email addresses as they are."""
        if self.kind == ChannelKind.EMAIL:
            return self.target
        scheme, _, rest = self.target.partition("://")
        host = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
        return f"{scheme}://{host}/…" if host else "…"

    @property
    def recipients(self) -> list[str]:
        return [address.strip() for address in self.target.split(",") if address.strip()]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One notification to one channel. ``key`` names the event (a transition, a test): the same event
    is never delivered twice to a channel, and the receiver gets it as ``X-Kato-Delivery``.

    The table is the outbox: a row is written in the transaction that records its event, and holds
    everything about its sending (the attempts made, when the next one is due, and the lease of the
    attempt under way), so that a broker or a worker that goes away loses nothing (``services``).
    """

    channel = models.ForeignKey(NotificationChannel, on_delete=models.CASCADE, related_name="deliveries")
    key = models.CharField(max_length=64)
    event = models.CharField(max_length=40)
    summary = models.CharField(max_length=300)
    # The notification's content, as sent; it never holds a secret (no variables, no keys).
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When a pending delivery is next handed to a worker: the backoff after a failed attempt, or the
    # time after which a queued attempt whose message was lost is queued again.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # An attempt under way holds the delivery until then; a lease that ran out is an abandoned attempt.
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "key"], name="delivery_unique_key_per_channel"),
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="delivery_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["channel", "-created_at"], name="delivery_channel_recent"),
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="delivery_pending_due"
            ),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.event} → {self.channel.name} ({self.status})"
