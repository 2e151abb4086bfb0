"""The alerts app's ear on ``instances``: health transitions become deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from instances.signals import HealthTransition
from kato_console.alerts import services


def deliveries_for_transitions(sender: Any, transitions: Sequence[HealthTransition], **kwargs: Any) -> None:
    """The deliveries are written in the round's transaction (the outbox), inside a savepoint: should
    writing them fail, the round is still recorded (the signal is sent with ``send_robust``)."""
    with transaction.atomic():
        services.deliveries_for_transitions(transitions=transitions)
