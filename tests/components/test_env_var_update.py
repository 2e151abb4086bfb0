"""``services.env_var_update``: change some fields of a variable, keep the rest and its name."""

from __future__ import annotations

import pytest

from components import services
from components.models import EnvVar
from core.errors import ComponentError
from core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def password(static_component, alice_actor) -> EnvVar:
    return services.env_var_set(
        component=static_component,
        name="MYSQL_PASSWORD",
        value="s3cr3t-pw",
        secret=True,
        description="the shop's",
        actor=alice_actor,
    )


def test_it_changes_what_is_given_and_keeps_the_rest(password, alice_actor):
    services.env_var_update(var=password, actor=alice_actor, description="rotated monthly")
    stored = EnvVar.objects.get(pk=password.pk)
    assert (stored.name, stored.value, stored.secret, stored.scope, stored.description) == (
        "MYSQL_PASSWORD",
        "s3cr3t-pw",
        True,
        "outer",
        "rotated monthly",
    )


def test_it_audits_the_change_without_the_secret_value(password, alice_actor):
    services.env_var_update(var=password, actor=alice_actor, value="n3w-s3cr3t")
    event = AuditEvent.objects.filter(action="env.update").latest("id")
    assert event.detail["name"] == "MYSQL_PASSWORD"
    assert "n3w-s3cr3t" not in str(event.detail)
    assert EnvVar.objects.get(pk=password.pk).value == "n3w-s3cr3t"


def test_it_refuses_a_generated_variable(static_component, alice_actor):
    services.port_create(component=static_component, number=3306, actor=alice_actor, inner_service=True)
    host = EnvVar.objects.get(component=static_component, name="MYSQL_HOST")
    with pytest.raises(ComponentError) as refused:
        services.env_var_update(var=host, actor=alice_actor, value="db.example.com")
    assert "generated" in refused.value.messages["name"][0]
    assert EnvVar.objects.get(pk=host.pk).value == host.value


def test_it_refuses_to_rename_a_variable(password, alice_actor):
    with pytest.raises(TypeError):
        services.env_var_update(var=password, actor=alice_actor, name="DB_PASSWORD")
    assert EnvVar.objects.filter(component=password.component, name="MYSQL_PASSWORD").exists()
