"""The effective environment of a component (DESIGN.md section 6), and how it is written out.

A component C receives, in this order: the connection information (scope ``outer``) of every
component it depends on, then its own variables (``inner`` and ``outer``). A variable of C with
the name of a dependency's variable overrides it, and the overridden entry stays in the list,
marked with who overrode it, so that nothing is replaced silently.

Generated ``A_HOST`` / ``A_PORT`` variables have no stored value: they are the component's internal
address, ``<service_name>.<KATO_SERVICE_DOMAIN>`` and the port's number when the deployment has
platform DNS, otherwise the host and port of its best routed instance.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Prefetch

from components.models import Component, EnvVar, Scope

if TYPE_CHECKING:
    from instances.models import Instance

FORMATS = ("json", "dotenv", "shell")
_BARE_DOTENV_VALUE = re.compile(r"^[A-Za-z0-9_./:@%+,=-]*$")


@dataclass(frozen=True)
class EnvEntry:
    """One variable as a component receives it; ``overridden_by`` is set when it does not take effect."""

    name: str
    value: str
    secret: bool
    source: Component
    generated: bool = False
    overridden_by: Component | None = None

    @property
    def effective(self) -> bool:
        return self.overridden_by is None


# Resolution


def effective_environment(component: Component) -> list[EnvEntry]:
    """Every variable ``component`` receives: its dependencies' connection information, then its own."""
    inherited: list[EnvEntry] = []
    seen: dict[str, Component] = {}
    for target in _dependency_targets(component):
        for var in target.env_vars.all():
            entry = _entry(target, var)
            # The services refuse two dependencies sharing a name; should it happen anyway (rows
            # written before the rule), the first one wins and the second says so.
            if var.name in seen:
                entry = replace(entry, overridden_by=seen[var.name])
            else:
                seen[var.name] = target
            inherited.append(entry)
    own = [_entry(component, var) for var in component.env_vars.all()]
    own_names = {entry.name for entry in own}
    inherited = [
        replace(entry, overridden_by=component) if entry.effective and entry.name in own_names else entry
        for entry in inherited
    ]
    return inherited + own


def effective_values(entries: Iterable[EnvEntry]) -> dict[str, str]:
    """The variables that take effect, as a process environment."""
    return {entry.name: entry.value for entry in entries if entry.effective}


def secret_names(entries: Iterable[EnvEntry]) -> list[str]:
    return sorted({entry.name for entry in entries if entry.secret and entry.effective})


def generated_value(component: Component, var: EnvVar) -> str:
    """The value of a generated ``A_HOST`` / ``A_PORT`` variable (uses the prefetched ports and instances)."""
    for port in component.ports.all():
        if var.name == f"{port.alias}_HOST":
            return _internal_address(component, port.number)[0]
        if var.name == f"{port.alias}_PORT":
            return _internal_address(component, port.number)[1]
    return var.value


def best_routed_prefetch() -> Prefetch:
    """Prefetch, as ``best_routed``, the one instance ``best_routed_instance`` picks, chosen by the database.

    A component may have thousands of instances and its dependents need one: loading them all to pick
    it would cost a page with such a dependency tens of milliseconds. Routed means online and healthy,
    or online with the check off (then every routed instance is "unknown", none healthy, so the
    healthy-first rule changes nothing); the order is the same as below.
    """
    from django.db.models import F, Q

    from instances.models import Health, Instance

    check_off = Q(component__health_check__enabled=False) | Q(component__health_check__isnull=True)
    routed = Instance.objects.filter(Q(is_online=True) & (Q(health=Health.HEALTHY) | check_off))
    best = routed.order_by(
        F("latency_ms").asc(nulls_last=True), "host", F("port").asc(nulls_first=True), "pk"
    )
    return Prefetch("instances", queryset=best[:1], to_attr="best_routed")


def best_routed_instance(component: Component) -> Instance | None:
    """The instance dependents should reach: healthy first, then the lowest latency, then a stable order."""
    from instances.models import Status

    if hasattr(component, "best_routed"):  # chosen by the database: best_routed_prefetch
        return component.best_routed[0] if component.best_routed else None
    from instances.selectors import instance_statuses

    routed = [
        (instance, status)
        for instance, status in instance_statuses(component)
        if status in (Status.HEALTHY, Status.UNKNOWN)
    ]
    if not routed:
        return None
    return min(
        routed,
        key=lambda pair: (
            pair[1] != Status.HEALTHY,
            pair[0].latency_ms if pair[0].latency_ms is not None else math.inf,
            pair[0].host,
            pair[0].port or 0,
            pair[0].pk,
        ),
    )[0]


def _internal_address(component: Component, port_number: int) -> tuple[str, str]:
    domain = (settings.KATO_SERVICE_DOMAIN or "").strip(".")
    if domain:
        return f"{component.service_name}.{domain}", str(port_number)
    instance = best_routed_instance(component)
    if instance is None:
        # Nothing is routed right now: there is no host to give, but the port is still known.
        return "", str(port_number)
    return instance.host, str(instance.port or port_number)


def _entry(owner: Component, var: EnvVar) -> EnvEntry:
    value = generated_value(owner, var) if var.generated else var.value
    return EnvEntry(name=var.name, value=value, secret=var.secret, source=owner, generated=var.generated)


def _dependency_targets(component: Component) -> list[Component]:
    return list(
        Component.objects.filter(dependents__component=component)
        .select_related("health_check", "application")
        .prefetch_related(
            Prefetch("env_vars", queryset=EnvVar.objects.filter(scope=Scope.OUTER).order_by("name")),
            "ports",
            best_routed_prefetch(),
        )
        .order_by("service_name", "pk")
    )


# Lookup for operators (management commands): the operator is not a team member, they run the server.


def component_by_path(path: str, *, team: str = "") -> Component:
    """The component ``<application slug>/<service name>``; raises LookupError with a sentence."""
    app_slug, _, service_name = path.strip().partition("/")
    if not app_slug or not service_name or "/" in service_name:
        raise LookupError(f"{path!r} is not <application>/<component>, for example shop/mysql.")
    candidates = Component.objects.filter(application__slug=app_slug, service_name=service_name)
    if team:
        candidates = candidates.filter(team__slug=team)
    found = list(candidates.select_related("team", "application", "health_check")[:10])
    if not found:
        raise LookupError(f"There is no component {service_name!r} in an application {app_slug!r}.")
    if len(found) > 1:
        teams = ", ".join(sorted(c.team.slug for c in found))
        raise LookupError(f"Several teams have {path}: {teams}. Say which one with --team.")
    from instances.models import Instance

    return (
        Component.objects.select_related("team", "application", "health_check")
        .prefetch_related(
            "ports", Prefetch("instances", queryset=Instance.objects.order_by("host", "port", "id"))
        )
        .get(pk=found[0].pk)
    )


# Output formats


def render_dotenv(component: Component, entries: list[EnvEntry], *, reveal: bool) -> str:
    """``NAME=value`` lines with dotenv quoting; secrets only when ``reveal``, overrides as comments."""
    return _render(component, entries, reveal=reveal, line=lambda n, v: f"{n}={dotenv_quote(v)}")


def render_shell(component: Component, entries: list[EnvEntry], *, reveal: bool) -> str:
    """``export NAME='value'`` lines that any POSIX shell can source."""
    return _render(component, entries, reveal=reveal, line=lambda n, v: f"export {n}={shell_quote(v)}")


def dotenv_quote(value: str) -> str:
    """Quote a value so dotenv readers (docker compose, python-dotenv, Node's dotenv) read it back unchanged."""
    if _BARE_DOTENV_VALUE.match(value):
        return value
    if "'" not in value and "\n" not in value and "\r" not in value:
        # Single quotes are literal in every dotenv dialect: no escapes, no ${} expansion.
        return f"'{value}'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def shell_quote(value: str) -> str:
    """Single-quote for POSIX sh: everything is literal, a single quote is closed, escaped and reopened."""
    return "'" + value.replace("'", "'\"'\"'") + "'"


def _render(
    component: Component, entries: list[EnvEntry], *, reveal: bool, line: Callable[[str, str], str]
) -> str:
    lines = [f"# Effective environment of {component.application.slug}/{component.service_name}"]
    for entry in entries:
        origin = "" if entry.source.pk == component.pk else f" from {entry.source.service_name}"
        if not entry.effective:
            lines.append(f"# {entry.name}{origin} is overridden by {entry.overridden_by.service_name}")
        elif entry.secret and not reveal:
            lines.append(f"# {entry.name}{origin} is secret: only owners and developers receive its value")
        else:
            lines.append(line(entry.name, entry.value))
    return "\n".join(lines) + "\n"
