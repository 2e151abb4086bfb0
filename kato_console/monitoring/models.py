"""What ``/metrics`` shows besides the instances themselves, kept in the database so that every web
process answers a scrape the same: the sweep's last rounds and the instance API's answers by status."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class SweepRound(models.Model):
    """One round of the sweep (a chunk in a worker, or ``manage.py probe_sweep``); the last few are
    kept (``KEEP_ROUNDS``)."""

    finished_at = models.DateTimeField(default=timezone.now)
    probed = models.PositiveIntegerField()
    seconds = models.FloatField()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.probed} probed in {self.seconds:.2f} s at {self.finished_at:%Y-%m-%d %H:%M:%S}"


class InstanceApiRequests(models.Model):
    """How many requests the instance API answered with this status, since the table was created.

    Each process counts in memory and adds its counts here every ``KATO_METRICS_FLUSH_S`` seconds
    (``kato_console.monitoring.counting``)."""

    status = models.PositiveSmallIntegerField(unique=True)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["status"]
        verbose_name_plural = "instance API requests"

    def __str__(self) -> str:
        return f"{self.status}: {self.count}"
