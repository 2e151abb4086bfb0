"""The overview's curl line works when pasted: Copy gives the real secret key (recorded like a
reveal), and the address is a variable the shell refuses to leave unset. A plain reveal or a new key
is shown once after a redirect (post/redirect/get)."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from core.models import AuditEvent
from tests.support import run_pasted

CURL_LINE = re.compile(r'<pre class="curl" id="curl-line">(.*?)</pre>', re.S)


def _copy(client: Client, component) -> str:
    response = client.post(f"/components/{component.service_id}/secret-key/curl/")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    return response.content.decode()


@pytest.mark.django_db
def test_copy_gives_the_real_key_and_is_recorded_like_a_reveal(alice_client, api_component):
    page = alice_client.get(f"/components/{api_component.service_id}/").content.decode()
    shown = html.unescape(CURL_LINE.search(page).group(1))
    assert api_component.secret_key not in page and '"secret_key":"<secret key>"' in shown
    assert "10.0.0.7" not in shown and "${INSTANCE_IP:?" in shown
    assert f'data-copy-from="/components/{api_component.service_id}/secret-key/curl/"' in page
    copied = _copy(alice_client, api_component)
    assert copied == shown.replace("<secret key>", api_component.secret_key)
    event = AuditEvent.objects.get(action="secret_key.reveal")
    assert event.detail == {"via": "page:copy"} and event.user.get_username() == "alice"


@pytest.mark.django_db
def test_a_viewer_copies_no_key(client, victor_the_viewer, api_component):
    client.force_login(victor_the_viewer)
    assert client.post(f"/components/{api_component.service_id}/secret-key/curl/").status_code == 403
    assert "data-copy-from" not in client.get(f"/components/{api_component.service_id}/").content.decode()
    assert not AuditEvent.objects.filter(action="secret_key.reveal").exists()


@pytest.mark.django_db(transaction=True)
def test_the_pasted_line_refuses_without_an_address_and_registers_with_one(
    api_component, alice, live_server, settings
):
    settings.KATO_PUBLIC_URL = live_server.url
    client = Client()
    client.force_login(alice)
    line = _copy(client, api_component)

    refused = run_pasted(line)
    assert refused.returncode != 0 and "set INSTANCE_IP to the address to register" in refused.stderr
    assert not api_component.instances.exists()

    done = run_pasted(line, INSTANCE_IP="10.1.2.3")
    assert '"code":200' in done.stdout.replace(" ", ""), done.stdout + done.stderr
    assert [str(instance.host) for instance in api_component.instances.all()] == ["10.1.2.3"]


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["reveal", "regenerate"])
def test_a_plain_reveal_or_new_key_is_shown_once_after_a_redirect(alice_client, api_component, action):
    url = f"/components/{api_component.service_id}/"
    response = alice_client.post(f"{url}secret-key/{action}/")
    assert response.status_code == 302 and response["Location"] == url
    api_component.refresh_from_db()
    shown = alice_client.get(url)
    assert f'<code id="secret-key">{api_component.secret_key}</code>' in shown.content.decode()
    assert "no-store" in shown["Cache-Control"]
    assert api_component.secret_key not in alice_client.get(url).content.decode()  # the reload
    assert AuditEvent.objects.filter(action=f"secret_key.{action}").count() == 1
