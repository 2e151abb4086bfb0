"""Forms whose labels and descriptions point at what exists: no aria-describedby to a missing id, no
label for nothing."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.components.pages_support import text

pytestmark = pytest.mark.django_db


def _broken_references(html: str) -> list[str]:
    ids = set(re.findall(r'\sid="([^"]+)"', html))
    described = [ref for refs in re.findall(r'aria-describedby="([^"]*)"', html) for ref in refs.split()]
    missing = [f"aria-describedby={ref}" for ref in described if ref not in ids]
    labels = [f"label for={ref!r}" for ref in re.findall(r'<label for="([^"]*)"', html) if ref not in ids]
    return missing + labels


def test_the_internal_component_form_describes_its_fields_with_what_is_there(alice_client, application):
    page = text(alice_client.get(reverse("internal-component-new", args=[application.slug])))
    assert 'aria-describedby="id_image_helptext"' in page
    assert _broken_references(page) == []


def test_the_alert_channel_form_labels_notify_for_as_a_group(alice_client, team):
    page = text(alice_client.get(reverse("alerts:channel-new", args=[team.slug])))
    assert "<legend>Notify for</legend>" in page
    assert _broken_references(page) == []


def test_the_wizard_and_the_component_forms_have_no_broken_reference(
    alice_client, application, static_component
):
    pages = [
        reverse("wizard-new-in-app", args=[application.slug]),
        reverse("component-health-check", args=[static_component.service_id]),
        reverse("component-connection-info", args=[static_component.service_id]),
    ]
    for url in pages:
        assert _broken_references(text(alice_client.get(url))) == [], url
