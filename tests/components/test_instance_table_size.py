"""The instance table, polled every 5 seconds, stays a small fragment however many instances there are."""

from __future__ import annotations

import pytest
from django.urls import reverse

from instances.addresses import parse_address
from instances.models import Instance
from instances.services import instance_add
from tests.components.pages_support import hx, seed, text

pytestmark = pytest.mark.django_db


def test_a_full_page_of_fifty_rows_stays_under_sixty_kilobytes(alice_client, application):
    component = seed(application, components=1, instances=120)
    # Long DNS names, as real registrations have, are the worst case; unique per row.
    for n, pk in enumerate(Instance.objects.filter(component=component).values_list("pk", flat=True)):
        Instance.objects.filter(pk=pk).update(host=f"db-replica-{n:04d}.eu-west-1.example.com")
    poll = hx(alice_client, "get", reverse("component", args=[component.service_id]), "instance-table")
    assert text(poll).count("Take offline") + text(poll).count("Bring online") == 50
    assert len(poll.content) <= 60_000, len(poll.content)


def test_without_javascript_delete_opens_the_confirmation_page(alice_client, static_component, alice_actor):
    instance = instance_add(component=static_component, address=parse_address("10.0.0.7"), actor=alice_actor)
    overview = text(alice_client.get(reverse("component", args=[static_component.service_id])))
    delete_url = reverse("component-instance-delete", args=[static_component.service_id, instance.pk])
    assert f'href="{delete_url}?page=1"' in overview
    confirm = text(alice_client.get(f"{delete_url}?page=1"))
    assert "Delete the instance 10.0.0.7?" in confirm
    assert Instance.objects.filter(pk=instance.pk).exists()
