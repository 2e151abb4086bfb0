"""Notification channels of a team and the deliveries of their notifications (README, "Alerts")."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from components.models import Component
from core.models import Team
from core.validation import refuse_control_characters


def new_channel_secret() -> str:
    # 256 bits from the operating system's CSPRNG: the key of the webhook's HMAC-SHA256 signature.
    return secrets.token_hex(32)


def default_channel_language() -> str:
    """A new channel speaks the installation's language (settings.LANGUAGE_CODE) until told otherwise."""
    return settings.LANGUAGE_CODE


class ChannelKind(models.TextChoices):
    WEBHOOK = "webhook", gettext_lazy("Webhook (signed JSON)")
    SLACK = "slack", gettext_lazy("Slack-compatible webhook")
    EMAIL = "email", gettext_lazy("Email")
    ALERTMANAGER = "alertmanager", gettext_lazy("Prometheus Alertmanager (API v2)")


class ChannelScope(models.TextChoices):
    TEAM = "team", gettext_lazy("Every component of the team")
    COMPONENTS = "components", gettext_lazy("Chosen components")


class NotificationChannel(models.Model):
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="notification_channels", verbose_name=_("team")
    )
    name = models.CharField(max_length=100, verbose_name=_("name"))
    kind = models.CharField(
        max_length=16, choices=ChannelKind.choices, default=ChannelKind.WEBHOOK, verbose_name=_("kind")
    )
    # A URL for the webhooks, comma-separated addresses for email, Alertmanager's base URL.
    target = models.CharField(max_length=2000, verbose_name=_("target"))
    secret = models.CharField(
        max_length=64, default=new_channel_secret, editable=False, verbose_name=_("secret")
    )
    scope = models.CharField(
        max_length=16, choices=ChannelScope.choices, default=ChannelScope.TEAM, verbose_name=_("scope")
    )
    components = models.ManyToManyField(
        Component, blank=True, related_name="notification_channels", verbose_name=_("components")
    )
    on_instance_transitions = models.BooleanField(default=True, verbose_name=_("on instance transitions"))
    on_component_status = models.BooleanField(default=False, verbose_name=_("on component status"))
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    # The language of its messages (an email, a Slack text, an alert's summary): they have no browser
    # to ask, so the channel says it (one of settings.LANGUAGES).
    # Left blank (an older client of the form), it is the installation's.
    language = models.CharField(
        max_length=16,
        choices=settings.LANGUAGES,
        default=default_channel_language,
        blank=True,
        verbose_name=_("language"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("notification channel")
        verbose_name_plural = _("notification channels")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "name"],
                name="channel_unique_name_in_team",
                violation_error_message=gettext_lazy(
                    "The team already has a channel with this name; choose another."
                ),
            ),
            models.CheckConstraint(condition=Q(kind__in=ChannelKind.values), name="channel_kind_valid"),
            models.CheckConstraint(condition=Q(scope__in=ChannelScope.values), name="channel_scope_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        refuse_control_characters(name=self.name)
        if not self.language:
            self.language = default_channel_language()

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
    PENDING = "pending", gettext_lazy("Pending")
    SENT = "sent", gettext_lazy("Sent")
    FAILED = "failed", gettext_lazy("Failed")


class Delivery(models.Model):
    """One notification to one channel. ``key`` names the event (a transition, a test): the same event
    is never delivered twice to a channel, and the receiver gets it as ``X-Kato-Delivery``.

    The table is the outbox: a row is written in the transaction that records its event, and holds
    everything about its sending (the attempts made, when the next one is due, and the lease of the
    attempt under way), so that a broker or a worker that goes away loses nothing (``services``).
    """

    channel = models.ForeignKey(
        NotificationChannel, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("channel")
    )
    key = models.CharField(max_length=64, verbose_name=_("key"))
    event = models.CharField(max_length=40, verbose_name=_("event"))
    summary = models.CharField(max_length=300, verbose_name=_("summary"))
    # The notification's content, as sent; it never holds a secret (no variables, no keys).
    payload = models.JSONField(default=dict, verbose_name=_("payload"))
    status = models.CharField(
        max_length=16,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
        verbose_name=_("status"),
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    # When a pending delivery is next handed to a worker: the backoff after a failed attempt, or the
    # time after which a queued attempt whose message was lost is queued again.
    next_attempt_at = models.DateTimeField(default=timezone.now, verbose_name=_("next attempt at"))
    # An attempt under way holds the delivery until then; a lease that ran out is an abandoned attempt.
    lease_until = models.DateTimeField(null=True, blank=True, verbose_name=_("lease until"))
    last_error = models.CharField(max_length=500, blank=True, verbose_name=_("last error"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))

    class Meta:
        verbose_name = _("delivery")
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
        verbose_name_plural = _("deliveries")

    def __str__(self) -> str:
        return f"{self.event} → {self.channel.name} ({self.status})"
