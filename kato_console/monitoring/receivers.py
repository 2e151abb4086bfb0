"""What the monitoring app does when the sweep tells it something (connected in ``apps.py``)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError

from kato_console.monitoring.services import sweep_round_record

logger = logging.getLogger(__name__)


def record_sweep_round(sender: object, *, probed: int, seconds: float, **kwargs: Any) -> None:
    # The round's results are recorded by then: a failure to store its figures must not undo them.
    try:
        sweep_round_record(probed=probed, seconds=seconds)
    except DatabaseError as error:
        logger.warning("The sweep round's figures were not stored: %s", error)
