"""The OpenAPI schema: valid without a warning, complete, and true to what the API answers."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.urls import URLPattern
from django.utils import timezone

from components import services
from components.models import ComponentKind, Registration
from core import services as accounts
from core.audit import SYSTEM
from core.models import Role
from instances import maintenance
from instances import services as instance_services
from instances.addresses import parse_address
from instances.services import instance_add
from kato_console.api import urls as api_urls

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).with_name("st")


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> dict:
    """``spectacular --validate --fail-on-warn``, run as an operator runs it; its output is the schema."""
    target = tmp_path_factory.mktemp("openapi") / "schema.yml"
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", str(target)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr and "Error" not in result.stderr, result.stderr
    return yaml.safe_load(target.read_text())


def test_the_schema_is_valid_without_a_warning(schema):
    assert schema["openapi"].startswith("3.")
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_every_console_api_route_is_documented_once(schema):
    documented = {path for path in schema["paths"] if path.startswith("/api/v1/")}
    routes = {
        "/api/v1/" + str(pattern.pattern).replace("<str:", "{").replace("<int:", "{").replace(">", "}")
        for pattern in api_urls.urlpatterns
        if isinstance(pattern, URLPattern) and pattern.name
    }
    assert documented == routes
    # The forgiving trailing-slash twins answer, but are not in the schema.
    assert "/api/v1/components/{service_id}/health-check/" not in schema["paths"]


def test_every_operation_documents_its_answers_and_errors(schema):
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            codes = set(operation["responses"])
            where = f"{method.upper()} {path}"
            assert {"401"} <= codes, where
            assert any(code.startswith("2") for code in codes), where
            if "{service_id}" in path:
                assert "404" in codes, where
            if method in ("post", "put", "patch", "delete") and "probe" not in path:
                assert {"400", "403"} <= codes, where
                if method != "delete" and not path.endswith(("/secret-key", "/probe")):
                    assert "requestBody" in operation, where
            assert operation["operationId"] and operation["summary"], where


LISTS = {
    "/api/v1/applications/": "Application",
    "/api/v1/components/": "Component",
    "/api/v1/components/{service_id}/ports/": "PortOutput",
    "/api/v1/components/{service_id}/env/": "EnvVar",
    "/api/v1/components/{service_id}/dependencies/": "Dependency",
    "/api/v1/components/{service_id}/instances/": "Instance",
    "/api/v1/components/{service_id}/maintenance/": "MaintenanceWindow",
}


@pytest.mark.parametrize("path", list(LISTS))
def test_every_list_is_documented_as_paged(schema, path):
    operation = schema["paths"][path]["get"]
    assert {"page", "page_size"} <= {p["name"] for p in operation["parameters"]}
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    paged = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(paged["properties"]) == {"count", "next", "previous", "results"}
    assert paged["properties"]["results"]["items"] == {"$ref": f"#/components/schemas/{LISTS[path]}"}
    # A page_size that is not a whole number, or a page past the last, is a documented answer.
    assert {"400", "404"} <= set(operation["responses"])


def test_the_environment_is_documented_in_every_format(schema):
    answers = schema["paths"]["/api/v1/components/{service_id}/env"]["get"]["responses"]["200"]["content"]
    assert set(answers) == {"application/json", "text/plain"}
    parameters = {
        p["name"]: p for p in schema["paths"]["/api/v1/components/{service_id}/env"]["get"]["parameters"]
    }
    assert sorted(parameters["format"]["schema"]["enum"]) == ["dotenv", "json", "shell"]


def test_the_swagger_ui_and_the_schema_are_served(client):
    assert client.get("/api/docs/").status_code == 200
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/components/{service_id}/env" in response.content


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fuzzed_values_are_not_secrets")
def test_schemathesis_finds_no_server_error_and_no_answer_breaking_the_schema(
    live_server, django_user_model, tmp_path
):
    """Every operation, with generated valid and invalid input, against a live server: no 5xx, every
    status code, content type and body as documented, and the checks for authentication and deleted
    objects.

    The path parameters point at real objects (a MySQL that others depend on, so that it survives
    a generated DELETE) so the operations get past the 404; ``probe`` gets a component without
    instances, because a generated health check may carry a timeout of minutes.
    """
    key, mysql, idle, instance, window = _live_data(django_user_model)
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        f"""
[parameters]
"path.service_id" = "{mysql.service_id}"
"path.number" = 3306
"path.name" = "MYSQL_USER"
"path.instance_id" = {instance.pk}
"path.window_id" = {window.pk}
"path.slug" = "{mysql.application.slug}"

[[operations]]
include-operation-id = "components_probe"
parameters = {{ "path.service_id" = "{idle.service_id}" }}

# Their default answer is the same List in YAML, after comment lines: the JSON they give on request
# is what is checked against the schema.
[[operations]]
include-tag = "kubernetes"
headers = {{ Accept = "application/json" }}
parameters = {{ "path.slug" = "{mysql.application.slug}" }}
"""
    )
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
        "run",
        f"{live_server.url}/api/schema/",
        "--header",
        f"Authorization: Token {key}",
        "--checks",
        "all",
        # Left out, because by design they cannot hold: a schema cannot say every business rule
        # (a timeout below the interval, a name not yet taken, a secret key only for API
        # registration), so some schema-valid requests are refused; and DRF reads a number sent
        # for a text field as its text, so some schema-violating requests are accepted.
        "--exclude-checks",
        "positive_data_acceptance,negative_data_rejection",
        "--max-examples",
        "10",
        "--workers",
        "1",
        "--seed",
        "20240601",
        "--generation-database",
        "none",
        "--request-timeout",
        "20",
        "--no-color",
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def _live_data(django_user_model):
    user = django_user_model.objects.create_user(username="fuzzer", password="fuzzer-password-1")
    team = accounts.team_create(name="Payments")
    accounts.membership_set(team=team, user=user, role=Role.OWNER)
    application = services.application_create(team=team, name="Shop", actor=SYSTEM)
    mysql = instance_services.component_create(
        application=application, name="mysql", actor=SYSTEM, registration=Registration.STATIC
    )
    services.port_create(component=mysql, number=3306, actor=SYSTEM, inner_service=True)
    services.env_var_set(component=mysql, name="MYSQL_USER", value="shop", actor=SYSTEM)
    services.env_var_set(component=mysql, name="MYSQL_PASSWORD", value="pw", secret=True, actor=SYSTEM)
    instance = instance_add(component=mysql, address=parse_address("10.0.0.7"), actor=SYSTEM)
    app = instance_services.component_create(
        application=application, name="web", kind=ComponentKind.INTERNAL, actor=SYSTEM
    )
    services.dependency_add(component=app, target=mysql, actor=SYSTEM)
    idle = instance_services.component_create(
        application=application, name="idle", actor=SYSTEM, registration=Registration.API
    )
    now = timezone.now()
    window = maintenance.maintenance_window_create(
        actor=SYSTEM,
        component=mysql,
        reason="Upgrade",
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=2),
    )
    _, key = accounts.api_token_create(user=user, name="schemathesis")
    return key, mysql, idle, instance, window
