"""The seed's last step: a program started with its component's environment reaches MySQL through the
gateway, and a program that serves a component is routed to while it runs."""

from __future__ import annotations

import http.client
import shutil
import socket
import subprocess
import sys

import pytest

from components import services
from components.models import Dependency
from core.models import AuditEvent
from instances import services as instance_services
from instances.addresses import parse_address
from instances.models import Instance
from tests.gateway.conftest import ROOT, eventually, free_port, manage_env

pytestmark = [pytest.mark.gateway, pytest.mark.mariadb]


def _mariadb_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 3306), timeout=1).close()
    except OSError:
        return False
    return shutil.which("mariadb") is not None


@pytest.fixture
def shop(static_component, internal_component, alice_actor):
    """mysql (the MariaDB on 3306, checked) and phpmyadmin, which depends on it."""
    if not _mariadb_answers():
        pytest.skip("needs the MariaDB server on 127.0.0.1:3306 and the mariadb client")
    instance_services.instance_add(
        component=static_component, address=parse_address("127.0.0.1:3306"), actor=alice_actor
    )
    instance_services.health_check_update(component=static_component, enabled=False, actor=alice_actor)
    port = services.port_create(
        component=static_component, number=3306, protocol="mysql", inner_service=True, actor=alice_actor
    )
    services.env_var_set(component=static_component, name="MYSQL_USER", value="root", actor=alice_actor)
    Dependency.objects.create(component=internal_component, target=static_component)
    return port


def test_the_mariadb_client_runs_select_1_through_the_gateway(shop, start_gateway, gateway_settings):
    start_gateway()
    command = [
        sys.executable, "manage.py", "run_with_env", "shop/phpmyadmin", "--",
        "sh", "-c", 'echo "via $MYSQL_HOST:$MYSQL_PORT"; mariadb -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" --skip-ssl -N -e "SELECT 1"',
    ]  # fmt: skip
    result = subprocess.run(
        command, cwd=ROOT, env=manage_env(gateway_settings), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["via", f"127.0.0.1:{shop.gateway_port}", "1"]


def test_a_program_serving_a_component_is_its_instance_while_it_runs(
    internal_component, alice_actor, start_gateway, gateway_settings
):
    port = services.port_create(
        component=internal_component,
        number=8081,
        protocol="http",
        inner_service=True,
        outer_service=True,
        actor=alice_actor,
    )
    start_gateway()
    serve_port = free_port()
    program = subprocess.Popen(
        [
            sys.executable, "manage.py", "run_with_env", "shop/phpmyadmin", "--serve", f"127.0.0.1:{serve_port}",
            "--", sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(serve_port),
        ],
        cwd=ROOT, env=manage_env(gateway_settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    http_port = gateway_settings.KATO_GATEWAY_HTTP_PORT

    def status() -> int:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=3)
            conn.request("GET", "/", headers={"Host": f"phpmyadmin-shop.localhost:{http_port}"})
            return conn.getresponse().status
        except OSError:
            return 0

    try:
        assert eventually(lambda: status() == 200, within=15), (status(), list(Instance.objects.values()))
        assert Instance.objects.filter(component=internal_component, port=serve_port).exists()
    finally:
        program.terminate()
        program.wait(timeout=20)
    assert not Instance.objects.filter(component=internal_component).exists()
    assert AuditEvent.objects.filter(component=internal_component, action="instance.delete").exists()
    assert eventually(lambda: status() == 503)
    assert port.pk
