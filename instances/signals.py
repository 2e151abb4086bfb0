"""What ``instances`` tells the apps above it, without importing them (docs/architecture.md).

``health_transitions`` is sent once per recorded round of probe results in which some instance's
health changed, after the transaction that recorded them has committed, with ``transitions``: a
list of ``HealthTransition``. A receiver that fails does not undo the round (it is sent with
``send_robust``); receivers should only enqueue work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.dispatch import Signal

health_transitions = Signal()


@dataclass(frozen=True)
class HealthTransition:
    """One instance's health changing from ``old`` to ``new`` (``Health`` values) at ``at``."""

    instance_id: int
    component_id: int
    team_id: int
    address: str
    old: str
    new: str
    stage: str
    error: str
    at: datetime
