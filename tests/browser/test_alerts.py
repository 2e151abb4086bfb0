"""A developer adds a webhook channel for their team and sends a test notification."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kato_console.celery import app as celery_app
from tests.alerts import support

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
receiver = support.receiver
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def eager_deliveries() -> Iterator[None]:
    # The live server runs the delivery task in the request's thread, once the channel's test is committed.
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = saved


def _shot(page, step: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"test_alerts-{step}.png"), full_page=True)


def test_a_developer_adds_a_webhook_channel_and_sends_a_test(
    logged_in_page,
    static_component,
    receiver,
    eager_deliveries,
) -> None:
    page = logged_in_page
    page.get_by_role("complementary").get_by_role("link", name="Alerts").click()
    assert page.get_by_role("heading", name="Alerts of Payments").is_visible()
    page.get_by_role("link", name="Add channel").click()
    page.get_by_label("Name").fill("On call")
    page.get_by_label("Kind").select_option("webhook")
    page.get_by_label("URL or email addresses").fill(receiver.url)
    _shot(page, "1-form")
    page.get_by_role("button", name="Add channel").click()

    assert page.get_by_text("Copy it now into your receiver.").is_visible()
    secret = page.locator("#channel-secret").inner_text()
    assert len(secret) == 64
    _shot(page, "2-created")

    page.get_by_role("button", name="Send test notification").click()
    assert page.get_by_text("A test notification is on its way").is_visible()
    row = page.get_by_role("row").filter(has_text="A test notification from Kato Console")
    assert row.get_by_text("sent", exact=True).is_visible()
    assert secret not in page.content()
    _shot(page, "3-tested")
    [request] = receiver.requests
    assert request.json["event"] == "test"
