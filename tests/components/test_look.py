"""The console looks like one product: its own favicon, labels above the login inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def test_every_page_links_the_consoles_favicon(client):
    page = client.get("/accounts/login/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    favicon = Path(settings.BASE_DIR) / "static" / "favicon.svg"
    assert favicon.read_text().startswith("<svg") and "#2563eb" in favicon.read_text()


def test_the_login_form_has_its_labels_above_the_inputs_and_a_primary_button(client):
    page = client.get("/accounts/login/").content.decode()
    assert '<div class="field"><label for="id_username">User name</label>' in page
    assert '<button type="submit" class="btn btn-primary">Log in</button>' in page
