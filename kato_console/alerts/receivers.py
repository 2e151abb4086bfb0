"""The alerts app's ear on ``instances``: health transitions become deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from instances.signals import HealthTransition
from kato_console.alerts import services


def deliveries_for_transitions(sender: Any, transitions: Sequence[HealthTransition], **kwargs: Any) -> None:
    services.deliveries_for_transitions(transitions=transitions)
