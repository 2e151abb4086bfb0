"""Writes to instances and health checks, and the writes that span both apps: creating a component
with its health check and addresses (every door creates components here), the wizard's registration."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from components.models import Application, Component, ComponentKind, Protocol, Registration, new_secret_key
from components.services import application_create, generated_service_name, port_create
from core.audit import Actor, audit_event, audit_record
from core.errors import ComponentError, validated_save
from core.models import AuditEvent, Membership, Role, Team
from instances import sql
from instances.addresses import (
    HTTP_SCHEMES,
    REDIS_SCHEMES,
    Address,
    AddressError,
    check_policy,
    parse_address,
)
from instances.health import Claim, record_probe_results
from instances.models import CheckKind, Health, HealthCheck, Instance, Source, WrongSecret, normalise_networks
from instances.probes import ProbeResult, is_name


def address_parse_checked(raw: object) -> Address:
    """Parse an address and apply the network policy; raises ComponentError with the reason."""
    try:
        address = parse_address(raw)
        check_policy(address, settings.KATO_DENIED_NETWORKS)
    except AddressError as error:
        raise ComponentError({"address": [error.translated(gettext)]}) from None
    return address


def _component_row(
    *,
    application: Application,
    name: str,
    actor: Actor,
    kind: str = ComponentKind.THIRD_PARTY,
    registration: str = Registration.STATIC,
    service_name: str = "",
    image: str = "",
) -> Component:
    """The component's row (with a secret key for API registration) and its audit event."""
    name = (name or "").strip()
    if kind == ComponentKind.INTERNAL:
        registration = ""
    component = Component(
        application=application,
        team=application.team,
        name=name,
        service_name=service_name or generated_service_name(team=application.team, name=name),
        kind=kind,
        registration=registration or "",
        image=image or "",
    )
    if component.registration == Registration.API:
        component.secret_key = new_secret_key()
    validated_save(component)
    audit_record(
        team=application.team,
        actor=actor,
        component=component,
        action="component.create",
        detail={
            "name": name,
            "kind": kind,
            "registration": component.registration,
            "application": application.slug,
        },
    )
    return component


@transaction.atomic
def component_create(
    *, application: Application, name: str, actor: Actor, addresses: Sequence[Address] = (), **fields: Any
) -> Component:
    """Create a component with its health check and, for static registration, its instances; all of
    it or nothing. A third-party component's check is on (TCP until it is changed), an internal
    one's off. ``fields``: ``kind``, ``registration``, ``service_name``, ``image``."""
    component = _component_row(application=application, name=name, actor=actor, **fields)
    HealthCheck.objects.create(component=component, enabled=component.is_third_party)
    if addresses and component.registration != Registration.STATIC:
        raise ComponentError(
            {
                "addresses": [
                    gettext(
                        "Only a third-party component with static registration takes addresses; "
                        "API registration adds instances through its API URL."
                    )
                ]
            }
        )
    for address in addresses:
        instance_add(component=component, address=address, actor=actor)
    return component


class InstanceLimitReached(ComponentError):
    """The component has as many instances as KATO_MAX_INSTANCES_PER_COMPONENT allows."""


class InstanceGone(ComponentError):
    """The instance was deleted (by a concurrent request, say) before this change could be made."""

    def __init__(self, instance: Instance) -> None:
        super().__init__(
            {
                "address": [
                    gettext("There is no instance at %(address)s any more.") % {"address": instance.address}
                ]
            }
        )


def check_instance_limit(component: Component, *, adding: bool = True) -> None:
    """Refuse one more instance once the component has the most the installation allows
    (``adding``), or once it has more than that (after an insert).

    Reads at most the limit's index entries (is there a row past the limit's last one?), however
    many instances there are. Exact when the caller holds the component's lock (``_lock_for_adding``);
    otherwise concurrent adds can pass the limit by the number in flight.
    """
    limit = settings.KATO_MAX_INSTANCES_PER_COMPONENT
    past = limit - 1 if adding else limit
    if Instance.objects.filter(component=component).order_by()[past : past + 1].exists():
        raise InstanceLimitReached(
            {
                "address": [
                    gettext(
                        "%(component)s already has %(limit)s instances, the most one component may have; "
                        "delete one before adding another."
                    )
                    % {"component": component.name, "limit": limit}
                ]
            }
        )


def _lock_for_adding(component: Component) -> None:
    """Take the component's row lock, so that concurrent adds to it are decided one at a time: the
    same address is added once and the instance limit holds exactly.

    ``FOR NO KEY UPDATE``: it does not wait for, nor hold up, the inserts that reference the
    component (their foreign-key checks take only a key-share lock).
    """
    Component.objects.select_for_update(no_key=True).filter(pk=component.pk).values_list("pk").first()


def _reset_health(instance: Instance) -> None:
    instance.health = Health.UNKNOWN
    instance.consecutive_successes = 0
    instance.consecutive_failures = 0
    instance.next_probe_at = timezone.now() if instance.is_online else None
    instance.generation = (instance.generation or 0) + 1


def _new_instance(*, component: Component, address: Address, is_online: bool, source: str) -> Instance:
    return Instance(
        component=component,
        host=address.host,
        port=address.port,
        scheme=address.scheme,
        is_online=is_online,
        source=source,
        next_probe_at=timezone.now() if is_online else None,
    )


def _locked_at(component: Component, address: Address) -> Instance | None:
    return (
        Instance.objects.select_for_update()
        .filter(component=component, host=address.host, port=address.port)
        .first()
    )


def added_detail(address: str, is_online: bool, source: str) -> dict[str, Any]:
    """The detail of an ``instance.add`` audit event."""
    return {"address": address, "is_online": is_online, "source": source}


def _added_event(instance: Instance, actor: Actor) -> AuditEvent:
    return audit_event(
        actor=actor,
        component=instance.component,
        action="instance.add",
        detail=added_detail(instance.address, instance.is_online, instance.source),
    )


def _audit_added(instance: Instance, actor: Actor) -> None:
    _added_event(instance, actor).save(force_insert=True)


@transaction.atomic
def instance_add(
    *,
    component: Component,
    address: Address,
    actor: Actor,
    is_online: bool = True,
    source: str = Source.STATIC,
) -> Instance:
    instance = _new_instance(component=component, address=address, is_online=is_online, source=source)
    _lock_for_adding(component)
    if _locked_at(component, address) is not None:
        raise ComponentError(
            {
                "address": [
                    gettext("%(component)s already has the instance %(address)s.")
                    % {"component": component.name, "address": instance.address}
                ]
            }
        )
    check_instance_limit(component)
    validated_save(instance)
    _audit_added(instance, actor)
    return instance


def instance_upsert(
    *, component: Component, address: Address, is_online: bool, actor: Actor
) -> tuple[Instance, bool]:
    """Add the instance at this address, or set is_online (and the scheme) of the existing one;
    returns (instance, changed).

    The add is tried first, as one statement (``sql.instance_insert_audited``: the instance and its
    audit event, unless the address exists or the component is at its instance limit): its insert
    either wins or meets the unique address constraint (after waiting for a concurrent insert of
    the same address to commit). When it inserted nothing, the existing row is changed in a
    transaction of its own, under its lock, only if it is not as asked; with no such row, the
    limit was the reason. So of concurrent identical calls one adds or changes, and audits, and the
    others change nothing. The address has been parsed and checked against the policy by the
    caller; the database constraints check the rest.
    """
    instance = _new_instance(component=component, address=address, is_online=is_online, source=Source.API)
    limit = settings.KATO_MAX_INSTANCES_PER_COMPONENT
    if sql.instance_insert_audited(instance, _added_event(instance, actor), limit=limit):
        return instance, True
    return _upsert_existing(component=component, address=address, is_online=is_online, actor=actor)


@transaction.atomic
def _upsert_existing(
    *, component: Component, address: Address, is_online: bool, actor: Actor
) -> tuple[Instance, bool]:
    current = _locked_at(component, address)
    if current is None:
        check_instance_limit(component)  # refused for the limit: say so
        # Otherwise deleted again since: as good as a change that lost the race.
        raise InstanceGone(
            _new_instance(component=component, address=address, is_online=is_online, source=Source.API)
        )
    current.component = component
    if current.is_online == is_online and current.scheme == address.scheme:
        return current, False
    return _set_online(current, is_online=is_online, actor=actor, scheme=address.scheme), True


@transaction.atomic
def instance_set_online(
    *, instance: Instance, is_online: bool, actor: Actor, scheme: str | None = None
) -> Instance:
    """Take an instance out of routing and probing (False) or bring it back (True).

    Decided under the row's lock: when the instance already is as asked, nothing is written or
    audited (so duplicates of one request change it once). Raises InstanceGone when it was deleted.
    """
    current = Instance.objects.select_for_update().filter(pk=instance.pk).first()
    if current is None:
        raise InstanceGone(instance)
    current.component = instance.component
    if current.is_online == is_online and (scheme is None or current.scheme == scheme):
        return current
    return _set_online(current, is_online=is_online, actor=actor, scheme=scheme)


def _set_online(instance: Instance, *, is_online: bool, actor: Actor, scheme: str | None) -> Instance:
    """Change the locked ``instance``'s intent: a new generation, and health that starts over when it
    comes back; audited."""
    instance.is_online = is_online
    instance.scheme = instance.scheme if scheme is None else scheme
    instance.generation += 1
    instance.next_probe_at = timezone.now() if is_online else None
    if is_online:
        instance.health = Health.UNKNOWN
        instance.consecutive_successes = instance.consecutive_failures = 0
    instance.save(update_fields=[*_ONLINE_FIELDS, "updated_at"])
    audit_record(
        actor=actor,
        component=instance.component,
        action="instance.online" if is_online else "instance.offline",
        detail={"address": instance.address},
    )
    return instance


_ONLINE_FIELDS = (
    "is_online",
    "scheme",
    "generation",
    "next_probe_at",
    "health",
    "consecutive_successes",
    "consecutive_failures",
)


@transaction.atomic
def instance_update(*, instance: Instance, address: Address, is_online: bool, actor: Actor) -> Instance:
    """Move an instance to another address and set its intent.

    A new address starts over: health unknown, counts cleared, and the generation raised, so that a
    probe result for the old address that is still on its way is dropped, not recorded for the new
    one. The address has been parsed and checked against the policy by the caller.
    """
    component = instance.component
    current = Instance.objects.select_for_update().get(pk=instance.pk)
    if (address.host, address.port, address.scheme) == (current.host, current.port, current.scheme):
        if current.is_online == is_online:
            return current
        current.component = component
        return instance_set_online(instance=current, is_online=is_online, actor=actor)
    taken = Instance.objects.filter(component=component, host=address.host, port=address.port)
    if taken.exclude(pk=current.pk).exists():
        raise ComponentError(
            {
                "address": [
                    gettext("%(component)s already has an instance at this address.")
                    % {"component": component.name}
                ]
            }
        )
    before = current.address
    current.component = component
    current.host, current.port, current.scheme, current.is_online = (
        address.host,
        address.port,
        address.scheme,
        is_online,
    )
    _reset_health(current)
    validated_save(current)
    audit_record(
        actor=actor,
        component=component,
        action="instance.update",
        detail={"address": {"from": before, "to": current.address}, "is_online": is_online},
    )
    return current


@transaction.atomic
def instance_delete(*, instance: Instance, actor: Actor) -> None:
    """Delete the instance, audited. Decided under the row's lock: of concurrent deletions of one
    instance the first deletes it and the others raise InstanceGone, with no event."""
    if not Instance.objects.select_for_update().filter(pk=instance.pk).exists():
        raise InstanceGone(instance)
    audit_record(
        actor=actor,
        component=instance.component,
        action="instance.delete",
        detail={"address": instance.address},
    )
    instance.delete()


# The instance API's count of wrong secret keys


@transaction.atomic
def wrong_secret_record(*, component: Component, client: str, window_s: int) -> None:
    """Count one more wrong secret key of ``client`` for the component (a new window if the last
    one has ended), and forget the component's ended windows.

    Under the client's row lock, so that concurrent wrong secrets are all counted: the first
    creates the row, the others wait for it and add to it.
    """
    now = timezone.now()
    row, created = WrongSecret.objects.select_for_update().get_or_create(
        component=component,
        client=client,
        defaults={"failures": 1, "window_ends_at": now + timedelta(seconds=window_s)},
    )
    if not created:
        if row.window_ends_at <= now:
            row.failures, row.window_ends_at = 1, now + timedelta(seconds=window_s)
        else:
            row.failures = F("failures") + 1
        row.save(update_fields=["failures", "window_ends_at"])
    WrongSecret.objects.filter(component=component, window_ends_at__lte=now).delete()


HEALTH_CHECK_FIELDS = (
    "enabled",
    "kind",
    "path",
    "interval_s",
    "timeout_s",
    "success_threshold",
    "failure_threshold",
    "use_credentials",
    "username_var",
    "password_var",
    "verify_tls",
    "credential_networks",
)


@transaction.atomic
def health_check_update(*, component: Component, actor: Actor, **changes: Any) -> HealthCheck:
    """Change the health check; it applies at once: every online instance is due for a new probe."""
    unknown = set(changes) - set(HEALTH_CHECK_FIELDS)
    if unknown:
        raise ComponentError(
            gettext("Unknown health-check fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    check, _ = HealthCheck.objects.get_or_create(component=component)
    _refuse_networks_change_by_non_owner(check, changes, actor)
    before = {field: getattr(check, field) for field in changes}
    for field, value in changes.items():
        setattr(check, field, value)
    validated_save(check)
    Instance.objects.filter(component=component).update(
        health=Health.UNKNOWN,
        consecutive_successes=0,
        consecutive_failures=0,
        generation=F("generation") + 1,
    )
    Instance.objects.filter(component=component, is_online=True).update(next_probe_at=timezone.now())
    audit_record(
        actor=actor,
        component=component,
        action="health_check.update",
        detail={f: {"from": before[f], "to": v} for f, v in changes.items() if before[f] != v},
    )
    return check


NETWORKS_ARE_THE_OWNERS = gettext_noop(
    "Only an owner of the team can change the credential networks: they decide which addresses "
    "registered through the API receive the component's passwords."
)


def _refuse_networks_change_by_non_owner(check: HealthCheck, changes: dict[str, Any], actor: Actor) -> None:
    """The credential networks decide who receives a component's passwords: a team owner's decision
    (or an operator's, a superuser in the admin), whichever door the change comes through."""
    if "credential_networks" not in changes:
        return
    try:
        wanted = normalise_networks(changes["credential_networks"])
    except ValidationError:
        return  # Not a change that will be saved: the validation says why.
    if wanted == check.credential_networks:
        return
    user = actor.user
    if user is not None and (
        user.is_superuser
        or Membership.objects.filter(team_id=check.component.team_id, user=user, role=Role.OWNER).exists()
    ):
        return
    raise ComponentError({"credential_networks": [gettext(NETWORKS_ARE_THE_OWNERS)]})


# The Add Third-Party Component wizard's last step


def check_kind_for(*, protocol: str, addresses: Sequence[Address] = ()) -> str:
    """The health-check (and probe) kind a component's protocol or addresses call for."""
    if protocol in (CheckKind.MYSQL, CheckKind.POSTGRESQL, CheckKind.REDIS, CheckKind.HTTP):
        return protocol
    if addresses and all(address.scheme in HTTP_SCHEMES for address in addresses):
        return CheckKind.HTTP
    if addresses and all(address.scheme in REDIS_SCHEMES for address in addresses):
        return CheckKind.REDIS
    return CheckKind.TCP


def _renamed(error: ComponentError, names: dict[str, str]) -> ComponentError:
    return ComponentError({names.get(field, field): msgs for field, msgs in error.messages.items()})


@transaction.atomic
def third_party_component_register(
    *,
    name: str,
    registration: str,
    actor: Actor,
    application: Application | None = None,
    team: Team | None = None,
    new_application_name: str = "",
    addresses: Sequence[Address] = (),
    port: int | None = None,
    protocol: str = "",
    service_name: str = "",
    first_checks: Mapping[str, ProbeResult] | None = None,
) -> Component:
    """Create a third-party component with everything the wizard gathered, or nothing at all.

    The application is ``application``, or a new one called ``new_application_name`` in
    ``team``; then the component, its instances (static registration), its port when one is
    given, and a health check of the kind its protocol calls for. Errors name the wizard's
    fields: ``new_application_name``, ``name``, ``port``, ``address``.

    ``first_checks``: what the wizard's test found at each address (by its text), recorded as
    that instance's first check, so that an address just shown reachable is not "never checked".
    """
    if application is None:
        if team is None:
            raise ComponentError(
                {"application": [gettext("Choose an application, or a team for a new one.")]}
            )
        try:
            application = application_create(team=team, name=new_application_name, actor=actor)
        except ComponentError as error:
            raise _renamed(error, {"name": "new_application_name"}) from None
    component = component_create(
        application=application,
        name=name,
        actor=actor,
        registration=registration,
        addresses=addresses,
        service_name=service_name,
    )
    if port is not None:
        try:
            port_create(component=component, number=port, protocol=protocol or Protocol.TCP, actor=actor)
        except ComponentError as error:
            raise _renamed(error, {"number": "port", "alias": "port"}) from None
    kind = check_kind_for(protocol=protocol, addresses=addresses)
    if kind != component.health_check.kind:
        health_check_update(component=component, kind=kind, actor=actor)
    if first_checks:
        _record_first_checks(component, first_checks)
    return component


def _record_first_checks(component: Component, first_checks: Mapping[str, ProbeResult]) -> None:
    """The wizard's probes were the health check's own (same kind, no credentials yet): record them
    as the instances' first results. A DNS name is left to the sweep, which keeps its addresses."""
    results = [
        (Claim(instance.pk, instance.generation), first_checks[instance.address])
        for instance in Instance.objects.filter(component=component).order_by("pk")
        if instance.address in first_checks and not is_name(instance.host)
    ]
    record_probe_results(results)


PROBE_NOW_IN_FLIGHT = gettext_noop(
    "A Probe now of this component that you started is still running; its results come within "
    "seconds, then start another."
)


class ProbeNowInFlight(ComponentError):
    """A second "Probe now" of a component by the same user while the first one runs."""


@contextmanager
def probe_now_slot(*, component_id: int, user_id: int | None) -> Iterator[None]:
    """Hold the one "Probe now" a user may have in flight for a component, or raise
    ``ProbeNowInFlight``: a loop of clicks or calls cannot hold every web worker with the same
    probes. A PostgreSQL advisory lock of the session, so every web process sees it, and a process
    that dies lets it go with its connection; without PostgreSQL there is no limit."""
    if connection.vendor != "postgresql":
        yield
        return
    key = int.from_bytes(
        hashlib.sha256(f"probe-now:{component_id}:{user_id}".encode()).digest()[:8], "big", signed=True
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        (held,) = cursor.fetchone()
    if not held:
        raise ProbeNowInFlight(gettext(PROBE_NOW_IN_FLIGHT))
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
