"""``third_party_component_register`` refuses a new application without a team to put it in."""

from __future__ import annotations

import pytest

from components.models import Application, Component, Registration
from core.errors import ComponentError
from instances.services import third_party_component_register

pytestmark = pytest.mark.django_db


def test_it_refuses_a_new_application_without_a_team(alice_actor):
    with pytest.raises(ComponentError) as refused:
        third_party_component_register(
            name="mysql",
            registration=Registration.API,
            actor=alice_actor,
            new_application_name="Shop",
        )
    assert "team" in refused.value.messages["application"][0]
    assert not Application.objects.exists() and not Component.objects.exists()
