"""Writes of the monitoring figures: a sweep round's, and the instance API's request counts."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.db.models import F

from kato_console.monitoring.models import InstanceApiRequests, SweepRound

# How many rounds are kept: /metrics shows the last one, the admin a few.
KEEP_ROUNDS = 50


@transaction.atomic
def sweep_round_record(*, probed: int, seconds: float) -> SweepRound:
    """Store a round's figures and drop rounds older than the last ``KEEP_ROUNDS``."""
    sweep_round = SweepRound.objects.create(probed=probed, seconds=seconds)
    SweepRound.objects.filter(pk__lte=sweep_round.pk - KEEP_ROUNDS).delete()
    return sweep_round


@transaction.atomic
def api_requests_add(*, counts: Mapping[int, int]) -> None:
    """Add to the stored count of each status (one UPDATE per status; a row is created once)."""
    for status, count in sorted(counts.items()):
        if not InstanceApiRequests.objects.filter(status=status).update(count=F("count") + count):
            # get_or_create survives another process creating the row at the same moment.
            InstanceApiRequests.objects.get_or_create(status=status)
            InstanceApiRequests.objects.filter(status=status).update(count=F("count") + count)
