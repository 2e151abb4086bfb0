"""manage.py component_env and run_with_env: the effective environment outside the browser."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from components import services
from components.models import Scope
from core.models import AuditEvent
from instances import services as instance_services
from tests.api.conftest import PHPMYADMIN_DOTENV

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_component_env_prints_dotenv_by_default(phpmyadmin):
    assert _run("component_env", "shop/phpmyadmin") == PHPMYADMIN_DOTENV
    event = AuditEvent.objects.get(action="env.reveal")
    assert (event.actor, event.detail["via"]) == ("system", "component_env:dotenv")


def test_component_env_prints_json_and_shell(phpmyadmin):
    rows = json.loads(_run("component_env", "shop/phpmyadmin", "--format", "json"))
    assert [(row["name"], row["source"]["service_name"]) for row in rows][-1] == (
        "PMA_ABSOLUTE_URI",
        "phpmyadmin",
    )
    assert {row["name"]: row["value"] for row in rows}["MYSQL_PASSWORD"] == "pa$$ 'word'"
    shell = _run("component_env", "shop/phpmyadmin", "--format=shell")
    assert "export MYSQL_USER='shop'\n" in shell


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("shop/nope", "no component 'nope'"),
        ("nope/phpmyadmin", "no component"),
        ("phpmyadmin", "not <application>"),
    ],
)
def test_component_env_says_what_it_cannot_find(phpmyadmin, path, message):
    with pytest.raises(CommandError, match=message):
        _run("component_env", path)


def test_an_application_slug_two_teams_share_needs_the_team(phpmyadmin, other_team, alice_actor):
    shop = services.application_create(team=other_team, name="Shop", actor=alice_actor)
    instance_services.component_create(
        application=shop, name="phpmyadmin", kind="internal", actor=alice_actor
    )
    with pytest.raises(CommandError, match="--team"):
        _run("component_env", "shop/phpmyadmin")
    assert "MYSQL_USER=shop" in _run("component_env", "shop/phpmyadmin", "--team", "payments")


def test_run_with_env_runs_the_program_with_the_environment(phpmyadmin, capfd, alice_actor):
    services.env_var_set(
        component=phpmyadmin, name="PMA_PORT", value="8080", scope=Scope.INNER, actor=alice_actor
    )
    call_command(
        "run_with_env", "shop/phpmyadmin", "--", "sh", "-c", 'echo "$MYSQL_USER:$PMA_PORT:$MYSQL_PASSWORD"'
    )
    assert capfd.readouterr().out.splitlines()[-1] == "shop:8080:pa$$ 'word'"
    assert AuditEvent.objects.get(action="env.reveal").detail["via"] == "run_with_env"


def test_run_with_env_keeps_the_callers_environment(phpmyadmin, capfd, monkeypatch):
    monkeypatch.setenv("KATO_TEST_MARKER", "kept")
    call_command("run_with_env", "shop/phpmyadmin", "--", "sh", "-c", 'echo "$KATO_TEST_MARKER $MYSQL_PORT"')
    assert capfd.readouterr().out.splitlines()[-1] == "kept 3306"


def test_run_with_env_ends_with_the_programs_exit_code(phpmyadmin):
    with pytest.raises(SystemExit) as exit_:
        call_command("run_with_env", "shop/phpmyadmin", "--", "sh", "-c", "exit 3")
    assert exit_.value.code == 3


def test_run_with_env_needs_a_program_that_exists(phpmyadmin):
    with pytest.raises(CommandError, match="after --"):
        call_command("run_with_env", "shop/phpmyadmin", "--")
    with pytest.raises(CommandError, match="No such program"):
        call_command("run_with_env", "shop/phpmyadmin", "--", "kato-no-such-program")


def test_run_with_env_says_when_a_host_has_no_instance_to_give(phpmyadmin, capfd):
    # mysql has no instance: MYSQL_HOST is empty, and the command says why rather than run silently.
    call_command("run_with_env", "shop/phpmyadmin", "--", "sh", "-c", 'echo "[$MYSQL_HOST]"')
    captured = capfd.readouterr()
    assert captured.out.splitlines()[-1] == "[]"
    assert "Warning: MYSQL_HOST: mysql has no instance, so there is no host to give yet." in captured.err
