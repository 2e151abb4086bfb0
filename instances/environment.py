"""The effective environment of a component as stored now: its dependencies' connection information
and its own variables, with the generated ``A_HOST`` / ``A_PORT`` filled in (docs/architecture.md, "The effective environment").

``components.environment`` orders and overrides (pure); this module reads the rows it needs in a
fixed number of queries and supplies the generated values, which come from the instances: the
component's internal address is ``<service_name>.<KATO_SERVICE_DOMAIN>`` and the port's number when
the deployment has platform DNS, otherwise the host and port of its best routed instance.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.db.models import F, Prefetch, Q
from django.utils.translation import gettext

from components import gateway
from components.environment import EnvEntry, resolve
from components.models import Component, EnvVar, Port, Scope
from instances.models import Health, Instance, Status
from instances.selectors import instance_statuses


def effective_environment(component: Component) -> list[EnvEntry]:
    """Every variable ``component`` receives: its dependencies' connection information, then its own."""
    return resolve(component, _dependency_targets(component), generated_value, generated_warning)


def generated_value(component: Component, var: EnvVar) -> str:
    """A variable's value; for a generated ``A_HOST`` / ``A_PORT`` the internal address (it uses the
    prefetched ports and instances)."""
    return _generated(component, var)[0]


def generated_warning(component: Component, var: EnvVar) -> str:
    """Why a generated ``A_HOST`` cannot be trusted right now ("" when it can): no instance is routed,
    so it keeps an address that does not pass its check, or is empty for want of any instance."""
    return _generated(component, var)[1]


def _generated(component: Component, var: EnvVar) -> tuple[str, str]:
    if not var.generated:
        return var.value, ""
    for port in component.ports.all():
        if var.name == f"{port.alias}_HOST":
            host, _, warning = _internal_address(component, port)
            return host, warning
        if var.name == f"{port.alias}_PORT":
            return _internal_address(component, port)[1], ""  # the warning is said once, on A_HOST
    return var.value, ""


def best_routed_prefetch() -> Prefetch:
    """Prefetch, as ``best_routed``, the one instance ``best_routed_instance`` picks, chosen by the database.

    A component may have thousands of instances and its dependents need one: loading them all to pick
    it would cost a page with such a dependency tens of milliseconds. Routed means online and healthy,
    or online with the check off (then every routed instance is "unknown", none healthy, so the
    healthy-first rule changes nothing); the order is the same as ``best_routed_instance``'s.
    """
    check_off = Q(component__health_check__enabled=False) | Q(component__health_check__isnull=True)
    routed = Instance.objects.filter(Q(is_online=True) & (Q(health=Health.HEALTHY) | check_off))
    best = routed.order_by(
        F("latency_ms").asc(nulls_last=True), "host", F("port").asc(nulls_first=True), "pk"
    )
    return Prefetch("instances", queryset=best[:1], to_attr="best_routed")


def best_routed_instance(component: Component) -> Instance | None:
    """The instance dependents should reach: healthy first, then the lowest latency, then a stable order."""
    if hasattr(component, "best_routed"):  # chosen by the database: best_routed_prefetch
        return component.best_routed[0] if component.best_routed else None
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


def _internal_address(component: Component, port: Port) -> tuple[str, str, str]:
    """The host and port dependents are given, and a warning when they cannot be trusted right now."""
    port_number = port.number
    domain = (settings.KATO_SERVICE_DOMAIN or "").strip(".")
    if domain:
        return f"{component.service_name}.{domain}", str(port_number), ""
    through_gateway = gateway.internal_address(port)
    if through_gateway is not None:
        # Kato's mesh mode: the gateway's listener, which always reaches a routed instance.
        return settings.KATO_GATEWAY_HOST, str(port.gateway_port), ""
    instance = best_routed_instance(component)
    if instance is not None:
        return instance.host, str(instance.port or port_number), ""
    # Nothing is routed right now. The address is never emptied silently: dependents keep the
    # instance that passed its check most recently, and every page and answer says so.
    kept = last_routed_instance(component)
    if kept is None:
        # Said in the language of the request that asks (pages, console API); English for commands.
        return (
            "",
            str(port_number),
            gettext("%(component)s has no instance, so there is no host to give yet.")
            % {"component": component.name},
        )
    address = f"{kept.host}:{kept.port or port_number}"
    return (
        kept.host,
        str(kept.port or port_number),
        gettext(
            "No instance of %(component)s passes its health check: this keeps %(address)s, which may not answer."
        )
        % {"component": component.name, "address": address},
    )


def last_routed_instance(component: Component) -> Instance | None:
    """The instance to keep giving dependents while none is routed: online before offline, then the
    shortest run of failed checks (the one that passed most recently), then a stable order."""
    cached = getattr(component, "_last_routed", None)
    if cached is not None:
        return cached[0]
    kept = (
        Instance.objects.filter(component=component)
        .order_by("-is_online", "consecutive_failures", "host", F("port").asc(nulls_first=True), "pk")
        .first()
    )
    component._last_routed = (kept,)  # type: ignore[attr-defined]  # read once per component
    return kept


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
    return (
        Component.objects.select_related("team", "application", "health_check")
        .prefetch_related(
            "ports", Prefetch("instances", queryset=Instance.objects.order_by("host", "port", "id"))
        )
        .get(pk=found[0].pk)
    )
