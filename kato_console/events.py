"""An audit event as a sentence a person reads: "admin turned on the internal service of port
3306", "127.0.0.1:3306 became unhealthy: login failed (Access denied for user 'root')". The events
page and the events API say the same sentence; the detail stays beside it for whoever wants the
fields. A detail from an older version of the console, or one a sentence does not know, still reads
as a sentence (the action in words), never as a Python dictionary.

The sentence is made when it is shown, in the language of the request (gettext, not stored): the
events page and the events API follow Accept-Language or the language switch. The values inside it
(names, addresses, a probe's error) are the detail's, as they were recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_noop, ngettext, pgettext
from django.utils.translation import gettext_lazy as _

from core.models import AuditEvent

# What failed, by the probe's stage (instances.probes): say what, not "unreachable".
STAGES: dict[str, Promise] = {
    "dns": _("the name did not resolve"),
    "policy": _("the address is in a denied network"),
    "connect": _("connection failed"),
    "tls": _("TLS failed"),
    "greeting": _("the server's greeting was wrong"),
    "auth": _("login failed"),
    "query": _("the test query failed"),
    "response": _("the answer was wrong"),
}
_FIELD_WORDS: dict[str, Promise] = {
    "name": _("name"),
    "service_name": _("service name"),
    "image": _("image"),
    "protocol": _("protocol"),
    "number": _("number"),
    "alias": _("alias"),
    "kind": _("kind"),
    "enabled": _("check"),
    "interval_s": _("interval (seconds)"),
    "timeout_s": _("timeout (seconds)"),
    "healthy_threshold": _("healthy threshold"),
    "unhealthy_threshold": _("unhealthy threshold"),
    "path": _("path"),
    "success_threshold": _("success threshold"),
    "failure_threshold": _("failure threshold"),
    "use_credentials": _("use credentials"),
    "username_var": _("username var"),
    "password_var": _("password var"),
    "verify_tls": _("verify tls"),
    "credential_networks": _("credential networks"),
}
# Whole phrases, so that a translation may put the port where its language wants it.
_PORT_SWITCHES: dict[str, tuple[Promise, Promise]] = {
    "inner_service": (
        _("turned on the internal service of port %(number)s"),
        _("turned off the internal service of port %(number)s"),
    ),
    "outer_service": (
        _("turned on the external service of port %(number)s"),
        _("turned off the external service of port %(number)s"),
    ),
}
_MADE_ROLE: dict[str, Promise] = {
    "owner": _("made %(user)s an owner"),
    "developer": _("made %(user)s a developer"),
    "viewer": _("made %(user)s a viewer"),
}
_ROLE_NAMES: dict[str, Promise] = {
    "owner": _("owner"),
    "developer": _("developer"),
    "viewer": _("viewer"),
}
_BECAME: dict[str, Promise] = {
    "healthy": _("%(address)s became healthy"),
    "unhealthy": _("%(address)s became unhealthy"),
    "notready": _("%(address)s became not ready"),
    "unknown": _("%(address)s became unknown"),
}


def _value(value: Any) -> str:
    if value is True:
        return pgettext("a setting's value", "on")
    if value is False:
        return pgettext("a setting's value", "off")
    if value in (None, ""):
        return pgettext("a setting's value", "nothing")
    if isinstance(value, list):
        return pgettext("list separator", ", ").join(str(item) for item in value) or pgettext(
            "a setting's value", "none"
        )
    return str(value)


def _changes(detail: dict[str, Any], words: dict[str, Promise], *, article: bool = True) -> list[str]:
    """``{"field": {"from": a, "to": b}}`` as "the field from a to b" phrases ("field from a to b"
    without the article, after a possessive)."""
    phrases = []
    for field, change in detail.items():
        if isinstance(change, dict) and "to" in change:
            values = {
                "field": str(words.get(field, field.replace("_", " "))),
                "old": _value(change.get("from")),
                "new": _value(change["to"]),
            }
            if article:
                phrases.append(gettext("the %(field)s from %(old)s to %(new)s") % values)
            else:
                phrases.append(gettext("%(field)s from %(old)s to %(new)s") % values)
    return phrases


def _joined(phrases: list[str]) -> str:
    if len(phrases) == 1:
        return phrases[0]
    return gettext("%(list)s and %(last)s") % {
        "list": pgettext("phrase separator", ", ").join(phrases[:-1]),
        "last": phrases[-1],
    }


def _port_update(detail: dict[str, Any], number: str) -> str:
    parts = []
    for field, change in detail.items():
        if field in _PORT_SWITCHES and isinstance(change, dict):
            turned_on, turned_off = _PORT_SWITCHES[field]
            parts.append(str(turned_on if change.get("to") else turned_off) % {"number": number})
    rest = _changes({k: v for k, v in detail.items() if k not in _PORT_SWITCHES}, _FIELD_WORDS)
    if rest:
        parts.append(
            gettext("changed %(changes)s of port %(number)s") % {"changes": _joined(rest), "number": number}
        )
    return _joined(parts) if parts else gettext("saved port %(number)s unchanged") % {"number": number}


def _health(event: AuditEvent, detail: dict[str, Any]) -> str:
    address = detail.get("address") or gettext("an instance")
    state = event.action.removeprefix("instance.")
    became = _BECAME.get(state)
    sentence = str(became) % {"address": address} if became else f"{address}: {state}"
    if detail.get("error") or detail.get("stage"):
        what = str(STAGES.get(str(detail.get("stage", "")), _("the check failed")))
        if detail.get("error"):
            what = gettext("%(what)s (%(error)s)") % {"what": what, "error": detail["error"]}
        sentence = gettext("%(sentence)s: %(what)s") % {"sentence": sentence, "what": what}
    return sentence


def _probe(detail: dict[str, Any]) -> str:
    count, reachable = detail.get("instances", 0), detail.get("reachable", 0)
    if not count:
        return gettext("checked the component now: it has no instance to check")
    sentence = ngettext(
        "checked %(count)s instance now: %(reachable)s reachable",
        "checked %(count)s instances now: %(reachable)s reachable",
        count if isinstance(count, int) else 2,
    ) % {"count": count, "reachable": reachable}
    failed = detail.get("failed") or []
    if failed:
        sentence = gettext("%(sentence)s, %(failed)s not") % {"sentence": sentence, "failed": _value(failed)}
    return sentence


def _d(template: str) -> Callable[[AuditEvent, dict[str, Any]], str]:
    """A sentence from the detail's fields: ``template`` is marked with gettext_noop and translated
    when the sentence is shown."""
    return lambda event, detail: gettext(template) % _Missing(detail)


class _Missing(dict[str, Any]):
    """A detail where a missing key reads as "?" rather than failing the sentence."""

    def __missing__(self, key: str) -> str:
        return "?"


def _component_update(d: dict[str, Any]) -> str:
    changes = _changes(d, _FIELD_WORDS)
    if not changes:
        return gettext("saved the component unchanged")
    return gettext("changed %(changes)s") % {"changes": _joined(changes)}


def _health_check_update(d: dict[str, Any]) -> str:
    changes = _changes(d, _FIELD_WORDS, article=False)
    if not changes:
        return gettext("saved the health check unchanged")
    return gettext("changed the health check's %(changes)s") % {"changes": _joined(changes)}


def _env_create(d: dict[str, Any]) -> str:
    name = d.get("name", "?")
    if d.get("secret"):
        return gettext("added the variable %(name)s (secret)") % {"name": name}
    return gettext("added the variable %(name)s = %(value)s") % {
        "name": name,
        "value": _value(d.get("value")),
    }


def _env_update(d: dict[str, Any]) -> str:
    name = d.get("name", "?")
    if d.get("secret"):
        return gettext("changed the variable %(name)s (secret)") % {"name": name}
    return gettext("changed the variable %(name)s to %(value)s") % {
        "name": name,
        "value": _value(d.get("value")),
    }


def _instance_add(d: dict[str, Any]) -> str:
    address = d.get("address", "?")
    if d.get("is_online", True):
        return gettext("added the instance %(address)s") % {"address": address}
    return gettext("added the instance %(address)s (offline)") % {"address": address}


def _instance_update(d: dict[str, Any]) -> str:
    address = d.get("address")
    if isinstance(address, dict) and address.get("from") != address.get("to"):
        return gettext("moved the instance from %(old)s to %(new)s") % {
            "old": address.get("from"),
            "new": address.get("to"),
        }
    shown = _value(address.get("to") if isinstance(address, dict) else address)
    return gettext("updated the instance %(address)s") % {"address": shown}


def _membership_set(d: dict[str, Any]) -> str:
    user, role = d.get("user", "?"), d.get("role", "")
    made = _MADE_ROLE.get(role)
    sentence = (
        str(made) % {"user": user}
        if made
        else gettext("made %(user)s %(role)s") % {"user": user, "role": role or "?"}
    )
    previous = d.get("previous_role")
    if previous:
        sentence = gettext("%(sentence)s (was %(previous)s)") % {
            "sentence": sentence,
            "previous": _ROLE_NAMES.get(previous, previous),
        }
    return sentence


_SENTENCES: dict[str, Callable[[AuditEvent, dict[str, Any]], str]] = {
    "application.create": _d(gettext_noop("created the application %(name)s")),
    "component.create": _d(gettext_noop("created the component %(name)s in %(application)s")),
    "component.delete": _d(gettext_noop("deleted the component %(name)s")),
    "component.update": lambda e, d: _component_update(d),
    "component.probe": lambda e, d: _probe(d),
    "secret_key.reveal": lambda e, d: (
        gettext("copied the curl line with the secret key")
        if d.get("via") == "page:copy"
        else gettext("revealed the secret key")
    ),
    "secret_key.regenerate": _d(gettext_noop("generated a new secret key")),
    "port.create": _d(gettext_noop("added port %(number)s (%(protocol)s)")),
    "port.update": lambda e, d: _port_update(d, str(d.get("port", "?"))),
    "port.delete": _d(gettext_noop("deleted port %(number)s")),
    "env.create": lambda e, d: _env_create(d),
    "env.update": lambda e, d: _env_update(d),
    "env.delete": _d(gettext_noop("deleted the variable %(name)s")),
    "env.reveal": lambda e, d: gettext("revealed %(variables)s") % {"variables": _value(d.get("variables"))},
    "dependency.add": _d(gettext_noop("made it depend on %(target)s")),
    "dependency.remove": _d(gettext_noop("removed the dependency on %(target)s")),
    "health_check.update": lambda e, d: _health_check_update(d),
    "instance.add": lambda e, d: _instance_add(d),
    "instance.delete": _d(gettext_noop("deleted the instance %(address)s")),
    "instance.online": _d(gettext_noop("brought %(address)s online")),
    "instance.offline": _d(gettext_noop("took %(address)s offline")),
    "instance.update": lambda e, d: _instance_update(d),
    "instance.dns_change": _d(
        gettext_noop("%(name)s now resolves to other addresses: added %(added)s, removed %(removed)s")
    ),
    "instance.healthy": _health,
    "instance.unhealthy": _health,
    "instance.notready": _health,
    "instance.unknown": _health,
    "membership.set": lambda e, d: _membership_set(d),
    "membership.delete": _d(gettext_noop("removed %(user)s from the team")),
    "team.create": _d(gettext_noop("created the team %(name)s")),
    "team.update": _d(gettext_noop("renamed the team %(previous_name)s to %(name)s")),
    "channel.create": _d(gettext_noop("added the notification channel %(name)s")),
    "channel.update": _d(gettext_noop("changed the notification channel %(name)s")),
    "channel.delete": lambda e, d: (
        gettext("deleted the notification channel %(name)s")
        % {"name": d.get("name") or d.get("channel") or "?"}
    ),
    "channel.reveal": _d(gettext_noop("revealed the signing secret of %(channel)s")),
    "channel.regenerate": _d(gettext_noop("generated a new signing secret for %(channel)s")),
    "channel.test": _d(gettext_noop("sent a test notification to %(channel)s")),
    "health_check.pause": _d(gettext_noop("paused the health check")),
    "health_check.resume": _d(gettext_noop("resumed the health check")),
    "maintenance.create": _d(gettext_noop("added the maintenance window %(reason)s")),
    "maintenance.delete": _d(gettext_noop("deleted the maintenance window %(reason)s")),
    "maintenance.start": _d(gettext_noop("The maintenance window %(reason)s started")),
    "maintenance.end": _d(gettext_noop("The maintenance window %(reason)s ended")),
    "status_page.publish": _d(gettext_noop("published the status page of %(application)s")),
    "status_page.unpublish": _d(gettext_noop("took down the status page of %(application)s")),
    "account.sign_in": _d(gettext_noop("signed in through %(provider_name)s")),
}

# Health transitions are the sweep's: the address is the subject, no actor in front.
_NO_ACTOR = {
    "instance.healthy",
    "instance.unhealthy",
    "instance.notready",
    "instance.unknown",
    "instance.dns_change",
    "maintenance.start",
    "maintenance.end",
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
