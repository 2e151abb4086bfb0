"""What ``instances`` tells the apps above it, without importing them (docs/architecture.md).

``health_transitions`` is sent once per recorded round of probe results in which some instance's
health changed, inside the transaction that records them, with ``transitions``: a list of
``HealthTransition``. A receiver writes in that transaction what it must do (so the round and its
consequences commit together) within a savepoint of its own, so that its failure does not undo the
round (the signal is sent with ``send_robust``), and acts on it only after the commit.
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
