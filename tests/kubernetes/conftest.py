"""Components to export, and the check every exported document must pass: the JSON schemas of a
current Kubernetes release, shipped by kubernetes-validate (strict: no unknown field)."""

from __future__ import annotations

import base64
import re
from typing import Any

import kubernetes_validate
import pytest
import yaml

from components import services
from components.models import Scope
from instances import services as instance_services
from instances.addresses import parse_address
from instances.models import Health, Instance

KUBERNETES_VERSION = kubernetes_validate.utils.latest_version()
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def validated(text: str) -> list[dict[str, Any]]:
    """The items of the download, one YAML document (a ``v1`` ``List``), each validated against
    Kubernetes' schemas and naming rules."""
    (listed,) = list(yaml.safe_load_all(text))
    assert (listed["apiVersion"], listed["kind"]) == ("v1", "List")
    documents = listed["items"]
    for document in documents:
        assert_valid(document)
    return documents


def assert_valid(document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    name = document["metadata"]["name"]
    if document["kind"] == "Service":
        assert DNS_LABEL.match(name) and len(name) <= 63, name
        for port in document["spec"]["ports"]:
            assert PORT_NAME.match(port["name"]) and len(port["name"]) <= 15 and "--" not in port["name"]
    else:
        assert DNS_SUBDOMAIN.match(name) and len(name) <= 253, name
    for key, value in document["metadata"]["labels"].items():
        assert len(value) <= 63 and re.match(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]?$", value), (
            key,
            value,
        )
    if document["kind"] == "Secret":
        for value in (document.get("data") or {}).values():
            base64.b64decode(value, validate=True)


def by_kind(documents: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in documents if d["kind"] == kind]


def add_instance(
    component, address: str, actor, *, health: str = Health.HEALTHY, online: bool = True
) -> Instance:
    instance = instance_services.instance_add(
        component=component, address=parse_address(address), actor=actor, is_online=online
    )
    # What the sweep would have recorded by now.
    Instance.objects.filter(pk=instance.pk).update(health=health)
    return instance


@pytest.fixture
def mysql(static_component, alice_actor):
    """shop/mysql: port 3306 with the internal service on, a user, a secret password, an inner-only
    variable, and instances on IPv4 and IPv6, one unhealthy, one offline."""
    services.port_create(
        component=static_component, number=3306, protocol="mysql", actor=alice_actor, inner_service=True
    )
    services.env_var_set(component=static_component, name="MYSQL_USER", value="shop", actor=alice_actor)
    services.env_var_set(
        component=static_component, name="MYSQL_PASSWORD", value="pa$$ 'wörd'", secret=True, actor=alice_actor
    )
    services.env_var_set(
        component=static_component, name="INNODB_BUFFER", value="1G", scope=Scope.INNER, actor=alice_actor
    )
    add_instance(static_component, "10.0.0.7", alice_actor)
    add_instance(static_component, "10.0.0.8:3307", alice_actor)
    add_instance(static_component, "10.0.0.9", alice_actor, health=Health.UNHEALTHY)
    add_instance(static_component, "10.0.0.10", alice_actor, online=False)
    add_instance(static_component, "[2001:DB8::7]:3306", alice_actor)
    return static_component
