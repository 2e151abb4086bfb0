"""Clients of the console API, each authenticated with a token of its own user."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from components import services
from components.models import Scope
from core import services as accounts


def token_client(user) -> APIClient:
    _, key = accounts.api_token_create(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def api(alice) -> APIClient:
    """Alice, a developer of the Payments team."""
    return token_client(alice)


@pytest.fixture
def viewer_api(victor_the_viewer) -> APIClient:
    """Victor, a viewer of the Payments team: reads, never writes."""
    return token_client(victor_the_viewer)


@pytest.fixture
def bob_api(bob_from_another_team) -> APIClient:
    """Bob, owner of another team: Payments' objects do not exist for him."""
    return token_client(bob_from_another_team)


def url(component, suffix: str = "") -> str:
    return f"/api/v1/components/{component.service_id}{suffix}"


@pytest.fixture
def mysql(static_component, alice_actor):
    """A MySQL with a port (internal service on), credentials, a secret, and an inner-only variable."""
    services.port_create(component=static_component, number=3306, actor=alice_actor, inner_service=True)
    services.env_var_set(component=static_component, name="MYSQL_USER", value="shop", actor=alice_actor)
    services.env_var_set(
        component=static_component, name="MYSQL_PASSWORD", value="pa$$ 'word'", secret=True, actor=alice_actor
    )
    services.env_var_set(
        component=static_component, name="INNODB_BUFFER", value="1G", scope=Scope.INNER, actor=alice_actor
    )
    return static_component


@pytest.fixture
def phpmyadmin(internal_component, mysql, alice_actor):
    services.dependency_add(component=internal_component, target=mysql, actor=alice_actor)
    services.env_var_set(
        component=internal_component,
        name="PMA_ABSOLUTE_URI",
        value="https://pma",
        scope=Scope.INNER,
        actor=alice_actor,
    )
    return internal_component


# The effective environment of ``phpmyadmin`` as a dotenv file, secrets included.
PHPMYADMIN_DOTENV = (
    "# Effective environment of shop/phpmyadmin\n"
    "# Warning: MYSQL_HOST from mysql: mysql has no instance, so there is no host to give yet.\n"
    "MYSQL_HOST=\n"
    """MYSQL_PASSWORD="pa$$ 'word'"\n"""
    "MYSQL_PORT=3306\n"
    "MYSQL_USER=shop\n"
    "PMA_ABSOLUTE_URI=https://pma\n"
)
