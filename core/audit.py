"""Who did something, and the one way the audit trail is written (docs/architecture.md).

``audit_record`` writes one event through the ORM; ``audit_record_many`` writes many in one
statement (the sweep's health transitions). Every detail is redacted first: values under
secret-looking keys never reach the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NamedTuple

from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone

from core.models import ActorKind, AuditEvent
from core.net import client_ip

REDACTED = "[redacted]"
_SECRET_WORDS = ("secret", "password", "token", "key")


@dataclass(frozen=True)
class Actor:
    """The requester of a change: a signed-in user, an API token's user, the API secret key, or the system."""

    kind: str
    user: Any = None
    remote_addr: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "remote_addr", client_ip(self.remote_addr))

    @classmethod
    def for_user(cls, user: Any, remote_addr: str | None = None) -> Actor:
        return cls(ActorKind.USER, user, remote_addr)

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        """The signed-in user of a page, admin or console-API request, with the client address the
        audit trail keeps (``REMOTE_ADDR``, which the trusted-proxies middleware has resolved)."""
        return cls.for_user(request.user, request.META.get("REMOTE_ADDR"))

    @classmethod
    def api_key(cls, remote_addr: str | None = None) -> Actor:
        return cls(ActorKind.API_KEY, None, remote_addr)

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorKind.SYSTEM)


SYSTEM = Actor.system()


def redact(detail: dict[str, Any], *, secret_names: set[str] | None = None) -> dict[str, Any]:
    """Replace every text under a key that looks secret (or is a named secret variable) by a marker.

    Only values are redacted, not words: a boolean, a number or null under such a key (the
    ``secret`` flag of a variable, ``use_credentials``) tells nothing secret and is kept, while every
    string under it, however deep in dicts and lists, is hidden.
    """
    names = secret_names or set()
    return {key: _redacted(value, _looks_secret(key, names), names) for key, value in detail.items()}


def _looks_secret(key: object, names: set[str]) -> bool:
    lowered = str(key).lower()
    return key in names or any(word in lowered for word in _SECRET_WORDS)


def _redacted(value: Any, secret: bool, names: set[str]) -> Any:
    if isinstance(value, dict):
        return {
            key: _redacted(item, secret or _looks_secret(key, names), names) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redacted(item, secret, names) for item in value]
    if secret and isinstance(value, str) and value:
        return REDACTED
    return value


def _user_of(actor: Actor) -> Any:
    return actor.user if actor.user is not None and actor.user.is_authenticated else None


def audit_event(
    *,
    actor: Actor,
    action: str,
    team: Model | None = None,
    component: Model | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """One audit event, not yet written, its detail redacted; the team defaults to the component's.

    ``audit_record`` saves it; the instance API's add writes it in the statement that inserts the
    instance (``instances.sql``)."""
    if team is None and component is None:
        raise ValueError("An audit event belongs to a team: give the team or the component.")
    return AuditEvent(
        team_id=team.pk if team is not None else component.team_id,  # type: ignore[union-attr]
        # core sits below the apps and cannot name the Component model; the column still checks it.
        component=component,  # type: ignore[misc]
        component_label=component.name if component is not None else "",  # type: ignore[attr-defined]
        actor=actor.kind,
        user=_user_of(actor),
        action=action,
        detail=redact(detail or {}),
        remote_addr=actor.remote_addr,
    )


def audit_record(
    *,
    actor: Actor,
    action: str,
    team: Model | None = None,
    component: Model | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit event, its detail redacted; the team defaults to the component's."""
    event = audit_event(actor=actor, action=action, team=team, component=component, detail=detail)
    event.save(force_insert=True)
    return event


class EventRow(NamedTuple):
    """One event for ``audit_record_many``."""

    team_id: int
    component_id: int | None
    component_label: str
    action: str
    detail: dict[str, Any]


def audit_record_many(*, actor: Actor, events: Sequence[EventRow]) -> None:
    """Write many events of one actor with one INSERT (``bulk_create``), their details redacted:
    a sweep's first round, or a network partition, turns thousands of instances at once."""
    if not events:
        return
    AuditEvent.objects.bulk_create(
        AuditEvent(
            actor=actor.kind,
            team_id=event.team_id,
            component_id=event.component_id,
            component_label=event.component_label,
            action=event.action,
            detail=redact(event.detail),
        )
        for event in events
    )


PRUNE_BATCH = 10_000


def audit_prune(*, older_than_days: int, batch_size: int = PRUNE_BATCH) -> int:
    """Delete the events older than ``older_than_days`` days, oldest first, ``batch_size`` at a
    time; returns how many were deleted. ``0`` days keeps everything.

    Deliberately not one transaction: each batch commits on its own, so no statement holds its
    locks for long and the writers of new events (the sweep, the instance API) never wait on a
    prune of a year's worth of rows.
    """
    if older_than_days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=older_than_days)
    # The oldest first (audit_recent, read backwards): one DELETE … WHERE id IN (SELECT … LIMIT n).
    oldest = AuditEvent.objects.filter(created_at__lt=cutoff).order_by("created_at", "id")
    deleted = 0
    while True:
        count, _ = AuditEvent.objects.filter(pk__in=oldest.values("pk")[:batch_size]).delete()
        deleted += count
        if count < batch_size:
            return deleted
