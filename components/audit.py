"""Who did something, and the audit trail every service writes to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.models import Actor as ActorKind
from components.models import AuditEvent, Component, Team
from instances.addresses import parse_ip

REDACTED = "[redacted]"
_SECRET_WORDS = ("secret", "password", "token", "key")


def client_ip(remote_addr: str | None) -> str | None:
    """A client's address as the audit trail and the throttle record it: a plain IP address (an
    IPv6 zone such as %eth0 dropped), or None for anything else (a Unix socket, say)."""
    ip = parse_ip((remote_addr or "").partition("%")[0])
    return str(ip) if ip is not None else None


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
    def api_key(cls, remote_addr: str | None = None) -> Actor:
        return cls(ActorKind.API_KEY, None, remote_addr)

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorKind.SYSTEM)


SYSTEM = Actor.system()


def actor_from_request(request: Any) -> Actor:
    """The signed-in user of a page or admin request, with the client address the audit trail keeps
    (``REMOTE_ADDR``, which the trusted-proxies middleware has already resolved)."""
    return Actor.for_user(request.user, request.META.get("REMOTE_ADDR"))


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


def audit_record(
    *,
    actor: Actor,
    action: str,
    team: Team | None = None,
    component: Component | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit event, its detail redacted; the team defaults to the component's."""
    if team is None and component is None:
        raise ValueError("An audit event belongs to a team: give the team or the component.")
    return AuditEvent.objects.create(
        team_id=team.pk if team is not None else component.team_id,
        component=component,
        component_label=component.name if component else "",
        actor=actor.kind,
        user=actor.user if actor.user is not None and actor.user.is_authenticated else None,
        action=action,
        detail=redact(detail or {}),
        remote_addr=actor.remote_addr,
    )
