"""The instance API's requests by status, counted at no measurable cost to the request.

The endpoint sends ``answered`` with the status of each answer (``kato_console.signals.answered``, sent by ``kato_console.kato_api``); the
receiver here, connected in ``apps.py``, adds one to a counter in this process's memory (under a
lock nobody else waits on), and once every ``KATO_METRICS_FLUSH_S`` seconds the process adds what
it counted to the database, in one short transaction per flush, after its response is ready. ``/metrics`` reads the table, so every web process
answers the same, on every host. The price: counts reach ``/metrics`` up to that many seconds late,
and a process that stops loses what it counted since its last flush (no flush at exit: by
then the database may be another one, as in the tests, or gone).
prometheus-client's multiprocess mode would count exactly but per host, and needs a shared directory
that is cleaned at every start; README, "Prometheus", says more.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Any

from django.conf import settings
from django.db import DatabaseError

from kato_console.monitoring.services import api_requests_add

logger = logging.getLogger(__name__)


class RequestCounts:
    """Counts by status in this process, flushed to the database now and then."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[int] = Counter()
        self._flushed_at = time.monotonic()

    def add(self, status: int) -> bool:
        """Count one answer; True when the counts are due to be flushed."""
        with self._lock:
            self._counts[status] += 1
            return time.monotonic() - self._flushed_at >= settings.KATO_METRICS_FLUSH_S

    def flush(self) -> None:
        with self._lock:
            counts, self._counts = self._counts, Counter()
            self._flushed_at = time.monotonic()
        if not counts:
            return
        try:
            api_requests_add(counts=counts)
        except DatabaseError as error:
            # Kept for the next flush rather than lost: the database may be back by then.
            with self._lock:
                self._counts.update(counts)
            logger.warning("The instance API's request counts were not stored: %s", error)


COUNTS = RequestCounts()


def count_answer(sender: object, *, status: int, **kwargs: Any) -> None:
    """Receives the instance API's ``answered`` signal."""
    if COUNTS.add(status):
        COUNTS.flush()
