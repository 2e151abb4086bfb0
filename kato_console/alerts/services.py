"""Writes of the alerts app: channels (audited as ``channel.*``), and deliveries (README, "Alerts").

A delivery is created once per channel and event (the database's unique key makes a second try a
no-op), in the transaction that records the event, and its first attempt is queued after the
commit; ``outbox`` makes and records the attempts, and hands out again whatever a broker or a worker
lost.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from components.models import Component
from components.selectors import transitive_dependents
from core.audit import Actor, audit_record
from core.errors import ComponentError, validated_save
from core.models import Team
from instances import maintenance
from instances.models import Health, Instance, Status
from instances.selectors import instance_status_counts, status_from_counts
from instances.signals import HealthTransition
from kato_console.alerts import outbox, payloads, sending, tasks
from kato_console.alerts.models import (
    ChannelKind,
    ChannelScope,
    Delivery,
    DeliveryStatus,
    NotificationChannel,
    new_channel_secret,
)

logger = logging.getLogger(__name__)

MAX_RECIPIENTS = 20
TEST_INTERVAL_S = 60
_FIELDS = (
    "name",
    "kind",
    "target",
    "scope",
    "on_instance_transitions",
    "on_component_status",
    "enabled",
    "language",
)


# --------------------------------------------------------------------------------------------
# Channels
# --------------------------------------------------------------------------------------------


@transaction.atomic
def channel_create(
    *, team: Team, actor: Actor, components: Iterable[Component] = (), **fields: Any
) -> NotificationChannel:
    """A new channel of the team; its webhook secret is generated here and returned on the object."""
    channel = NotificationChannel(team=team, **fields)
    _save(channel, components)
    audit_record(actor=actor, action="channel.create", team=team, detail=_audit_detail(channel))
    return channel


@transaction.atomic
def channel_update(
    *,
    channel: NotificationChannel,
    actor: Actor,
    components: Iterable[Component] | None = None,
    **changes: Any,
) -> NotificationChannel:
    unknown = set(changes) - set(_FIELDS)
    if unknown:
        raise ValueError(f"channel_update does not change {sorted(unknown)}")
    for name, value in changes.items():
        setattr(channel, name, value)
    _save(channel, components)
    audit_record(actor=actor, action="channel.update", team=channel.team, detail=_audit_detail(channel))
    return channel


@transaction.atomic
def channel_delete(*, channel: NotificationChannel, actor: Actor) -> None:
    detail = _audit_detail(channel)
    team = channel.team
    channel.delete()
    audit_record(actor=actor, action="channel.delete", team=team, detail=detail)


@transaction.atomic
def channel_secret_reveal(*, channel: NotificationChannel, actor: Actor) -> str:
    """The webhook's signing secret, for a person to copy into the receiver; the reveal is audited."""
    audit_record(actor=actor, action="channel.reveal", team=channel.team, detail={"channel": channel.name})
    return channel.secret


@transaction.atomic
def channel_secret_regenerate(*, channel: NotificationChannel, actor: Actor) -> str:
    channel.secret = new_channel_secret()
    channel.save(update_fields=["secret", "updated_at"])
    audit_record(
        actor=actor, action="channel.regenerate", team=channel.team, detail={"channel": channel.name}
    )
    return channel.secret


@transaction.atomic
def channel_test(*, channel: NotificationChannel, actor: Actor) -> Delivery:
    """Queue a test notification to the channel, whether or not it is enabled; at most one per
    ``TEST_INTERVAL_S`` per channel, so that "Send test" cannot make the console a spam relay."""
    # The channel's row lock makes two clicks at once one test, not two.
    NotificationChannel.objects.select_for_update().filter(pk=channel.pk).first()
    since = timezone.now() - timedelta(seconds=TEST_INTERVAL_S)
    if Delivery.objects.filter(channel=channel, event="test", created_at__gte=since).exists():
        raise ComponentError(
            gettext(
                "A test notification went to this channel less than %(seconds)s seconds ago; wait a moment before sending another."
            )
            % {"seconds": TEST_INTERVAL_S}
        )
    with translation.override(channel.language):
        payload = payloads.sample_payload(
            team_name=channel.team.name, channel_name=channel.name, at=timezone.now()
        )
    delivery = Delivery.objects.create(
        channel=channel,
        key=f"test-{uuid.uuid4().hex}",
        event="test",
        summary=payloads.summary_in(payload, channel.language),
        payload=payload,
        next_attempt_at=outbox.first_attempt_at(),
    )
    audit_record(actor=actor, action="channel.test", team=channel.team, detail={"channel": channel.name})
    _queue_after_commit([delivery.pk])
    return delivery


def _save(channel: NotificationChannel, components: Iterable[Component] | None) -> None:
    chosen = list(components) if components is not None else None
    _check_target(channel)
    if chosen is not None and any(component.team_id != channel.team_id for component in chosen):
        raise ComponentError({"components": [gettext("Choose components of the channel's team.")]})
    if channel.scope == ChannelScope.COMPONENTS and chosen is not None and not chosen:
        raise ComponentError(
            {"components": [gettext("Choose at least one component, or notify for the whole team.")]}
        )
    validated_save(channel)
    if chosen is not None:
        channel.components.set(chosen)


def _check_target(channel: NotificationChannel) -> None:
    channel.target = channel.target.strip()
    check_target(kind=channel.kind, target=channel.target)
    if channel.kind == ChannelKind.EMAIL:
        channel.target = ", ".join(channel.recipients)


def check_target(*, kind: str, target: str) -> None:
    """Refuse (``ComponentError`` on ``target``) a malformed target, or a webhook URL whose host
    resolves into a denied network."""
    target = target.strip()
    if kind == ChannelKind.EMAIL:
        _check_recipients([address.strip() for address in target.split(",") if address.strip()])
        return
    try:
        URLValidator(schemes=["http", "https"])(target)
        sending.allowed_addresses(target, settings.KATO_DENIED_NETWORKS)
    except ValidationError:
        raise ComponentError({"target": [gettext("Enter an http:// or https:// URL.")]}) from None
    except sending.SendError as error:
        raise ComponentError({"target": [str(error)]}) from None


def _check_recipients(recipients: list[str]) -> None:
    if not recipients:
        raise ComponentError({"target": [gettext("Enter at least one email address.")]})
    if len(recipients) > MAX_RECIPIENTS:
        raise ComponentError({"target": [gettext("Enter at most %(n)s addresses.") % {"n": MAX_RECIPIENTS}]})
    for address in recipients:
        try:
            validate_email(address)
        except ValidationError:
            raise ComponentError(
                {"target": [gettext("%(address)s is not an email address.") % {"address": address[:100]}]}
            ) from None


def _audit_detail(channel: NotificationChannel) -> dict[str, Any]:
    # The target's host only: a Slack-compatible URL carries its token in the path. Never the secret.
    target = channel.target if channel.kind == ChannelKind.EMAIL else _host_of(channel.target)
    detail: dict[str, Any] = {field: getattr(channel, field) for field in _FIELDS if field != "target"}
    return {**detail, "target": target}


def _host_of(url: str) -> str:
    try:
        return sending.webhook_url(url).host or ""
    except sending.SendError:
        return ""


# --------------------------------------------------------------------------------------------
# Deliveries
# --------------------------------------------------------------------------------------------


@transaction.atomic
def deliveries_for_transitions(*, transitions: Sequence[HealthTransition]) -> list[int]:
    """One delivery per matching channel and event (each instance transition, and each component
    whose status changed with them), created once, enqueued after the commit; returns their ids.

    Each event names the components that depend on its component, directly or through others. When
    a component and components depending on it change the same way in one round, the dependents'
    events are folded into the component's: one notification, which names them (``also``)."""
    components = _components_of(transitions)
    channels = _listening_channels({component.team_id for component in components.values()})
    if not channels:
        return []
    # In a maintenance window the transitions are recorded (and audited) but not alerted.
    for component_id in maintenance.windows_in_effect(components):
        del components[component_id]
    contexts, folded = _contexts(transitions, components)
    kept = [t for t in transitions if t.component_id in components and t.component_id not in folded]
    events = [
        payloads.instance_event(t, components[t.component_id], contexts[t.component_id])
        for t in kept
        if _worth_telling(t)
    ]
    if any(channel.on_component_status for channel in channels):
        events += _component_events(kept, components, contexts)
    return _deliveries(events, channels)


def _contexts(
    transitions: Sequence[HealthTransition], components: dict[int, Component]
) -> tuple[dict[int, payloads.Context], set[int]]:
    """Each component's context (what depends on it; what it took along in this round) and the
    components whose events are folded into another's: those with a transition to the same health
    as one of the components they depend on (directly or not) in this round."""
    closure = transitive_dependents(components)
    names = dict(
        Component.objects.filter(pk__in={pk for found in closure.values() for pk in found}).values_list(
            "pk", "name"
        )
    )
    going: dict[str, set[int]] = {}
    for transition in transitions:
        if transition.component_id in components:
            going.setdefault(transition.new, set()).add(transition.component_id)
    folded: set[int] = set()
    also: dict[int, list[str]] = {}
    for same in going.values():
        for root in same:
            taken = sorted(
                (pk for pk in closure.get(root, {}) if pk in same), key=lambda pk: names.get(pk, "")
            )
            if taken and not any(root in closure.get(other, {}) for other in same if other != root):
                also.setdefault(root, []).extend(names[pk] for pk in taken if names.get(pk))
            folded.update(taken)
    contexts = {
        pk: payloads.Context(
            affected=tuple(
                sorted(
                    (
                        (names[other], distance)
                        for other, distance in closure.get(pk, {}).items()
                        if other in names
                    ),
                    key=lambda item: (item[1], item[0]),
                )
            ),
            also=tuple(dict.fromkeys(also.get(pk, []))),
        )
        for pk in components
    }
    return contexts, folded


CERT_THRESHOLDS_DAYS = (21, 7, 1)


@transaction.atomic
def deliveries_for_certificates(*, now: datetime | None = None) -> list[int]:
    """For each online instance whose probed certificate expires within 21, 7 or 1 days, one delivery
    per channel that hears of its instances, for the nearest threshold reached, and once more when
    it has expired; each created once (per certificate and threshold: a renewed certificate starts
    again); returns their ids."""
    now = now or timezone.now()
    horizon = now + timedelta(days=max(CERT_THRESHOLDS_DAYS))
    instances = list(
        Instance.objects.filter(
            is_online=True,
            cert_expires_at__isnull=False,
            cert_expires_at__lte=horizon,
            component__health_check__enabled=True,
        ).select_related("component__team", "component__application")
    )
    channels = _listening_channels({instance.component.team_id for instance in instances})
    if not channels:
        return []
    events = []
    for instance in instances:
        assert instance.cert_expires_at is not None
        left = instance.cert_expires_at - now
        # Past its end, once more: "expired" (threshold 0).
        reached = [days for days in CERT_THRESHOLDS_DAYS if left <= timedelta(days=days)]
        threshold = 0 if left <= timedelta(0) else min(reached)
        events.append(payloads.certificate_event(instance, threshold=threshold, now=now))
    return _deliveries(events, channels)


def _worth_telling(transition: HealthTransition) -> bool:
    # A new instance passing its first checks is not news; failing them, or any later change, is.
    return not (transition.old == Health.UNKNOWN and transition.new == Health.HEALTHY)


def _components_of(transitions: Sequence[HealthTransition]) -> dict[int, Component]:
    ids = {transition.component_id for transition in transitions}
    found = Component.objects.filter(pk__in=ids).select_related("team", "application", "health_check")
    return {component.pk: component for component in found}


def _listening_channels(team_ids: set[int]) -> list[NotificationChannel]:
    return list(
        NotificationChannel.objects.filter(team_id__in=team_ids, enabled=True)
        .exclude(on_instance_transitions=False, on_component_status=False)
        .prefetch_related("components")
    )


def _listens(channel: NotificationChannel, event: payloads.Event) -> bool:
    if channel.team_id != event.team_id:
        return False
    wanted = channel.on_instance_transitions if event.kind == "instance" else channel.on_component_status
    if not wanted:
        return False
    return channel.scope == ChannelScope.TEAM or any(
        c.pk == event.component_id for c in channel.components.all()
    )


_STATUS_OF_HEALTH = {
    Health.HEALTHY: Status.HEALTHY,
    Health.UNHEALTHY: Status.UNHEALTHY,
    Health.UNKNOWN: Status.NOTREADY,
}


def _component_events(
    transitions: Sequence[HealthTransition],
    components: dict[int, Component],
    contexts: dict[int, payloads.Context],
) -> list[payloads.Event]:
    """A component's status now, and before these transitions (the same counts with each transition
    undone): an event for each component whose status differs."""
    events = []
    for component_id, component in components.items():
        mine = [t for t in transitions if t.component_id == component_id]
        if not mine:
            continue  # folded into another component's event
        now = instance_status_counts(component)
        before = dict(now)
        for transition in mine:
            before[_STATUS_OF_HEALTH[Health(transition.new)]] -= 1
            before[_STATUS_OF_HEALTH[Health(transition.old)]] += 1
        old, new = status_from_counts(before), status_from_counts(now)
        if old != new:
            events.append(
                payloads.component_event(
                    component, old=old, new=new, at=mine[0].at, context=contexts[component_id]
                )
            )
    return events


def _deliveries(events: list[Any], channels: list[NotificationChannel]) -> list[int]:
    """A delivery of each event to each channel that listens to it, written unless already there;
    returns the new ones' ids."""
    rows = [
        Delivery(
            channel=channel,
            key=event.key,
            event=event.payload["event"],
            summary=payloads.summary_in(event.payload, channel.language),
            payload=event.payload,
        )
        for event in events
        for channel in channels
        if _listens(channel, event)
    ]
    return _create_new(rows)


def _create_new(rows: list[Delivery]) -> list[int]:
    """Insert the deliveries that do not exist yet, in the caller's transaction, and queue their first
    attempts after the commit; a repeated event is a no-op."""
    if not rows:
        return []
    channels, keys = {row.channel_id for row in rows}, {row.key for row in rows}
    existing = set(
        Delivery.objects.filter(key__in=keys, channel__in=channels).values_list("channel_id", "key")
    )
    due = outbox.first_attempt_at()
    fresh = [row for row in rows if (row.channel_id, row.key) not in existing]
    for row in fresh:
        row.next_attempt_at = due
    Delivery.objects.bulk_create(fresh, ignore_conflicts=True)
    ids = list(
        Delivery.objects.filter(
            channel__in={row.channel_id for row in fresh},
            key__in={row.key for row in fresh},
            status=DeliveryStatus.PENDING,
            attempts=0,
        ).values_list("pk", flat=True)
    )
    _queue_after_commit(ids)
    return ids


def _queue_after_commit(delivery_ids: list[int]) -> None:
    """Queue the first attempts once the deliveries are committed. The hook is a named function
    (Django's robust hook names it in its log line) and never raises: a broker out of reach leaves
    the deliveries to the dispatcher, and every other hook of the commit still runs."""
    if not delivery_ids:
        return

    def queue_first_attempts() -> None:
        tasks.queue_first_attempts(delivery_ids)

    transaction.on_commit(queue_first_attempts, robust=True)
