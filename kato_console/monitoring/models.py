"""What ``/metrics`` shows besides the instances themselves, kept in the database so that every web
process answers a scrape the same: the sweep's last rounds and the instance API's answers by status."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SweepRound(models.Model):
    """One round of the sweep (a chunk in a worker, or ``manage.py probe_sweep``); the last few are
    kept (``KEEP_ROUNDS``)."""

    finished_at = models.DateTimeField(default=timezone.now, verbose_name=_("finished at"))
    probed = models.PositiveIntegerField(verbose_name=_("probed"))
    seconds = models.FloatField(verbose_name=_("seconds"))

    class Meta:
        verbose_name = _("sweep round")
        verbose_name_plural = _("sweep rounds")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.probed} probed in {self.seconds:.2f} s at {self.finished_at:%Y-%m-%d %H:%M:%S}"


class InstanceApiRequests(models.Model):
    """How many requests the instance API answered with this status, since the table was created.

    Each process counts in memory and adds its counts here every ``KATO_METRICS_FLUSH_S`` seconds
    (``kato_console.monitoring.counting``)."""

    status = models.PositiveSmallIntegerField(unique=True, verbose_name=_("status"))
    count = models.PositiveBigIntegerField(default=0, verbose_name=_("count"))

    class Meta:
        verbose_name = _("instance API requests")
        ordering = ["status"]
        verbose_name_plural = _("instance API requests")

    def __str__(self) -> str:
        return f"{self.status}: {self.count}"
