"""The effective environment (docs/architecture.md, "The effective environment"): resolution rules, formats, and GET …/env."""

from __future__ import annotations

import subprocess

import pytest

from components import services
from components.environment import dotenv_quote, effective_values, shell_quote
from components.models import Component, ComponentKind, Scope
from core.audit import SYSTEM
from core.models import AuditEvent
from instances import services as instance_services
from instances.addresses import parse_address
from instances.environment import effective_environment
from instances.models import Health, Instance
from instances.services import health_check_update, instance_add
from tests.api.conftest import PHPMYADMIN_DOTENV, url

pytestmark = pytest.mark.django_db


def _component(component) -> Component:
    return Component.objects.get(pk=component.pk)


def _instance(component, address: str, *, health: str = Health.HEALTHY, latency: float | None = None, **kw):
    instance = instance_add(component=component, address=parse_address(address), actor=SYSTEM, **kw)
    Instance.objects.filter(pk=instance.pk).update(health=health, latency_ms=latency)
    return instance


def test_dependents_receive_the_connection_information_then_their_own_variables(phpmyadmin, mysql):
    entries = effective_environment(_component(phpmyadmin))
    assert [(e.name, e.source.service_name) for e in entries] == [
        ("MYSQL_HOST", "mysql"),
        ("MYSQL_PASSWORD", "mysql"),
        ("MYSQL_PORT", "mysql"),
        ("MYSQL_USER", "mysql"),
        ("PMA_ABSOLUTE_URI", "phpmyadmin"),
    ]
    assert "INNODB_BUFFER" not in effective_values(entries)  # a dependency's own (inner) variables stay there


def test_the_components_own_variable_overrides_a_dependencys_visibly(phpmyadmin, alice_actor):
    services.env_var_set(
        component=phpmyadmin, name="MYSQL_USER", value="pma", scope=Scope.INNER, actor=alice_actor
    )
    entries = effective_environment(_component(phpmyadmin))
    users = [e for e in entries if e.name == "MYSQL_USER"]
    assert [(e.source.service_name, e.value, e.effective) for e in users] == [
        ("mysql", "shop", False),
        ("phpmyadmin", "pma", True),
    ]
    assert users[0].overridden_by.service_name == "phpmyadmin"
    assert effective_values(entries)["MYSQL_USER"] == "pma"


def test_a_host_is_the_platform_dns_name_when_there_is_a_service_domain(phpmyadmin, mysql, settings):
    settings.KATO_SERVICE_DOMAIN = "svc.cluster.local"
    _instance(mysql, "10.0.0.7:3307")
    values = effective_values(effective_environment(_component(phpmyadmin)))
    assert (values["MYSQL_HOST"], values["MYSQL_PORT"]) == ("mysql.svc.cluster.local", "3306")


def test_a_host_is_the_best_routed_instance_without_a_service_domain(phpmyadmin, mysql, settings):
    settings.KATO_SERVICE_DOMAIN = ""
    _instance(mysql, "10.0.0.1:3306", health=Health.UNHEALTHY, latency=0.1)
    _instance(mysql, "10.0.0.2:3306", health=Health.UNKNOWN, latency=0.1)  # not ready: not routed
    _instance(mysql, "10.0.0.3:3306", latency=9.0, is_online=False)
    _instance(mysql, "10.0.0.4:3307", latency=5.0)
    _instance(mysql, "10.0.0.5", latency=2.0)
    values = effective_values(effective_environment(_component(phpmyadmin)))
    # Healthy and fastest; its port is the component's because the instance names none.
    assert (values["MYSQL_HOST"], values["MYSQL_PORT"]) == ("10.0.0.5", "3306")


def test_ties_are_broken_in_a_stable_order(phpmyadmin, mysql):
    _instance(mysql, "10.0.0.9:3306")
    _instance(mysql, "10.0.0.8:3309")
    values = effective_values(effective_environment(_component(phpmyadmin)))
    assert (values["MYSQL_HOST"], values["MYSQL_PORT"]) == ("10.0.0.8", "3309")


def test_with_the_check_off_every_online_instance_is_routed(phpmyadmin, mysql, alice_actor):
    health_check_update(component=mysql, enabled=False, actor=alice_actor)
    _instance(mysql, "db.example.com:3306", health=Health.UNKNOWN)
    values = effective_values(effective_environment(_component(phpmyadmin)))
    assert values["MYSQL_HOST"] == "db.example.com"


def test_with_nothing_routed_the_host_keeps_the_instance_that_passed_last_and_says_so(phpmyadmin, mysql):
    # Both fail their check now (wrong credentials, say); 10.0.0.2 has failed for longer.
    first = _instance(mysql, "10.0.0.1", health=Health.UNHEALTHY)
    second = _instance(mysql, "10.0.0.2:3307", health=Health.UNHEALTHY)
    Instance.objects.filter(pk=first.pk).update(consecutive_failures=3)
    Instance.objects.filter(pk=second.pk).update(consecutive_failures=9)
    entries = {e.name: e for e in effective_environment(_component(phpmyadmin))}
    assert (entries["MYSQL_HOST"].value, entries["MYSQL_PORT"].value) == ("10.0.0.1", "3306")
    assert entries["MYSQL_HOST"].warning == (
        "No instance of mysql passes its health check: this keeps 10.0.0.1:3306, which may not answer."
    )
    assert entries["MYSQL_USER"].warning == ""


def test_with_no_instance_at_all_the_empty_host_says_why(phpmyadmin, mysql):
    entries = {e.name: e for e in effective_environment(_component(phpmyadmin))}
    assert (entries["MYSQL_HOST"].value, entries["MYSQL_PORT"].value) == ("", "3306")
    assert entries["MYSQL_HOST"].warning == "mysql has no instance, so there is no host to give yet."


def test_the_api_and_the_dotenv_say_why_the_host_may_not_answer(api, phpmyadmin, mysql):
    _instance(mysql, "10.0.0.1", health=Health.UNHEALTHY)
    rows = {row["name"]: row for row in api.get(url(phpmyadmin, "/env")).json()}
    assert rows["MYSQL_HOST"]["value"] == "10.0.0.1"
    assert rows["MYSQL_HOST"]["warning"].startswith("No instance of mysql passes its health check")
    own = {row["name"]: row for row in api.get(url(mysql, "/env/")).json()["results"]}
    assert own["MYSQL_HOST"]["value"] == "10.0.0.1"
    assert own["MYSQL_HOST"]["warning"] == rows["MYSQL_HOST"]["warning"]
    dotenv = api.get(url(phpmyadmin, "/env?format=dotenv")).content.decode()
    assert "MYSQL_HOST=10.0.0.1\n" in dotenv
    assert "# Warning: MYSQL_HOST from mysql: No instance of mysql passes its health check" in dotenv


@pytest.mark.parametrize(
    "value",
    [
        "",
        "plain",
        "with space",
        "it's",
        'say "hi"',
        "a$b ${c}",
        "multi\nline",
        "back\\slash",
        "#hash",
        "tab\there",
    ],
)
def test_shell_quoting_gives_the_value_back_unchanged(value):
    script = shell_quote(value)
    out = subprocess.run(
        ["sh", "-c", f'X={script}; printf %s "$X"'], capture_output=True, text=True, check=True
    )
    assert out.stdout == value


@pytest.mark.parametrize(
    ("value", "line"),
    [
        ("", ""),
        ("10.0.0.7", "10.0.0.7"),
        ("mysql://u@h:3306/db", "mysql://u@h:3306/db"),
        ("with space", "'with space'"),
        ("a$b", "'a$b'"),
        ("#not a comment", "'#not a comment'"),
        ("it's", '"it\'s"'),
        ("two\nlines", '"two\\nlines"'),
        ("q\"uote's", '"q\\"uote\'s"'),
    ],
)
def test_dotenv_quoting(value, line):
    assert dotenv_quote(value) == line


# The API: GET /api/v1/components/<service_id>/env?format=json|dotenv|shell


def test_the_json_format_lists_every_variable_with_its_source(api, phpmyadmin, mysql, alice_actor):
    services.env_var_set(component=phpmyadmin, name="MYSQL_USER", value="pma", actor=alice_actor)
    response = api.get(url(phpmyadmin, "/env"))
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    rows = {(row["name"], row["source"]["service_name"]): row for row in response.json()}
    assert rows[("MYSQL_USER", "mysql")]["overridden_by"] == {
        "service_id": phpmyadmin.service_id,
        "service_name": "phpmyadmin",
        "name": "phpmyadmin",
    }
    assert rows[("MYSQL_USER", "phpmyadmin")]["overridden_by"] is None
    assert rows[("MYSQL_PASSWORD", "mysql")] == {
        "name": "MYSQL_PASSWORD",
        "value": None,
        "secret": True,
        "generated": False,
        "warning": "",
        "source": {"service_id": mysql.service_id, "service_name": "mysql", "name": "mysql"},
        "overridden_by": None,
    }
    assert rows[("MYSQL_PORT", "mysql")]["generated"] is True
    assert api.get(url(phpmyadmin, "/env?format=json")).json() == response.json()
    assert not AuditEvent.objects.filter(action="env.reveal").exists()


def test_json_reveals_secrets_on_request_and_audits_it(api, phpmyadmin):
    rows = api.get(url(phpmyadmin, "/env?format=json&reveal=true")).json()
    assert {row["name"]: row["value"] for row in rows}["MYSQL_PASSWORD"] == "pa$$ 'word'"
    event = AuditEvent.objects.get(action="env.reveal")
    assert event.component == phpmyadmin and event.detail == {
        "variables": ["MYSQL_PASSWORD"],
        "via": "api:env?format=json",
    }


def test_dotenv_includes_secrets_for_developers_and_audits_it(api, phpmyadmin):
    response = api.get(url(phpmyadmin, "/env?format=dotenv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == PHPMYADMIN_DOTENV
    assert AuditEvent.objects.get(action="env.reveal").detail["via"] == "api:env?format=dotenv"


def test_shell_output_can_be_sourced(api, phpmyadmin, mysql, alice_actor):
    services.env_var_set(component=phpmyadmin, name="MYSQL_USER", value="pma", actor=alice_actor)
    text = api.get(url(phpmyadmin, "/env?format=shell")).content.decode()
    assert "# MYSQL_USER from mysql is overridden by phpmyadmin\n" in text
    out = subprocess.run(
        ["sh", "-c", f'{text}\nprintf "%s|%s" "$MYSQL_USER" "$MYSQL_PASSWORD"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == "pma|pa$$ 'word'"


def test_a_viewer_gets_secrets_masked_in_every_format(viewer_api, phpmyadmin):
    text = viewer_api.get(url(phpmyadmin, "/env?format=dotenv")).content.decode()
    assert "pa$$" not in text
    assert "# MYSQL_PASSWORD from mysql is secret: only owners and developers receive its value\n" in text
    assert "MYSQL_USER=shop\n" in text
    assert "pa$$" not in viewer_api.get(url(phpmyadmin, "/env?format=shell")).content.decode()
    assert viewer_api.get(url(phpmyadmin, "/env?format=dotenv&reveal=true")).status_code == 403
    assert viewer_api.get(url(phpmyadmin, "/env?reveal=true")).status_code == 403
    assert not AuditEvent.objects.filter(action="env.reveal").exists()


def test_a_developer_may_ask_for_secrets_to_be_left_out(api, phpmyadmin):
    text = api.get(url(phpmyadmin, "/env?format=dotenv&reveal=false")).content.decode()
    assert "pa$$" not in text and "MYSQL_PASSWORD" in text
    assert not AuditEvent.objects.filter(action="env.reveal").exists()


def test_an_unknown_format_is_a_400_in_json(api, phpmyadmin):
    response = api.get(url(phpmyadmin, "/env?format=xml"))
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "format" in response.json()


def test_errors_are_json_whatever_the_format(bob_api, phpmyadmin):
    response = bob_api.get(url(phpmyadmin, "/env?format=dotenv"))
    assert response.status_code == 404
    assert response.json() == {"detail": "No such component."}


def test_a_component_without_dependencies_has_its_own_variables(api, application, alice_actor):
    lonely = instance_services.component_create(
        application=application, name="cron", kind=ComponentKind.INTERNAL, actor=alice_actor
    )
    services.env_var_set(
        component=lonely, name="SCHEDULE", value="@daily", scope=Scope.INNER, actor=alice_actor
    )
    text = api.get(url(lonely, "/env?format=dotenv")).content.decode()
    assert text == "# Effective environment of shop/cron\nSCHEDULE=@daily\n"
