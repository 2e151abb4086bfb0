"""The Environment page: every variable with its source and overrides, secrets masked, and the .env download."""

from __future__ import annotations

import pytest
from django.urls import reverse

from components import services
from core.models import AuditEvent
from tests.components.pages_support import hx, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def phpmyadmin(internal_component, static_component, alice_actor):
    services.env_var_set(component=static_component, name="MYSQL_USER", value="shop", actor=alice_actor)
    services.env_var_set(
        component=static_component, name="MYSQL_PASSWORD", value="s3cret-pw", secret=True, actor=alice_actor
    )
    services.dependency_add(component=internal_component, target=static_component, actor=alice_actor)
    services.env_var_set(
        component=internal_component, name="MYSQL_USER", value="admin", scope="inner", actor=alice_actor
    )
    return internal_component


def _url(component, name: str = "component-environment") -> str:
    return reverse(name, args=[component.service_id])


def test_it_shows_each_variable_with_its_source_and_overrides(alice_client, phpmyadmin):
    page = text(alice_client.get(_url(phpmyadmin)))
    assert "MYSQL_PASSWORD" in page and "s3cret-pw" not in page
    assert '<code class="value">shop</code>' in page and "yes, by phpmyadmin" in page
    assert '<code class="value">admin</code>' in page and ">own<" in page
    assert ">mysql</a>" in page


def test_revealing_secrets_is_audited(alice_client, phpmyadmin):
    response = hx(alice_client, "post", _url(phpmyadmin, "component-environment-reveal"), "environment")
    assert "s3cret-pw" in text(response) and text(response).lstrip().startswith(
        '<section class="card" id="environment"'
    )
    assert AuditEvent.objects.get(action="env.reveal").detail == {
        "variables": ["MYSQL_PASSWORD"],
        "via": "page:environment",
    }


def test_the_download_is_a_dotenv_file_that_is_never_cached(alice_client, phpmyadmin):
    response = alice_client.get(_url(phpmyadmin, "component-environment-download"))
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Disposition"] == 'attachment; filename="phpmyadmin.env"'
    body = text(response)
    assert "MYSQL_PASSWORD=s3cret-pw" in body and "MYSQL_USER=admin" in body
    assert "# MYSQL_USER from mysql is overridden by phpmyadmin" in body
    assert AuditEvent.objects.filter(action="env.reveal", detail__via="page:environment.env").exists()


def test_a_viewer_downloads_without_secret_values_and_cannot_reveal(client, victor_the_viewer, phpmyadmin):
    client.force_login(victor_the_viewer)
    body = text(client.get(_url(phpmyadmin, "component-environment-download")))
    assert "s3cret-pw" not in body and "# MYSQL_PASSWORD from mysql is secret" in body
    assert "Reveal secrets" not in text(client.get(_url(phpmyadmin)))
    assert client.post(_url(phpmyadmin, "component-environment-reveal")).status_code == 403


def test_a_host_without_a_healthy_instance_is_kept_and_the_pages_say_so(
    alice_client, phpmyadmin, static_component, alice_actor
):
    from instances.addresses import parse_address
    from instances.models import Health, Instance
    from instances.services import instance_add

    services.port_create(component=static_component, number=3306, inner_service=True, actor=alice_actor)
    instance = instance_add(
        component=static_component, address=parse_address("10.0.0.7:3306"), actor=alice_actor
    )
    Instance.objects.filter(pk=instance.pk).update(health=Health.UNHEALTHY, consecutive_failures=4)
    warning = "No instance of mysql passes its health check: this keeps 10.0.0.7:3306, which may not answer."
    environment = text(alice_client.get(_url(phpmyadmin)))
    assert '<code class="value">10.0.0.7</code>' in environment and warning in environment
    connection_info = text(alice_client.get(_url(static_component, "component-connection-info")))
    assert "<code>10.0.0.7</code>" in connection_info and warning in connection_info
    download = text(alice_client.get(_url(phpmyadmin, "component-environment-download")))
    assert "MYSQL_HOST=10.0.0.7\n" in download and f"# Warning: MYSQL_HOST from mysql: {warning}" in download
