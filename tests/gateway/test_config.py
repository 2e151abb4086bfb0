"""The configuration builder: what reaches Envoy, and what never does (no Envoy, no database)."""

from __future__ import annotations

import ipaddress

from kato_console.gateway.config import Endpoint, Placement, Policy, Upstream, build

PLACEMENT = Placement(host="127.0.0.1", public_host="127.0.0.1", http_port=8080)


class Files:
    def rds(self) -> dict:
        return {"path_config_source": {"path": "/nowhere/rds.json"}}


FILES = Files()


def _addresses(resources) -> set[str]:
    (assignment,) = resources.endpoints
    endpoints = assignment["endpoints"][0]["lb_endpoints"]
    return {e["endpoint"]["address"]["socket_address"]["address"] for e in endpoints}


def _upstream(*ips: str) -> Upstream:
    return Upstream(
        name="port-1",
        label="shop.mysql.3306",
        internal_port=20000,
        endpoints=tuple(Endpoint(ip, 3306) for ip in ips),
    )


def test_it_never_forwards_to_a_denied_network_whoever_registered_it():
    policy = Policy(denied_networks=(ipaddress.ip_network("169.254.0.0/16"),), allow_loopback=True)
    resources = build(
        [_upstream("10.0.0.7", "169.254.169.254")], placement=PLACEMENT, policy=policy, sources=FILES
    )
    assert _addresses(resources) == {"10.0.0.7"}


def test_without_the_operators_leave_it_forwards_to_no_loopback_nor_its_own_address():
    policy = Policy(allow_loopback=False, own_addresses=frozenset({"192.0.2.10"}))
    resources = build(
        [_upstream("127.0.0.1", "::1", "192.0.2.10", "10.0.0.7")],
        placement=PLACEMENT,
        policy=policy,
        sources=FILES,
    )
    assert _addresses(resources) == {"10.0.0.7"}


def test_only_the_endpoints_change_when_only_the_instances_do():
    policy = Policy()
    one = build([_upstream("10.0.0.7")], placement=PLACEMENT, policy=policy, sources=FILES)
    two = build([_upstream("10.0.0.8", "10.0.0.9")], placement=PLACEMENT, policy=policy, sources=FILES)
    assert one.listeners == two.listeners and one.routes == two.routes
    # The cluster's definition is the very same object: cds.json is not written again.
    assert one.clusters[0] is two.clusters[0]
    assert one.endpoints != two.endpoints


def test_an_http_route_sends_the_registered_name_as_host():
    upstream = Upstream(
        name="port-2",
        label="shop.web.80",
        internal_port=20001,
        endpoints=(Endpoint("10.0.0.7", 80, hostname="web.example.com"),),
        http_host="web-shop.localhost",
    )
    resources = build([upstream], placement=PLACEMENT, policy=Policy(), sources=FILES)
    (route,) = resources.routes
    (vhost,) = route["virtual_hosts"]
    assert vhost["domains"] == ["web-shop.localhost", "web-shop.localhost:8080"]
    assert vhost["routes"][0]["route"]["auto_host_rewrite"] is True
    lb = resources.endpoints[0]["endpoints"][0]["lb_endpoints"][0]
    assert lb["endpoint"]["hostname"] == "web.example.com"
    assert {listener["name"] for listener in resources.listeners} == {"port-2-internal", "http"}
