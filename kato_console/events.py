"""An audit event as a sentence a person reads: "admin turned on the internal service of port
3306", "127.0.0.1:3306 became unhealthy: login failed (Access denied for user 'root')". The events
page and the events API say the same sentence; the detail stays beside it for whoever wants the
fields. A detail from an older version of the console, or one a sentence does not know, still reads
as a sentence (the action in words), never as a Python dictionary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.models import AuditEvent

# What failed, by the probe's stage (instances.probes): say what, not "unreachable".
STAGES = {
    "dns": "the name did not resolve",
    "policy": "the address is in a denied network",
    "connect": "connection failed",
    "tls": "TLS failed",
    "greeting": "the server's greeting was wrong",
    "auth": "login failed",
    "query": "the test query failed",
    "response": "the answer was wrong",
}
_PORT_SWITCHES = {"inner_service": "internal service", "outer_service": "external service"}
_FIELD_WORDS = {
    "name": "name",
    "service_name": "service name",
    "image": "image",
    "protocol": "protocol",
    "number": "number",
    "alias": "alias",
    "kind": "kind",
    "enabled": "check",
    "interval_s": "interval (seconds)",
    "timeout_s": "timeout (seconds)",
    "healthy_threshold": "healthy threshold",
    "unhealthy_threshold": "unhealthy threshold",
}
_ROLE_WORDS = {"owner": "an owner", "developer": "a developer", "viewer": "a viewer"}


def _value(value: Any) -> str:
    if value is True:
        return "on"
    if value is False:
        return "off"
    if value in (None, ""):
        return "nothing"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "none"
    return str(value)


def _changes(detail: dict[str, Any], words: dict[str, str]) -> list[str]:
    """``{"field": {"from": a, "to": b}}`` as "field from a to b" phrases."""
    phrases = []
    for field, change in detail.items():
        if isinstance(change, dict) and "to" in change:
            word = words.get(field, field.replace("_", " "))
            phrases.append(f"the {word} from {_value(change.get('from'))} to {_value(change['to'])}")
    return phrases


def _joined(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _port_update(detail: dict[str, Any], number: str) -> str:
    parts = []
    for field, change in detail.items():
        if field in _PORT_SWITCHES and isinstance(change, dict):
            parts.append(
                f"turned {'on' if change.get('to') else 'off'} the {_PORT_SWITCHES[field]} of port {number}"
            )
    rest = _changes({k: v for k, v in detail.items() if k not in _PORT_SWITCHES}, _FIELD_WORDS)
    if rest:
        parts.append(f"changed {_joined(rest)} of port {number}")
    return _joined(parts) if parts else f"saved port {number} unchanged"


def _health(event: AuditEvent, detail: dict[str, Any]) -> str:
    address = detail.get("address", "an instance")
    state = event.action.removeprefix("instance.")
    words = {"notready": "not ready"}.get(state, state)
    sentence = f"{address} became {words}"
    if detail.get("error") or detail.get("stage"):
        what = STAGES.get(str(detail.get("stage", "")), "the check failed")
        sentence += f": {what}" + (f" ({detail['error']})" if detail.get("error") else "")
    return sentence


def _probe(detail: dict[str, Any]) -> str:
    count, reachable = detail.get("instances", 0), detail.get("reachable", 0)
    if not count:
        return "checked the component now: it has no instance to check"
    sentence = f"checked {count} instance{'s' if count != 1 else ''} now: {reachable} reachable"
    failed = detail.get("failed") or []
    if failed:
        sentence += f", {_value(failed)} not"
    return sentence


def _d(template: str) -> Callable[[AuditEvent, dict[str, Any]], str]:
    return lambda event, detail: template.format_map(_Missing(detail))


class _Missing(dict[str, Any]):
    """A detail where a missing key reads as "?" rather than failing the sentence."""

    def __missing__(self, key: str) -> str:
        return "?"


_SENTENCES: dict[str, Callable[[AuditEvent, dict[str, Any]], str]] = {
    "application.create": _d("created the application {name}"),
    "component.create": _d("created the component {name} in {application}"),
    "component.delete": _d("deleted the component {name}"),
    "component.update": lambda e, d: (
        f"changed {_joined(_changes(d, _FIELD_WORDS))}"
        if _changes(d, _FIELD_WORDS)
        else "saved the component unchanged"
    ),
    "component.probe": lambda e, d: _probe(d),
    "secret_key.reveal": lambda e, d: (
        "copied the curl line with the secret key"
        if d.get("via") == "page:copy"
        else "revealed the secret key"
    ),
    "secret_key.regenerate": _d("generated a new secret key"),
    "port.create": _d("added port {number} ({protocol})"),
    "port.update": lambda e, d: _port_update(d, str(d.get("port", "?"))),
    "port.delete": _d("deleted port {number}"),
    "env.create": lambda e, d: (
        f"added the variable {d.get('name', '?')}"
        + (" (secret)" if d.get("secret") else f" = {_value(d.get('value'))}")
    ),
    "env.update": lambda e, d: (
        f"changed the variable {d.get('name', '?')}"
        + (" (secret)" if d.get("secret") else f" to {_value(d.get('value'))}")
    ),
    "env.delete": _d("deleted the variable {name}"),
    "env.reveal": lambda e, d: f"revealed {_value(d.get('variables'))}",
    "dependency.add": _d("made it depend on {target}"),
    "dependency.remove": _d("removed the dependency on {target}"),
    "health_check.update": lambda e, d: (
        f"changed the health check's {_joined([p.removeprefix('the ') for p in _changes(d, _FIELD_WORDS)])}"
        if _changes(d, _FIELD_WORDS)
        else "saved the health check unchanged"
    ),
    "instance.add": lambda e, d: (
        f"added the instance {d.get('address', '?')}" + ("" if d.get("is_online", True) else " (offline)")
    ),
    "instance.delete": _d("deleted the instance {address}"),
    "instance.online": _d("brought {address} online"),
    "instance.offline": _d("took {address} offline"),
    "instance.update": lambda e, d: (
        f"moved the instance from {d['address'].get('from')} to {d['address'].get('to')}"
        if isinstance(d.get("address"), dict) and d["address"].get("from") != d["address"].get("to")
        else f"updated the instance {_value(d.get('address', {}).get('to') if isinstance(d.get('address'), dict) else d.get('address'))}"
    ),
    "instance.dns_change": _d("{name} now resolves to other addresses: added {added}, removed {removed}"),
    "instance.healthy": _health,
    "instance.unhealthy": _health,
    "instance.notready": _health,
    "instance.unknown": _health,
    "membership.set": lambda e, d: (
        f"made {d.get('user', '?')} {_ROLE_WORDS.get(d.get('role', ''), d.get('role', '?'))}"
        + (f" (was {d['previous_role']})" if d.get("previous_role") else "")
    ),
    "membership.delete": _d("removed {user} from the team"),
    "team.create": _d("created the team {name}"),
    "team.update": _d("renamed the team {previous_name} to {name}"),
    "channel.create": _d("added the notification channel {name}"),
    "channel.update": _d("changed the notification channel {name}"),
    "channel.delete": lambda e, d: (
        f"deleted the notification channel {d.get('name') or d.get('channel') or '?'}"
    ),
    "channel.reveal": _d("revealed the signing secret of {channel}"),
    "channel.regenerate": _d("generated a new signing secret for {channel}"),
    "channel.test": _d("sent a test notification to {channel}"),
}

# Health transitions are the sweep's: the address is the subject, no actor in front.
_NO_ACTOR = {
    "instance.healthy",
    "instance.unhealthy",
    "instance.notready",
    "instance.unknown",
    "instance.dns_change",
}


def event_sentence(event: AuditEvent) -> str:
    """The event as one sentence, with who did it in front (the sweep's transitions have none)."""
    detail = event.detail if isinstance(event.detail, dict) else {}
    make = _SENTENCES.get(event.action)
    try:
        what = make(event, detail) if make else event.action.replace("_", " ").replace(".", ": ")
    except (AttributeError, KeyError, TypeError, ValueError):
        what = event.action.replace("_", " ").replace(".", ": ")
    if event.action in _NO_ACTOR and event.actor == "system":
        return what[:1].upper() + what[1:] if event.action == "instance.dns_change" else what
    return f"{event.actor_label} {what}"
