"""Fixtures of the alerts tests: a loopback webhook receiver, a loopback SMTP server, and Celery
running the delivery task eagerly (in the test's thread, retries included, without their delays)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from kato_console.alerts.models import NotificationChannel
from kato_console.alerts.services import channel_create
from kato_console.celery import app as celery_app
from tests.alerts import support

receiver = support.receiver


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def smtp_server(settings) -> Iterator[_Mailbox]:
    """A real SMTP server (aiosmtpd) on a free loopback port, and the console's email settings pointing at it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = _Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.DEFAULT_FROM_EMAIL = "kato@example.test"
    yield mailbox
    controller.stop()


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Tasks run where they are queued, in this thread; a retry runs at once (Celery's eager
    ``apply`` follows a ``Retry`` with the next try rather than raising it)."""
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = saved


@pytest.fixture
def webhook(team, alice_actor, receiver) -> NotificationChannel:
    return channel_create(team=team, actor=alice_actor, name="On call", kind="webhook", target=receiver.url)
