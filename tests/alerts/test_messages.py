"""Text a probed server returns reaches Slack and email escaped for each channel."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kato_console.alerts import services
from tests.alerts.test_delivery import _transition

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

HOSTILE = "<!channel> the database moved: <http://evil.example/login|https://console.example/>"


def test_a_slack_message_shows_a_server_s_text_without_mentions_or_disguised_links(
    team, alice_actor, receiver, static_component, django_capture_on_commit_callbacks
) -> None:
    services.channel_create(team=team, actor=alice_actor, name="Slack", kind="slack", target=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        services.deliveries_for_transitions(
            transitions=[
                replace(_transition(static_component), error=HOSTILE + "\nKato Console: all healthy")
            ]
        )

    [request] = receiver.requests
    text = request.json["text"]
    assert "<" not in text and ">" not in text
    assert (
        "&lt;!channel&gt; the database moved: &lt;http://evil.example/login|https://console.example/&gt;"
        in text
    )
    assert "\\nKato Console: all healthy" in text  # on the same line, not a forged one
    assert len(text.splitlines()) == 2


def test_an_email_carries_a_server_s_line_breaks_as_text_not_as_headers_or_lines(
    team, alice_actor, smtp_server, static_component, django_capture_on_commit_callbacks
) -> None:
    services.channel_create(
        team=team, actor=alice_actor, name="Mail", kind="email", target="ops@example.test"
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.deliveries_for_transitions(
            transitions=[replace(_transition(static_component), error="refused\r\nBcc: all@example.test")]
        )

    [(_, recipients, content)] = smtp_server.messages
    assert recipients == ["ops@example.test"]
    assert "\nBcc:" not in content
    assert "refused\\r\\nBcc: all@example.test" in content
