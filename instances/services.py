"""Writes to instances and health checks."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from components.audit import Actor, audit_record
from components.models import Component
from components.services import ComponentError, _validated_save
from instances.addresses import Address, AddressError, check_policy, parse_address
from instances.models import Health, HealthCheck, Instance, Source


def address_parse_checked(raw: object) -> Address:
    """Parse an address and apply the network policy; raises ComponentError with the reason."""
    try:
        address = parse_address(raw)
        check_policy(address, settings.KATO_DENIED_NETWORKS)
    except AddressError as error:
        raise ComponentError({"address": [str(error)]}) from None
    return address


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


def added_detail(address: str, is_online: bool, source: str) -> dict[str, Any]:
    """The detail of an ``instance.add`` audit event."""
    return {"address": address, "is_online": is_online, "source": source}


def _audit_added(instance: Instance, actor: Actor) -> None:
    audit_record(
        actor=actor,
        component=instance.component,
        action="instance.add",
        detail=added_detail(instance.address, instance.is_online, instance.source),
    )


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
    if Instance.objects.filter(component=component, host=address.host, port=address.port).exists():
        raise ComponentError({"address": [f"{component.name} already has the instance {instance.address}."]})
    _validated_save(instance)
    _audit_added(instance, actor)
    return instance


def instance_upsert(
    *, component: Component, address: Address, is_online: bool, actor: Actor
) -> tuple[Instance, bool]:
    """Add the instance at this address, or set is_online (and the scheme) of the existing one.

    Safe under concurrency without reading first: the insert either wins or meets the unique
    constraint, and then the existing row is updated. The address has been parsed and checked
    against the policy by the caller; the database constraints check the rest. Returns
    (instance, changed). (The instance API adds on PostgreSQL in its own single statement, and
    comes here for the rest.)
    """
    instance = _new_instance(component=component, address=address, is_online=is_online, source=Source.API)
    try:
        with transaction.atomic():
            instance.save(force_insert=True)
            _audit_added(instance, actor)
        return instance, True
    except IntegrityError:
        pass  # It exists already (perhaps added a moment ago by a concurrent request).
    instance = Instance.objects.get(component=component, host=address.host, port=address.port)
    if instance.is_online == is_online and instance.scheme == address.scheme:
        return instance, False
    instance.component = component
    return instance_set_online(
        instance=instance, is_online=is_online, actor=actor, scheme=address.scheme
    ), True


@transaction.atomic
def instance_set_online(
    *, instance: Instance, is_online: bool, actor: Actor, scheme: str | None = None
) -> Instance:
    """Take an instance out of routing and probing (False) or bring it back (True)."""
    updates: dict[str, Any] = {
        "is_online": is_online,
        "generation": F("generation") + 1,
        "updated_at": timezone.now(),
    }
    if scheme is not None:
        updates["scheme"] = scheme
    if is_online:
        updates.update(
            health=Health.UNKNOWN,
            consecutive_successes=0,
            consecutive_failures=0,
            next_probe_at=timezone.now(),
        )
    else:
        updates["next_probe_at"] = None
    component = instance.component
    Instance.objects.filter(pk=instance.pk).update(**updates)
    instance.refresh_from_db()
    instance.component = component
    audit_record(
        actor=actor,
        component=component,
        action="instance.online" if is_online else "instance.offline",
        detail={"address": instance.address},
    )
    return instance


@transaction.atomic
def instance_delete(*, instance: Instance, actor: Actor) -> None:
    audit_record(
        actor=actor,
        component=instance.component,
        action="instance.delete",
        detail={"address": instance.address},
    )
    instance.delete()


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
        raise ComponentError(f"Unknown health-check fields: {', '.join(sorted(unknown))}.")
    check, _ = HealthCheck.objects.get_or_create(component=component)
    before = {field: getattr(check, field) for field in changes}
    for field, value in changes.items():
        setattr(check, field, value)
    _validated_save(check)
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
