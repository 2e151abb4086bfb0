"""Health as the sweep records it: thresholds, recovery, what is not probed, stale results, targets."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from components import services
from core.audit import Actor
from core.models import ActorKind, AuditEvent
from instances.health import Claim, greeting_only_warning, probe_plan, record_probe_results
from instances.models import Health, HealthCheck, Instance, Status
from instances.probes import ProbeResult, ProbeTarget
from instances.services import health_check_update, instance_delete, instance_set_online
from instances.sweep import claim_due, claims_from_payload, claims_to_payload, run_claims, sweep_round
from tests.instances import sweeping
from tests.instances.probe_servers import (
    close_at_once,
    closed_port,
    closed_ports,
    http_response,
    make_self_signed_certificate,
    tls_server_context,
)
from tests.instances.sweeping import (
    add_instance,
    checked_component,
    fresh,
    refused_instance,
    served_instance,
    sweep_rounds,
    time_passes,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_jitter")]
serve = sweeping.serve
no_jitter = sweeping.no_jitter


def listen(port: int = 0) -> socket.socket:
    """A listening socket: the kernel completes TCP handshakes for it, which is all a TCP probe needs."""
    return socket.create_server(("127.0.0.1", port))


# --------------------------------------------------------------------------------------------
# Thresholds
# --------------------------------------------------------------------------------------------


def test_it_makes_an_instance_healthy_after_success_threshold_successes(
    application, alice_actor: Actor, serve
) -> None:
    server, component, instance = served_instance(serve, application, alice_actor, success_threshold=2)

    sweep_rounds(1)
    after_one = fresh(instance)
    sweep_rounds(1)
    after_two = fresh(instance)

    assert after_one.status == Status.NOTREADY
    assert after_one.consecutive_successes == 1
    assert after_two.status == Status.HEALTHY
    assert after_two.consecutive_successes == 2
    assert after_two.last_checked_at is not None and after_two.latency_ms is not None
    assert after_two.last_stage == "" and after_two.last_error == ""
    [event] = AuditEvent.objects.filter(action="instance.healthy")
    assert event.actor == ActorKind.SYSTEM and event.component == component
    assert event.detail["address"] == f"127.0.0.1:{server.port}"
    assert (event.detail["from"], event.detail["to"]) == ("unknown", "healthy")


def test_it_makes_an_instance_unhealthy_after_failure_threshold_failures_with_stage_and_error(
    application, alice_actor: Actor
) -> None:
    component = checked_component(application, alice_actor, failure_threshold=3)
    instance = refused_instance(component, alice_actor)

    sweep_rounds(2)
    after_two = fresh(instance)
    sweep_rounds(1)
    after_three = fresh(instance)

    assert after_two.status == Status.NOTREADY and after_two.consecutive_failures == 2
    assert after_three.status == Status.UNHEALTHY and after_three.consecutive_failures == 3
    assert (after_three.last_stage, after_three.last_error) == ("connect", "connection refused")
    [event] = AuditEvent.objects.filter(action="instance.unhealthy")
    assert event.actor == ActorKind.SYSTEM
    assert event.detail["stage"] == "connect"
    assert event.detail["error"] == "connection refused"
    assert event.detail["failures_in_a_row"] == 3


def test_it_keeps_a_healthy_instance_healthy_through_fewer_failures_than_the_threshold(
    application, alice_actor: Actor
) -> None:
    listener = listen()
    port = listener.getsockname()[1]
    component = checked_component(application, alice_actor, failure_threshold=3)
    instance = add_instance(component, f"127.0.0.1:{port}", alice_actor)
    sweep_rounds(1)
    listener.close()

    sweep_rounds(2)
    after_two_failures = fresh(instance)
    sweep_rounds(1)

    assert after_two_failures.status == Status.HEALTHY
    assert after_two_failures.consecutive_failures == 2
    assert after_two_failures.last_error == "connection refused"
    assert fresh(instance).status == Status.UNHEALTHY


def test_it_recovers_an_unhealthy_instance_by_itself_and_never_deletes_it(
    application, alice_actor: Actor
) -> None:
    port = closed_port()
    component = checked_component(application, alice_actor, failure_threshold=1, success_threshold=2)
    instance = add_instance(component, f"127.0.0.1:{port}", alice_actor)
    sweep_rounds(3)
    assert fresh(instance).status == Status.UNHEALTHY

    with listen(port):
        sweep_rounds(1)
        after_one_success = fresh(instance)
        sweep_rounds(1)

    assert after_one_success.status == Status.UNHEALTHY  # one success of the two it needs
    recovered = fresh(instance)
    assert recovered.status == Status.HEALTHY
    assert recovered.is_online and recovered.last_error == ""
    assert list(
        AuditEvent.objects.filter(action__startswith="instance.h").values_list("action", flat=True)
    ) == ["instance.healthy"]
    assert AuditEvent.objects.filter(action="instance.unhealthy").count() == 1


def test_it_writes_no_audit_event_when_the_health_does_not_change(
    application, alice_actor: Actor, serve
) -> None:
    served_instance(serve, application, alice_actor)

    sweep_rounds(4)

    assert AuditEvent.objects.filter(action__in=["instance.healthy", "instance.unhealthy"]).count() == 1


# --------------------------------------------------------------------------------------------
# What is not probed, and the network policy
# --------------------------------------------------------------------------------------------


def test_it_does_not_probe_an_offline_instance(application, alice_actor: Actor, serve) -> None:
    server, _, instance = served_instance(serve, application, alice_actor, is_online=False)

    report = sweep_round(everything=True)

    assert report.probed == 0
    assert server.wait_for_connections(1, timeout=0.3) == 0
    stored = fresh(instance)
    assert stored.status == Status.OFFLINE and stored.last_checked_at is None


def test_it_does_not_probe_when_the_health_check_is_disabled(application, alice_actor: Actor, serve) -> None:
    server, _, instance = served_instance(serve, application, alice_actor, enabled=False)

    report = sweep_round(everything=True)

    assert report.probed == 0
    assert server.wait_for_connections(1, timeout=0.3) == 0
    assert fresh(instance).status == Status.UNKNOWN


def test_it_probes_again_once_the_check_is_turned_back_on(application, alice_actor: Actor, serve) -> None:
    _, component, instance = served_instance(serve, application, alice_actor, enabled=False)

    health_check_update(component=component, actor=alice_actor, enabled=True)
    sweep_round()

    assert fresh(instance).status == Status.HEALTHY


def test_it_never_connects_to_a_denied_network_and_says_so(
    application, alice_actor: Actor, serve, settings
) -> None:
    server, _, instance = served_instance(serve, application, alice_actor, failure_threshold=2)
    settings.KATO_DENIED_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]

    sweep_rounds(2)

    stored = fresh(instance)
    assert stored.status == Status.UNHEALTHY
    assert stored.last_stage == "policy"
    assert stored.last_error == "127.0.0.1 is in a denied network (127.0.0.0/8)"
    assert server.connection_count == 0
    [event] = AuditEvent.objects.filter(action="instance.unhealthy")
    assert event.detail["stage"] == "policy"


# --------------------------------------------------------------------------------------------
# Results that arrive too late
# --------------------------------------------------------------------------------------------


def test_it_drops_a_result_when_the_instance_changed_during_the_probe(
    application, alice_actor: Actor, serve
) -> None:
    _, _, instance = served_instance(serve, application, alice_actor, failure_threshold=1)
    [claim] = claim_due()
    plan = probe_plan([claim])  # the probe starts…
    instance_set_online(instance=instance, is_online=False, actor=alice_actor)  # …the instance changes…
    instance_set_online(instance=instance, is_online=True, actor=alice_actor)

    recorded = record_probe_results([(claim, ProbeResult(ok=False, stage="connect", error="refused"))])

    assert len(plan) == 1
    assert recorded == {}
    stored = fresh(instance)
    assert stored.status == Status.NOTREADY
    assert stored.last_checked_at is None and stored.consecutive_failures == 0


def test_a_chunk_does_not_probe_an_instance_that_changed_after_it_was_claimed(
    application, alice_actor: Actor, serve
) -> None:
    server, component, instance = served_instance(serve, application, alice_actor)
    claims = claims_from_payload(claims_to_payload(claim_due()))  # as a chunk task receives them
    health_check_update(component=component, actor=alice_actor, path="/changed")

    probed = run_claims(claims)

    assert probed.results == [] and probed.recorded == {}
    assert server.wait_for_connections(1, timeout=0.3) == 0
    assert fresh(instance).last_checked_at is None


def test_it_drops_the_result_of_an_instance_deleted_during_the_probe(
    application, alice_actor: Actor, serve
) -> None:
    _, _, instance = served_instance(serve, application, alice_actor)
    [claim] = claim_due()
    instance_delete(instance=instance, actor=alice_actor)

    recorded = record_probe_results([(claim, ProbeResult(ok=True, latency_ms=1.0))])

    assert recorded == {}
    assert not Instance.objects.exists()
    assert not AuditEvent.objects.filter(action="instance.healthy").exists()


# --------------------------------------------------------------------------------------------
# Targets: ports, HTTP, credentials
# --------------------------------------------------------------------------------------------


def plan_for(instance: Instance) -> ProbeTarget | ProbeResult:
    [(_, target)] = probe_plan([Claim(instance.pk, fresh(instance).generation)])
    return target


def test_it_probes_the_component_port_when_the_instance_has_none(
    application, alice_actor: Actor, serve
) -> None:
    server = serve(close_at_once)
    component = checked_component(application, alice_actor, port=server.port)
    instance = add_instance(component, "127.0.0.1", alice_actor)

    sweep_round()

    assert fresh(instance).status == Status.HEALTHY
    assert server.connection_count == 1


def test_it_reports_an_instance_without_any_port_as_a_failure_instead_of_crashing(
    application, alice_actor: Actor
) -> None:
    component = checked_component(application, alice_actor, failure_threshold=1)
    instance = add_instance(component, "db.internal.example", alice_actor)

    sweep_round()

    stored = fresh(instance)
    assert stored.status == Status.UNHEALTHY
    assert stored.last_error.startswith("no port")


def test_it_gets_the_checks_path_with_http(application, alice_actor: Actor, serve) -> None:
    server = serve(http_response(200, "OK"))
    component = checked_component(application, alice_actor, kind="http", path="/healthz")
    instance = add_instance(component, f"http://127.0.0.1:{server.port}", alice_actor)

    sweep_round()

    stored = fresh(instance)
    assert stored.status == Status.HEALTHY and stored.server_info == "HTTP 200"
    [client] = server.wait_for_clients(1)
    assert client.notes["request_line"] == "GET /healthz HTTP/1.1"


def test_it_counts_an_http_error_status_as_a_failure(application, alice_actor: Actor, serve) -> None:
    _, _, instance = served_instance(
        serve,
        application,
        alice_actor,
        handler=http_response(503, "Service Unavailable"),
        kind="http",
        failure_threshold=1,
    )

    sweep_round()

    stored = fresh(instance)
    assert stored.status == Status.UNHEALTHY
    assert (stored.last_stage, stored.last_error, stored.server_info) == ("response", "HTTP 503", "HTTP 503")


@pytest.mark.parametrize(("verify_tls", "status"), [(True, Status.UNHEALTHY), (False, Status.HEALTHY)])
def test_it_speaks_tls_to_an_https_instance_and_verifies_as_the_check_says(
    application, alice_actor: Actor, serve, tmp_path: Path, verify_tls: bool, status: str
) -> None:
    certificate = make_self_signed_certificate(tmp_path, "localhost")
    server = serve(http_response(200, "OK"), tls=tls_server_context(*certificate, []))
    component = checked_component(
        application, alice_actor, kind="http", verify_tls=verify_tls, failure_threshold=1
    )
    instance = add_instance(component, f"https://localhost:{server.port}", alice_actor)

    sweep_round()

    stored = fresh(instance)
    assert stored.status == status
    if not verify_tls:
        assert stored.server_info == "HTTP 200"
    else:
        assert stored.last_stage == "tls" and "certificate verify failed" in stored.last_error


def test_it_takes_credentials_from_the_connection_information(application, alice_actor: Actor) -> None:
    component = checked_component(application, alice_actor, kind="mysql", use_credentials=True, port=3306)
    services.port_update(port=component.ports.get(), alias="MAIN", actor=alice_actor)
    for name, value in [
        ("AUDIT_USER", "auditor"),
        ("MAIN_USER", "app"),
        ("MAIN_PASSWORD", "s3cret"),
        ("MAIN_DATABASE", "shop"),
    ]:
        services.env_var_set(component=component, name=name, value=value, actor=alice_actor)
    instance = add_instance(component, "10.0.0.7", alice_actor)

    target = plan_for(instance)

    assert isinstance(target, ProbeTarget)
    assert (target.kind, target.port, target.timeout_s) == ("mysql", 3306, 1.0)
    assert (target.username, target.password, target.database) == ("app", "s3cret", "shop")


def test_it_uses_the_variables_the_check_names(application, alice_actor: Actor) -> None:
    component = checked_component(
        application,
        alice_actor,
        kind="postgresql",
        use_credentials=True,
        username_var="PG_LOGIN",
        password_var="PG_SECRET",
    )
    for name, value in [("PG_USER", "ignored"), ("PG_LOGIN", "reporter"), ("PG_SECRET", "pw")]:
        services.env_var_set(component=component, name=name, value=value, actor=alice_actor)
    instance = add_instance(component, "10.0.0.7:5432", alice_actor)

    target = plan_for(instance)

    assert isinstance(target, ProbeTarget)
    assert (target.username, target.password) == ("reporter", "pw")


def test_it_says_which_credential_is_missing(application, alice_actor: Actor) -> None:
    component = checked_component(
        application, alice_actor, kind="mysql", use_credentials=True, failure_threshold=1
    )
    instance = add_instance(component, "127.0.0.1:3306", alice_actor)

    sweep_round()

    stored = fresh(instance)
    assert stored.status == Status.UNHEALTHY
    assert stored.last_stage == "auth"
    assert stored.last_error == "use credentials is on, but the connection information has no *_USER variable"


def test_it_probes_greeting_only_when_credentials_are_off(application, alice_actor: Actor) -> None:
    component = checked_component(application, alice_actor, kind="mysql")
    services.env_var_set(component=component, name="MYSQL_USER", value="app", actor=alice_actor)
    instance = add_instance(component, "10.0.0.7:3306", alice_actor)

    target = plan_for(instance)

    assert isinstance(target, ProbeTarget) and target.username == "" and target.password == ""


# --------------------------------------------------------------------------------------------
# Cost of a round
# --------------------------------------------------------------------------------------------


def test_a_round_costs_the_same_few_statements_for_few_or_many_instances(
    application, alice_actor: Actor
) -> None:
    components = [
        checked_component(application, alice_actor, name=f"svc-{n}", kind="mysql", use_credentials=True)
        for n in range(3)
    ]
    for component in components:
        services.env_var_set(component=component, name="DB_USER", value="app", actor=alice_actor)

    def statements_for_a_round(instances: int) -> int:
        Instance.objects.all().delete()
        for n, port in enumerate(closed_ports(instances)):
            add_instance(components[n % 3], f"127.0.0.1:{port}", alice_actor)
        time_passes()
        with CaptureQueriesContext(connection) as queries:
            report = sweep_round()
        assert report.probed == instances
        # The test runs inside a transaction, which adds savepoints a real round does not have.
        return sum(1 for query in queries if not query["sql"].startswith(("SAVEPOINT", "RELEASE")))

    few, many = statements_for_a_round(3), statements_for_a_round(60)

    assert few == many
    # The claim (its SELECT … FOR UPDATE and its UPDATE), ports, connection information, results,
    # audit events, the history's minute rows, the round's figures for /metrics.
    assert many <= 8


# --------------------------------------------------------------------------------------------
# The MySQL greeting-only warning
# --------------------------------------------------------------------------------------------


def test_it_warns_about_max_connect_errors_for_a_greeting_only_mysql_check() -> None:
    warning = greeting_only_warning(HealthCheck(kind="mysql", use_credentials=False))

    assert "max_connect_errors" in warning
    assert "use credentials" in warning


@pytest.mark.parametrize(
    ("kind", "use_credentials"), [("mysql", True), ("tcp", False), ("postgresql", False)]
)
def test_it_does_not_warn_otherwise(kind: str, use_credentials: bool) -> None:
    assert greeting_only_warning(HealthCheck(kind=kind, use_credentials=use_credentials)) == ""


def test_it_records_health_as_the_model_knows_it(application, alice_actor: Actor, serve) -> None:
    _, _, instance = served_instance(serve, application, alice_actor)

    sweep_round()

    assert Instance.objects.routed().get() == instance
    assert fresh(instance).health == Health.HEALTHY
