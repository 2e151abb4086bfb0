"""instances.kubernetes: the documents Kato would create in its cluster for a third-party component,
each one valid for a current Kubernetes release."""

from __future__ import annotations

import base64

import kubernetes_validate
import pytest
import yaml

from components import services
from components.models import Component
from instances import kubernetes
from instances import services as instance_services
from instances.models import Health, Instance
from tests.kubernetes.conftest import add_instance, assert_valid, by_kind, validated

pytestmark = pytest.mark.django_db


def _export(component: Component, *, reveal: bool = True, namespace: str = "") -> tuple[str, list]:
    loaded = kubernetes.load_components(Component.objects.filter(pk=component.pk))
    found = kubernetes.manifests(loaded, reveal=reveal, namespace=namespace)
    text = kubernetes.to_yaml(found, title="test")
    return text, validated(text)


def test_every_document_passes_the_schemas_of_a_current_kubernetes(mysql):
    assert kubernetes_validate.utils.latest_version() >= "1.33"
    _, documents = _export(mysql, namespace="shop-prod")
    assert [d["kind"] for d in documents] == ["Secret", "ConfigMap", "Service"] + ["EndpointSlice"] * 3
    for document in documents:
        assert document["metadata"]["namespace"] == "shop-prod"
        assert (
            document["metadata"]["labels"].items()
            >= {
                "app.kubernetes.io/managed-by": "kato-console",
                "kato.io/team": "payments",
                "kato.io/application": "shop",
                "kato.io/component": "mysql",
            }.items()
        )


def test_the_download_is_one_yaml_document_a_v1_list_that_kubernetes_accepts(mysql):
    text, items = _export(mysql)
    (listed,) = yaml.safe_load_all(text)
    assert (listed["apiVersion"], listed["kind"], len(listed["items"])) == ("v1", "List", len(items))
    assert "\n---" not in text and text.startswith("# test\n")


def test_the_validator_refuses_what_kubernetes_refuses(mysql):
    _, documents = _export(mysql)
    service = by_kind(documents, "Service")[0]
    service["spec"]["selectorless"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        assert_valid(service)


def test_the_service_is_selectorless_and_named_after_the_service_name_with_the_aliased_port(mysql):
    _, documents = _export(mysql)
    [service] = by_kind(documents, "Service")
    assert service["metadata"]["name"] == "mysql"
    assert "selector" not in service["spec"]
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [{"name": "mysql", "port": 3306, "protocol": "TCP"}]
    # With IPv6 endpoints a dual-stack cluster gives the Service both families.
    assert service["spec"]["ipFamilyPolicy"] == "PreferDualStack"


def test_online_instances_are_in_one_slice_per_family_and_port_ready_when_routed(mysql):
    _, documents = _export(mysql)
    slices = {s["metadata"]["name"]: s for s in by_kind(documents, "EndpointSlice")}
    assert set(slices) == {"mysql-ipv4", "mysql-ipv4-3307", "mysql-ipv6"}
    for slice_ in slices.values():
        assert slice_["metadata"]["labels"]["kubernetes.io/service-name"] == "mysql"
        assert slice_["ports"][0]["name"] == "mysql"

    def endpoints(name: str) -> dict[str, bool]:
        return {e["addresses"][0]: e["conditions"]["ready"] for e in slices[name]["endpoints"]}

    # 10.0.0.10 is offline: not routed, not listed. 10.0.0.9 is unhealthy: listed, not ready.
    assert (slices["mysql-ipv4"]["addressType"], endpoints("mysql-ipv4")) == (
        "IPv4",
        {"10.0.0.7": True, "10.0.0.9": False},
    )
    assert (slices["mysql-ipv4-3307"]["ports"][0]["port"], endpoints("mysql-ipv4-3307")) == (
        3307,
        {"10.0.0.8": True},
    )
    assert (slices["mysql-ipv6"]["addressType"], endpoints("mysql-ipv6")) == ("IPv6", {"2001:db8::7": True})


def test_an_ipv4_only_component_has_no_ipv6_slice_and_a_single_stack_service(static_component, alice_actor):
    services.port_create(component=static_component, number=5432, actor=alice_actor, inner_service=True)
    add_instance(static_component, "192.0.2.10", alice_actor)
    _, documents = _export(static_component)
    assert [s["metadata"]["name"] for s in by_kind(documents, "EndpointSlice")] == ["mysql-ipv4"]
    assert "ipFamilyPolicy" not in by_kind(documents, "Service")[0]["spec"]


def test_secret_values_are_base64_in_the_secret_and_never_in_the_config_map(mysql):
    text, documents = _export(mysql)
    [secret] = by_kind(documents, "Secret")
    [config_map] = by_kind(documents, "ConfigMap")
    assert secret["type"] == "Opaque"
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == {
        "MYSQL_PASSWORD": "pa$$ 'wörd'"
    }
    # Connection information only: the inner-only INNODB_BUFFER is the component's own.
    assert config_map["data"] == {"MYSQL_HOST": "10.0.0.7", "MYSQL_PORT": "3306", "MYSQL_USER": "shop"}
    assert "MYSQL_PASSWORD" not in config_map["data"]
    assert "wörd" not in text


def test_generated_host_is_the_platform_name_with_a_service_domain(mysql, settings):
    settings.KATO_SERVICE_DOMAIN = "shop.svc.cluster.local"
    _, documents = _export(mysql)
    assert by_kind(documents, "ConfigMap")[0]["data"]["MYSQL_HOST"] == "mysql.shop.svc.cluster.local"


def test_without_reveal_the_secret_has_no_data_and_says_why(mysql):
    text, documents = _export(mysql, reveal=False)
    [secret] = by_kind(documents, "Secret")
    assert "data" not in secret
    assert "only owners and developers" in secret["metadata"]["annotations"]["kato.io/data-withheld"]
    assert "wörd" not in text and "cGEk" not in text


def test_dns_instances_give_an_external_name_service_to_the_best_routed_one(static_component, alice_actor):
    services.port_create(component=static_component, number=3306, actor=alice_actor, inner_service=True)
    add_instance(static_component, "db-a.example.com", alice_actor, health=Health.UNHEALTHY)
    add_instance(static_component, "db-b.example.com", alice_actor)
    text, documents = _export(static_component)
    [service] = by_kind(documents, "Service")
    assert service["spec"]["type"] == "ExternalName"
    assert service["spec"]["externalName"] == "db-b.example.com"
    assert by_kind(documents, "EndpointSlice") == []
    # A CNAME has one target: the other instance is named, not silently dropped.
    assert "db-a.example.com" in service["metadata"]["annotations"]["kato.io/notes"]
    assert "# mysql: an ExternalName Service is one DNS name (db-b.example.com" in text


def test_dns_names_beside_ip_addresses_are_left_out_with_a_note(static_component, alice_actor):
    services.port_create(component=static_component, number=3306, actor=alice_actor, inner_service=True)
    add_instance(static_component, "10.1.0.5", alice_actor)
    add_instance(static_component, "db.example.com", alice_actor)
    text, documents = _export(static_component)
    assert by_kind(documents, "Service")[0]["spec"]["type"] == "ClusterIP"
    assert [e["addresses"] for e in by_kind(documents, "EndpointSlice")[0]["endpoints"]] == [["10.1.0.5"]]
    assert "left out db.example.com" in text


def test_loopback_addresses_are_left_out_because_kubernetes_refuses_them(static_component, alice_actor):
    services.port_create(component=static_component, number=3306, actor=alice_actor, inner_service=True)
    add_instance(static_component, "127.0.0.1:3306", alice_actor)
    add_instance(static_component, "10.1.0.5", alice_actor)
    text, documents = _export(static_component)
    [slice_] = by_kind(documents, "EndpointSlice")
    assert [e["addresses"] for e in slice_["endpoints"]] == [["10.1.0.5"]]
    assert "left out 127.0.0.1:3306" in text


def test_a_component_without_internal_service_gives_no_service_and_says_why(static_component, alice_actor):
    services.port_create(component=static_component, number=3306, actor=alice_actor, inner_service=False)
    add_instance(static_component, "10.1.0.5", alice_actor)
    text, documents = _export(static_component)
    assert documents == []
    assert "# mysql has no port with the internal service on, so it gets no Kubernetes Service" in text


def test_a_udp_port_with_a_long_alias_gets_a_valid_port_name(static_component, alice_actor):
    services.port_create(
        component=static_component,
        number=8125,
        protocol="udp",
        alias="STATSD_METRICS_EXPORTER",
        actor=alice_actor,
        inner_service=True,
    )
    add_instance(static_component, "10.1.0.5", alice_actor)
    _, documents = _export(static_component)
    [port] = by_kind(documents, "Service")[0]["spec"]["ports"]
    assert port == {"name": "statsd-metrics", "port": 8125, "protocol": "UDP"}
    assert by_kind(documents, "EndpointSlice")[0]["ports"][0]["name"] == "statsd-metrics"
    assert set(by_kind(documents, "ConfigMap")[0]["data"]) == {
        "STATSD_METRICS_EXPORTER_HOST",
        "STATSD_METRICS_EXPORTER_PORT",
    }


def test_a_slice_holds_at_most_a_thousand_endpoints(static_component, alice_actor, settings):
    services.port_create(component=static_component, number=3306, actor=alice_actor, inner_service=True)
    Instance.objects.bulk_create(
        Instance(component=static_component, host=f"10.2.{n // 250}.{n % 250 + 1}", health=Health.HEALTHY)
        for n in range(1001)
    )
    _, documents = _export(static_component)
    slices = by_kind(documents, "EndpointSlice")
    assert [(s["metadata"]["name"], len(s["endpoints"])) for s in slices] == [
        ("mysql-ipv4", 1000),
        ("mysql-ipv4-2", 1),
    ]


def test_loading_takes_the_same_queries_for_one_component_or_many(
    mysql, application, alice_actor, django_assert_num_queries
):
    with django_assert_num_queries(4):
        kubernetes.manifests(kubernetes.load_components(Component.objects.all()), reveal=True)
    for n in range(5):
        component = instance_services.component_create(
            application=application, name=f"cache-{n}", actor=alice_actor, registration="static"
        )
        services.port_create(component=component, number=6379, actor=alice_actor, inner_service=True)
        add_instance(component, f"10.3.0.{n + 1}", alice_actor)
    with django_assert_num_queries(4):
        found = kubernetes.manifests(kubernetes.load_components(Component.objects.all()), reveal=True)
    assert len([m for m in found if m.exported]) == 6
