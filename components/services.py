"""Writes to applications, components, ports, connection information and dependencies.

Every function takes keyword arguments, runs in a transaction, validates with ``full_clean()`` and
raises ``ComponentError`` with a message a person can act on. Every change is audited.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.text import get_text_list
from django.utils.translation import gettext, gettext_noop, ngettext

from components.gateway import allocate_gateway_ports
from components.models import (
    SERVICE_NAME_TAKEN,
    Application,
    Component,
    Dependency,
    EnvVar,
    Port,
    Protocol,
    Registration,
    Scope,
    new_secret_key,
)
from components.rules import check_dependency
from components.validation import alias_from, same_name, service_name_from, slug_from, with_suffix
from core.audit import Actor, audit_record
from core.errors import ComponentError, validated_save
from core.models import Team
from core.validation import CONTROL_CHARACTERS, NO_CONTROL_CHARACTERS

logger = logging.getLogger(__name__)

# The words Kato's users know; the page and the console API both say them (the database constraint
# keeps its own message for the rare concurrent insert, so that this needs no migration).
THIRD_PARTY_ONE_PORT = gettext_noop(
    "third-party components can only have one port: change or delete the existing port instead."
)


# Applications


@transaction.atomic
def application_create(*, team: Team, name: str, actor: Actor) -> Application:
    name = (name or "").strip()
    if not name:
        raise ComponentError({"name": [gettext("Give the application a name.")]})
    _refuse_control_characters(name)
    slug = _application_slug(team=team, name=name)
    application = Application(team=team, name=name, slug=slug)
    validated_save(application)
    audit_record(team=team, actor=actor, action="application.create", detail={"name": name, "slug": slug})
    return application


def _refuse_control_characters(name: str) -> None:
    # Before the name is looked up: PostgreSQL refuses a NUL byte in any text it is sent, even in a
    # query, and the model's own check (clean) only runs at the save.
    if CONTROL_CHARACTERS.search(name):
        raise ComponentError({"name": [gettext(NO_CONTROL_CHARACTERS)]})


def _application_slug(*, team: Team, name: str) -> str:
    """The slug for a new application: its name transliterated, with -2, -3… when another application
    of the team holds it; the same name twice is refused, naming the application that has it."""
    base = slug_from(name)
    # The same name is looked for by name too: an application made before names were transliterated
    # may hold a slug such as "app".
    holders = Application.objects.filter(
        Q(slug__regex=rf"^{base}(-[0-9]+)?$") | Q(name__iexact=name), team=team
    )
    for holder in holders:
        if same_name(holder.name, name):
            raise ComponentError(
                {
                    "name": [
                        gettext("The team already has an application called %(holder)r.")
                        % {"holder": holder.name}
                    ]
                }
            )
    return with_suffix(base, {holder.slug for holder in holders}, 100)


def generated_service_name(*, team: Team, name: str) -> str:
    """The service name for a new component named ``name``: the name transliterated, with -2, -3…
    when a component of the team with another name holds it; a component of the same name is a
    refusal that names it."""
    _refuse_control_characters(name)
    base = service_name_from(name)
    holders = Component.objects.filter(
        Q(service_name__regex=rf"^{base}(-[0-9]+)?$") | Q(name__iexact=name.strip()), team=team
    ).select_related("application")
    for holder in holders:
        if same_name(holder.name, name):
            raise ComponentError(
                {
                    "name": [
                        gettext(SERVICE_NAME_TAKEN)
                        + " "
                        + gettext(
                            "(The service name of %(name)s is %(service_name)s, "
                            "held by %(holder)s in the application %(application)s.)"
                        )
                        % {
                            "name": name,
                            "service_name": holder.service_name,
                            "holder": holder.name,
                            "application": holder.application.name,
                        }
                    ]
                }
            )
    return with_suffix(base, {holder.service_name for holder in holders}, 63)


# Components


@transaction.atomic
def component_update(*, component: Component, actor: Actor, **changes: Any) -> Component:
    allowed = {"name", "service_name", "image"}
    unknown = set(changes) - allowed
    if unknown:
        raise ComponentError(
            gettext("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    before = {field: getattr(component, field) for field in changes}
    for field, value in changes.items():
        setattr(component, field, value)
    validated_save(component)
    audit_record(
        actor=actor,
        component=component,
        action="component.update",
        detail={
            field: {"from": before[field], "to": value}
            for field, value in changes.items()
            if before[field] != value
        },
    )
    return component


@transaction.atomic
def component_delete(*, component: Component, actor: Actor) -> None:
    if component.dependents.exists():
        names = list(
            component.dependents.order_by("component__name").values_list("component__name", flat=True)
        )
        raise ComponentError(
            ngettext(
                "%(component)s cannot be deleted while %(names)s depends on it; remove those dependencies first.",
                "%(component)s cannot be deleted while %(names)s depend on it; remove those dependencies first.",
                len(names),
            )
            % {"component": component.name, "names": get_text_list(names, gettext("and"))}
        )
    audit_record(
        team=component.team,
        actor=actor,
        component=None,
        action="component.delete",
        detail={"name": component.name, "service_id": component.service_id},
    )
    component.delete()


@transaction.atomic
def secret_key_regenerate(*, component: Component, actor: Actor) -> str:
    """Give the component a new API secret key; the old one stops working at once."""
    if component.registration != Registration.API:
        raise ComponentError(gettext("Only components with API registration have a secret key."))
    component.secret_key = new_secret_key()
    component.save(update_fields=["secret_key", "updated_at"])
    audit_record(actor=actor, component=component, action="secret_key.regenerate")
    return component.secret_key


# Ports and the generated connection information


@transaction.atomic
def port_create(
    *,
    component: Component,
    number: int,
    actor: Actor,
    protocol: str = Protocol.TCP,
    alias: str = "",
    inner_service: bool = False,
    outer_service: bool = False,
) -> Port:
    if component.is_third_party and component.ports.exists():
        raise ComponentError({"number": [gettext(THIRD_PARTY_ONE_PORT)]})
    port = Port(
        component=component,
        number=number,
        protocol=protocol,
        alias=alias or alias_from(component.service_name),
        inner_service=inner_service,
        outer_service=outer_service,
    )
    validated_save(port)
    allocate_gateway_ports(port)
    port_sync_generated_env(port)
    audit_record(
        actor=actor,
        component=component,
        action="port.create",
        detail={
            "number": number,
            "protocol": protocol,
            "alias": port.alias,
            "inner_service": inner_service,
            "outer_service": outer_service,
        },
    )
    return port


@transaction.atomic
def port_update(*, port: Port, actor: Actor, **changes: Any) -> Port:
    allowed = {"number", "protocol", "alias", "inner_service", "outer_service"}
    unknown = set(changes) - allowed
    if unknown:
        raise ComponentError(
            gettext("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    old_alias = port.alias
    before = {field: getattr(port, field) for field in changes}
    if changes.get("inner_service") is False and changes.get("outer_service", port.outer_service):
        raise ComponentError(
            {
                "inner_service": [
                    gettext("The internal service cannot close while the external service is open.")
                ]
            }
        )
    for field, value in changes.items():
        setattr(port, field, value)
    validated_save(port)
    allocate_gateway_ports(port)
    port_sync_generated_env(port, old_alias=old_alias)
    audit_record(
        team=port.component.team,
        actor=actor,
        component=port.component,
        action="port.update",
        # The port's number as it was, so that the event says which port (kato_console/events.py).
        detail={
            "port": before.get("number", port.number),
            **{f: {"from": before[f], "to": v} for f, v in changes.items() if before[f] != v},
        },
    )
    return port


@transaction.atomic
def port_delete(*, port: Port, actor: Actor) -> None:
    EnvVar.objects.filter(
        component=port.component, generated=True, name__in=_generated_names(port.alias)
    ).delete()
    audit_record(
        team=port.component.team,
        actor=actor,
        component=port.component,
        action="port.delete",
        detail={"number": port.number},
    )
    port.delete()


def _generated_names(alias: str) -> list[str]:
    return [f"{alias}_HOST", f"{alias}_PORT"]


def port_sync_generated_env(port: Port, *, old_alias: str = "") -> None:
    """Keep ALIAS_HOST / ALIAS_PORT in step with the port's internal service (docs/architecture.md, "The effective environment")."""
    component = port.component
    if old_alias and old_alias != port.alias:
        EnvVar.objects.filter(
            component=component, generated=True, name__in=_generated_names(old_alias)
        ).delete()
    names = _generated_names(port.alias)
    if not port.inner_service:
        EnvVar.objects.filter(component=component, generated=True, name__in=names).delete()
        return
    taken = EnvVar.objects.filter(component=component, name__in=names, generated=False).values_list(
        "name", flat=True
    )
    if taken:
        raise ComponentError(
            {
                "alias": [
                    gettext(
                        "The component already has a variable %(names)s; rename it or choose another port alias."
                    )
                    % {"names": ", ".join(taken)}
                ]
            }
        )
    for name, description in zip(
        names, ("Internal address (generated)", "Internal port (generated)"), strict=True
    ):
        EnvVar.objects.get_or_create(
            component=component,
            name=name,
            defaults={"scope": Scope.OUTER, "generated": True, "description": description},
        )


# Connection information and the component's own variables


@transaction.atomic
def env_var_set(
    *,
    component: Component,
    name: str,
    actor: Actor,
    value: str = "",
    scope: str = Scope.OUTER,
    secret: bool = False,
    description: str = "",
) -> EnvVar:
    """Create or update a variable by name; generated variables cannot be edited by hand."""
    if scope == Scope.OUTER:
        _lock_dependency_graph(component.team_id)
    var = EnvVar.objects.filter(component=component, name=name).first()
    created = var is None
    if var is None:
        var = EnvVar(component=component, name=name)
    elif var.generated:
        raise ComponentError(
            {
                "name": [
                    gettext("%(name)s is generated from the port's internal service and cannot be edited.")
                    % {"name": name}
                ]
            }
        )
    var.value, var.scope, var.secret, var.description = value, scope, secret, description
    if scope == Scope.OUTER:
        _refuse_dependent_collisions(component=component, names={name})
    validated_save(var)
    audit_record(
        actor=actor,
        component=component,
        action="env.create" if created else "env.update",
        detail={"name": name, "scope": scope, "secret": secret, "value": "[redacted]" if secret else value},
    )
    return var


# The fields of a variable a person may change; its name is how it is found, and stays.
ENV_VAR_FIELDS = ("value", "scope", "secret", "description")


@transaction.atomic
def env_var_update(*, var: EnvVar, actor: Actor, **changes: Any) -> EnvVar:
    """Change some of a variable's fields (``ENV_VAR_FIELDS``); those left out keep their value and the
    name stays. A generated variable is refused with a ``ComponentError`` on ``name``, as by
    ``env_var_set``; the change is audited like any other."""
    unknown = set(changes) - set(ENV_VAR_FIELDS)
    if unknown:
        raise TypeError(f"env_var_update() cannot change {', '.join(sorted(unknown))}")
    fields = {field: changes.get(field, getattr(var, field)) for field in ENV_VAR_FIELDS}
    return env_var_set(component=var.component, name=var.name, actor=actor, **fields)


@transaction.atomic
def env_var_delete(*, var: EnvVar, actor: Actor) -> None:
    if var.generated:
        raise ComponentError(
            gettext(
                "%(variable)s is generated from the port's internal service; turn the internal service off instead."
            )
            % {"variable": var.name}
        )
    audit_record(
        team=var.component.team,
        actor=actor,
        component=var.component,
        action="env.delete",
        detail={"name": var.name},
    )
    var.delete()


def outer_names(component: Component) -> set[str]:
    return set(component.env_vars.filter(scope=Scope.OUTER).values_list("name", flat=True))


def _refuse_dependent_collisions(*, component: Component, names: Iterable[str]) -> None:
    """A new connection-information name must not collide, in any dependent, with another dependency's."""
    names = set(names)
    for dependent_id in component.dependents.values_list("component_id", flat=True):
        others = (
            EnvVar.objects.filter(
                scope=Scope.OUTER, name__in=names, component__dependents__component_id=dependent_id
            )
            .exclude(component=component)
            .select_related("component")
            .first()
        )
        if others is not None:
            dependent = Component.objects.get(pk=dependent_id)
            raise ComponentError(
                {
                    "name": [
                        gettext(
                            "%(variable)s is already shared with %(dependent)s by %(owner)s; %(dependent)s would receive it twice. Choose another name."
                        )
                        % {
                            "variable": others.name,
                            "dependent": dependent.name,
                            "owner": others.component.name,
                        }
                    ]
                }
            )


# Dependencies


@transaction.atomic
def dependency_add(
    *, component: Component, target: Component, actor: Actor, open_inner: bool = False
) -> Dependency:
    """Make ``component`` depend on ``target``.

    A target whose port has no internal service is refused unless ``open_inner`` confirms that the
    internal service should be turned on (as Kato asks before it does so).
    """
    _lock_dependency_graph(component.team_id, target.team_id)
    dependency = Dependency(component=component, target=target)
    try:
        check_dependency(dependency)
    except ValidationError as error:
        raise ComponentError.from_validation(error) from None
    _refuse_name_collisions(component=component, target=target)
    closed = [port for port in target.ports.all() if not port.inner_service]
    if closed and not open_inner:
        raise ComponentError(
            {
                "open_inner": [
                    gettext(
                        "%(target)s's port %(port)s has no internal service, so %(component)s could not reach it. Confirm to turn the internal service on."
                    )
                    % {"target": target.name, "port": closed[0].number, "component": component.name}
                ]
            }
        )
    for port in closed:
        port_update(port=port, actor=actor, inner_service=True)
    validated_save(dependency)
    audit_record(
        actor=actor,
        component=component,
        action="dependency.add",
        detail={"target": target.service_name},
    )
    return dependency


def _lock_dependency_graph(*team_ids: int) -> None:
    """Serialise the changes to a team's dependencies and connection-information names.

    The rules that span components (no cycle; no variable received from two dependencies) are
    checked by reading other rows, so two concurrent changes could each pass and together break
    them. Every such change first locks its team's row, always in the order of the teams' ids:
    they run one after the other, and the second sees what the first committed, with no deadlock.
    """
    list(
        Team.objects.select_for_update().filter(pk__in=sorted(set(team_ids))).order_by("pk").values_list("pk")
    )


def _refuse_name_collisions(*, component: Component, target: Component) -> None:
    incoming = outer_names(target)
    clash = (
        EnvVar.objects.filter(
            scope=Scope.OUTER, name__in=incoming, component__dependents__component=component
        )
        .exclude(component=target)
        .select_related("component")
        .order_by("name")
        .first()
    )
    if clash is not None:
        raise ComponentError(
            {
                "target": [
                    gettext(
                        "%(target)s and %(other)s both share the variable %(variable)s; %(component)s cannot depend on both. Rename the variable in one of them."
                    )
                    % {
                        "target": target.name,
                        "other": clash.component.name,
                        "variable": clash.name,
                        "component": component.name,
                    }
                ]
            }
        )


@transaction.atomic
def dependency_remove(*, component: Component, target: Component, actor: Actor) -> None:
    deleted, _ = Dependency.objects.filter(component=component, target=target).delete()
    if not deleted:
        raise ComponentError(
            gettext("%(component)s does not depend on %(target)s.")
            % {"component": component.name, "target": target.name}
        )
    audit_record(
        actor=actor,
        component=component,
        action="dependency.remove",
        detail={"target": target.service_name},
    )


# Reveals and personal API tokens


@transaction.atomic
def env_var_create(*, component: Component, name: str, actor: Actor, **fields: Any) -> EnvVar:
    """Add a variable; unlike ``env_var_set`` it refuses a name the component already has."""
    existing = EnvVar.objects.filter(component=component, name=name).first()
    if existing is not None and existing.generated:
        alias = name.rsplit("_", 1)[0]
        raise ComponentError(
            {
                "name": [
                    gettext(
                        "%(name)s is generated from the port %(alias)s's internal service and cannot be set by hand; dependents receive the component's internal address in it."
                    )
                    % {"name": name, "alias": alias}
                ]
            }
        )
    if existing is not None:
        raise ComponentError(
            {
                "name": [
                    gettext(
                        "%(component)s already has a variable %(name)s; change it instead of adding it again."
                    )
                    % {"component": component.name, "name": name}
                ]
            }
        )
    return env_var_set(component=component, name=name, actor=actor, **fields)


def env_reveal(*, component: Component, actor: Actor, names: Iterable[str], via: str) -> None:
    """Record that secret values were shown (``via``: where, e.g. ``api:env?format=dotenv``)."""
    names = sorted(set(names))
    if names:
        audit_record(
            actor=actor,
            component=component,
            action="env.reveal",
            detail={"variables": names, "via": via},
        )


@transaction.atomic
def secret_key_reveal(*, component: Component, actor: Actor, via: str = "page") -> str:
    """The component's API secret key, for a member who asked to see it; the reveal is audited,
    with where it was shown (``via``: the overview page, or the console API operation)."""
    if component.registration != Registration.API:
        raise ComponentError(gettext("Only components with API registration have a secret key."))
    audit_record(actor=actor, component=component, action="secret_key.reveal", detail={"via": via})
    return component.secret_key
