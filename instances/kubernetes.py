"""Kubernetes manifests of third-party components: what Kato creates in its cluster for a component whose
port has the internal service on, so that workloads reach ``mysql:3306`` by name and read ``MYSQL_*``.

For each such component:

- a ``Service`` named after the service name, without a selector (nothing in the cluster runs it), with
  the port named from its alias, and an ``EndpointSlice`` per address family (and target port) listing
  the online instances, ``ready`` when the instance is routed;
- or, when every online instance is a DNS name, an ``ExternalName`` Service pointing at the best routed
  one (a CNAME has one target: the others are named in an annotation, and a later export follows the
  best one);
- a ``Secret`` (``Opaque``) with the secret connection information and a ``ConfigMap`` with the rest,
  ``A_HOST`` / ``A_PORT`` resolved as ``instances.environment`` resolves them.

The rendering is pure over rows loaded by ``load_components`` (a fixed number of queries whatever the
number of components and instances); the doors decide who receives secret values and audit it.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.db.models import Prefetch, QuerySet

from components.models import Application, Component, EnvVar, Port, Protocol, Scope
from instances.environment import best_routed_instance, generated_value
from instances.models import Instance, Status
from instances.selectors import instance_statuses

MANAGED_BY = "kato-console"
# EndpointSlice controllers leave alone the slices another manager's label claims.
SLICE_MANAGER = "console.kato.io"
# The API server refuses more endpoints in one slice.
MAX_ENDPOINTS_PER_SLICE = 1000
DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE_CUT = re.compile(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$")


@dataclass(frozen=True)
class ComponentManifest:
    """The documents of one component, what was left out and why, and which secret values it holds."""

    component: Component
    documents: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    revealed: list[str] = field(default_factory=list)

    @property
    def exported(self) -> bool:
        return bool(self.documents)


# Loading


def load_components(components: QuerySet[Component]) -> list[Component]:
    """The components with everything the rendering reads, in four queries however many there are."""
    return list(
        components.select_related("team", "application", "health_check")
        .prefetch_related(
            "ports",
            Prefetch("env_vars", queryset=EnvVar.objects.filter(scope=Scope.OUTER).order_by("name")),
            Prefetch("instances", queryset=Instance.objects.order_by("host", "port", "id")),
        )
        .order_by("service_name", "pk")
    )


def operator_components(app_slug: str, *, team: str = "", component: str = "") -> list[Component]:
    """For ``manage.py export_kubernetes`` (the operator runs the server and belongs to no team): the
    application's components, or one of them; raises LookupError with a sentence."""
    applications = Application.objects.filter(slug=app_slug).select_related("team")
    if team:
        applications = applications.filter(team__slug=team)
    found = list(applications[:10])
    if not found:
        raise LookupError(f"There is no application {app_slug!r}{f' in team {team!r}' if team else ''}.")
    if len(found) > 1:
        teams = ", ".join(sorted(a.team.slug for a in found))
        raise LookupError(f"Several teams have an application {app_slug!r}: {teams}. Say which with --team.")
    components = Component.objects.filter(application=found[0])
    if component:
        components = components.filter(service_name=component)
        if not components.exists():
            raise LookupError(f"The application {app_slug!r} has no component {component!r}.")
    return load_components(components)


# Rendering one component


def component_manifest(component: Component, *, namespace: str = "", reveal: bool) -> ComponentManifest:
    """The documents of ``component`` (loaded by ``load_components``); secret values only when ``reveal``."""
    reason = not_exported_reason(component)
    if reason:
        return ComponentManifest(component, notes=[reason])
    ports = _inner_ports(component)
    meta = _Meta(component, namespace)
    service, slices, notes = _service_and_slices(component, ports, meta)
    secret, revealed = _secret(component, meta, reveal=reveal)
    documents = [secret, _config_map(component, meta), service, *slices]
    return ComponentManifest(component, documents=documents, notes=notes, revealed=revealed)


def not_exported_reason(component: Component) -> str:
    """Why the component gets no manifests, or "" when it gets them."""
    name = component.service_name
    if not component.is_third_party:
        return (
            f"{name} is an internal component: its workload brings its own Service, so only third-party "
            "components are exported."
        )
    if not _inner_ports(component):
        return (
            f"{name} has no port with the internal service on, so it gets no Kubernetes Service; "
            "turn the internal service on (Ports) to export it."
        )
    return ""


def _inner_ports(component: Component) -> list[Port]:
    return sorted((p for p in component.ports.all() if p.inner_service), key=lambda p: p.number)


@dataclass(frozen=True)
class _Meta:
    component: Component
    namespace: str

    def __call__(self, name: str, **annotations: str) -> dict[str, Any]:
        component = self.component
        metadata: dict[str, Any] = {"name": name}
        if self.namespace:
            metadata["namespace"] = self.namespace
        metadata["labels"] = {
            "app.kubernetes.io/managed-by": MANAGED_BY,
            "kato.io/team": label_value(component.team.slug),
            "kato.io/application": label_value(component.application.slug),
            "kato.io/component": label_value(component.service_name),
        }
        metadata["annotations"] = {"kato.io/service-id": component.service_id, **annotations}
        return metadata


def _service_and_slices(
    component: Component, ports: list[Port], meta: _Meta
) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
    name = component.service_name
    online = [(i, s) for i, s in instance_statuses(component) if s != Status.OFFLINE]
    by_family: dict[str, list[tuple[Instance, str]]] = {"IPv4": [], "IPv6": []}
    names: list[Instance] = []
    unusable: list[str] = []
    for instance, status in online:
        family = _address_family(instance.host)
        if family is None:
            names.append(instance)
        elif _special_ip(instance.host):
            unusable.append(instance.address)
        else:
            by_family[family].append((instance, status))
    notes = []
    if unusable:
        notes.append(
            f"{name}: left out {', '.join(unusable)}: Kubernetes refuses loopback, link-local, multicast "
            "and unspecified addresses as endpoints (in a pod they would be the pod itself)."
        )
    if names and not any(by_family.values()):
        return (*_external_name(component, ports, names, meta, notes), notes)
    if names:
        shown = ", ".join(i.address for i in names)
        notes.append(f"{name}: left out {shown}: an EndpointSlice holds IP addresses, and this one has some.")
    service_ports = [_service_port(p) for p in ports]
    spec: dict[str, Any] = {"type": "ClusterIP", "ports": service_ports}
    if by_family["IPv6"]:
        # A single-stack IPv4 Service ignores IPv6 endpoints; a cluster without IPv6 falls back to one family.
        spec["ipFamilyPolicy"] = "PreferDualStack"
    annotations = {"kato.io/notes": " ".join(notes)} if notes else {}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": meta(name, **annotations), "spec": spec}
    slices = [
        slice_
        for family, members in by_family.items()
        for slice_ in _endpoint_slices(name, family, members, ports[0], meta)
    ]
    return service, slices, notes


def _external_name(
    component: Component, ports: list[Port], names: list[Instance], meta: _Meta, notes: list[str]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    best = best_routed_instance(component)
    if best is None or best not in names:
        best = names[0]
        notes.append(
            f"{component.service_name}: no instance is routed now; the ExternalName points at {best.host} anyway."
        )
    others = [i.address for i in names if i.pk != best.pk]
    if others:
        notes.append(
            f"{component.service_name}: an ExternalName Service is one DNS name ({best.host}, the best routed "
            f"instance); {', '.join(others)} are not in it. Export again to follow a change."
        )
    port = best.port or ports[0].number
    if port != ports[0].number:
        notes.append(
            f"{component.service_name}: {best.host} listens on {port}, not {ports[0].number}: an ExternalName "
            "does not map ports, so workloads must use the port in the ConfigMap."
        )
    annotations = {"kato.io/notes": " ".join(notes)} if notes else {}
    spec = {"type": "ExternalName", "externalName": best.host, "ports": [_service_port(p) for p in ports]}
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(component.service_name, **annotations),
        "spec": spec,
    }
    return service, []


def _endpoint_slices(
    name: str, family: str, members: list[tuple[Instance, str]], port: Port, meta: _Meta
) -> list[dict[str, Any]]:
    """One slice per target port (an instance may listen elsewhere than the component's port), split at
    the API server's limit of endpoints per slice."""
    by_port: dict[int, list[tuple[Instance, str]]] = {}
    for instance, status in members:
        by_port.setdefault(instance.port or port.number, []).append((instance, status))
    slices = []
    for target, group in sorted(by_port.items()):
        base = f"{name}-{family.lower()}" + ("" if target == port.number else f"-{target}")
        for n, start in enumerate(range(0, len(group), MAX_ENDPOINTS_PER_SLICE)):
            chunk = group[start : start + MAX_ENDPOINTS_PER_SLICE]
            metadata = meta(base if n == 0 else f"{base}-{n + 1}")
            metadata["labels"] = {
                "kubernetes.io/service-name": name,
                "endpointslice.kubernetes.io/managed-by": SLICE_MANAGER,
                **metadata["labels"],
            }
            slices.append(
                {
                    "apiVersion": "discovery.k8s.io/v1",
                    "kind": "EndpointSlice",
                    "metadata": metadata,
                    "addressType": family,
                    "ports": [{"name": port_name(port), "port": target, "protocol": _protocol(port)}],
                    "endpoints": [_endpoint(instance, status) for instance, status in chunk],
                }
            )
    return slices


def _endpoint(instance: Instance, status: str) -> dict[str, Any]:
    routed = status in (Status.HEALTHY, Status.UNKNOWN)
    return {
        "addresses": [ipaddress.ip_address(instance.host).compressed],
        "conditions": {"ready": routed, "serving": routed, "terminating": False},
    }


def _service_port(port: Port) -> dict[str, Any]:
    found: dict[str, Any] = {"name": port_name(port), "port": port.number, "protocol": _protocol(port)}
    if port.protocol == Protocol.HTTP:
        found["appProtocol"] = "http"
    return found


def _protocol(port: Port) -> str:
    return "UDP" if port.protocol == Protocol.UDP else "TCP"


def _connection_information(component: Component) -> list[tuple[EnvVar, str]]:
    return [
        (var, generated_value(component, var)) for var in component.env_vars.all() if var.scope == Scope.OUTER
    ]


def _secret(component: Component, meta: _Meta, *, reveal: bool) -> tuple[dict[str, Any], list[str]]:
    secrets = [(var, value) for var, value in _connection_information(component) if var.secret]
    names = [var.name for var, _ in secrets]
    if reveal:
        data = {var.name: base64.b64encode(value.encode()).decode("ascii") for var, value in secrets}
        return _secret_document(meta(secret_name(component)), data), names
    withheld = {}
    if names:
        withheld["kato.io/data-withheld"] = (
            f"{', '.join(names)}: only owners and developers of team {component.team.slug} receive secret "
            "values; apply what one of them exports."
        )
    return _secret_document(meta(secret_name(component), **withheld), None), []


def _secret_document(metadata: dict[str, Any], data: dict[str, str] | None) -> dict[str, Any]:
    document = {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": "Opaque"}
    if data is not None:
        document["data"] = data
    return document


def _config_map(component: Component, meta: _Meta) -> dict[str, Any]:
    data = {var.name: value for var, value in _connection_information(component) if not var.secret}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(secret_name(component)), "data": data}


# Names


def secret_name(component: Component) -> str:
    """The Secret's and the ConfigMap's name (two kinds may share one)."""
    return f"{component.service_name}-connection"


def port_name(port: Port) -> str:
    """The alias as a Kubernetes port name: lower-case, at most 15 characters, with a letter."""
    name = re.sub(r"-+", "-", port.alias.lower().replace("_", "-"))[:15].strip("-")
    return name if re.search(r"[a-z]", name) else f"port-{port.number}"


def label_value(text: str) -> str:
    """A label value: at most 63 characters, starting and ending with a letter or digit."""
    return _LABEL_VALUE_CUT.sub("", re.sub(r"[^A-Za-z0-9._-]", "-", text)[:63])


def valid_namespace(text: str) -> bool:
    return len(text) <= 63 and bool(DNS_LABEL_RE.match(text))


def _address_family(host: str) -> str | None:
    try:
        return "IPv4" if ipaddress.ip_address(host).version == 4 else "IPv6"
    except ValueError:
        return None


def _special_ip(host: str) -> bool:
    ip = ipaddress.ip_address(host)
    return ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified


# Output


def manifests(
    components: Iterable[Component], *, namespace: str = "", reveal: bool
) -> list[ComponentManifest]:
    return [component_manifest(c, namespace=namespace, reveal=reveal) for c in components]


def notes_of(found: Iterable[ComponentManifest]) -> list[str]:
    return [note for manifest in found for note in manifest.notes]


def to_yaml(found: list[ComponentManifest], *, title: str) -> str:
    """One YAML document, the ``v1`` ``List`` of :func:`to_list` (which ``kubectl apply -f`` takes and
    any YAML parser reads as the one object the OpenAPI description promises), after comment lines:
    the title and every note."""
    lines = [f"# {title}", "# Apply with: kubectl apply -f <this file>"]
    lines += [f"# {note}" for note in notes_of(found)]
    body = yaml.safe_dump(to_list(found), sort_keys=False, allow_unicode=True)
    return "\n".join(lines) + "\n" + body


def to_list(found: list[ComponentManifest]) -> dict[str, Any]:
    """The documents as a Kubernetes ``List``, as ``kubectl get -o json`` writes several objects."""
    items = [document for manifest in found for document in manifest.documents]
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}
