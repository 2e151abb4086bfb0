"""The "Kubernetes" downloads of the component and application pages, and manage.py export_kubernetes."""

from __future__ import annotations

import base64
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from components import services
from core.models import AuditEvent
from tests.kubernetes.conftest import by_kind, validated

pytestmark = pytest.mark.django_db


def test_the_overview_links_the_download(alice_client, mysql):
    page = alice_client.get(f"/components/{mysql.service_id}/").content.decode()
    assert f'href="/components/{mysql.service_id}/kubernetes.yaml"' in page


def test_the_application_page_links_the_download(alice_client, mysql):
    page = alice_client.get("/apps/shop/").content.decode()
    assert 'href="/apps/shop/kubernetes.yaml"' in page


def test_the_component_download_is_a_yaml_attachment_with_the_secret(alice_client, mysql):
    response = alice_client.get(f"/components/{mysql.service_id}/kubernetes.yaml")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="mysql.k8s.yaml"'
    assert response["Cache-Control"] == "no-store"
    [secret] = by_kind(validated(response.content.decode()), "Secret")
    assert base64.b64decode(secret["data"]["MYSQL_PASSWORD"]).decode() == "pa$$ 'wörd'"
    assert AuditEvent.objects.get(action="env.reveal").detail["via"] == "page:kubernetes"


def test_the_application_download_holds_its_components(alice_client, mysql):
    response = alice_client.get("/apps/shop/kubernetes.yaml")
    assert response["Content-Disposition"] == 'attachment; filename="shop.k8s.yaml"'
    assert [d["metadata"]["name"] for d in by_kind(validated(response.content.decode()), "Service")] == [
        "mysql"
    ]


def test_a_viewer_downloads_no_secret_value(client, victor_the_viewer, mysql):
    client.force_login(victor_the_viewer)
    for path in (f"/components/{mysql.service_id}/kubernetes.yaml", "/apps/shop/kubernetes.yaml"):
        response = client.get(path)
        assert response.status_code == 200
        assert "data" not in by_kind(validated(response.content.decode()), "Secret")[0]
    assert not AuditEvent.objects.filter(action="env.reveal").exists()


def test_another_team_gets_404(client, bob_from_another_team, mysql):
    client.force_login(bob_from_another_team)
    assert client.get(f"/components/{mysql.service_id}/kubernetes.yaml").status_code == 404
    assert client.get("/apps/shop/kubernetes.yaml").status_code == 404


def test_a_component_without_internal_service_goes_back_to_its_overview_saying_why(
    alice_client, static_component
):
    response = alice_client.get(f"/components/{static_component.service_id}/kubernetes.yaml", follow=True)
    assert response.redirect_chain[-1][0] == f"/components/{static_component.service_id}/"
    assert "no port with the internal service on" in response.content.decode()


def _export(*args: str) -> str:
    out = StringIO()
    call_command("export_kubernetes", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_the_manifests_with_secrets_and_audits_it(mysql):
    text = _export("shop", "--namespace", "shop-prod")
    documents = validated(text)
    assert {d["metadata"]["namespace"] for d in documents} == {"shop-prod"}
    [secret] = by_kind(documents, "Secret")
    assert base64.b64decode(secret["data"]["MYSQL_PASSWORD"]).decode() == "pa$$ 'wörd'"
    event = AuditEvent.objects.get(action="env.reveal")
    assert (event.actor, event.detail["via"]) == ("system", "export_kubernetes")


def test_the_command_exports_one_component_and_names_the_team(mysql, other_team, alice_actor):
    services.application_create(team=other_team, name="Shop", actor=alice_actor)
    with pytest.raises(CommandError, match="Several teams have an application 'shop'"):
        _export("shop")
    text = _export("shop", "--team", "payments", "--component", "mysql")
    assert [d["metadata"]["name"] for d in by_kind(validated(text), "Service")] == ["mysql"]


def test_the_command_refuses_what_does_not_exist(mysql):
    with pytest.raises(CommandError, match="There is no application 'nope'"):
        _export("nope")
    with pytest.raises(CommandError, match="has no component 'redis'"):
        _export("shop", "--component", "redis")
    with pytest.raises(CommandError, match="not a namespace"):
        _export("shop", "--namespace", "Shop")
