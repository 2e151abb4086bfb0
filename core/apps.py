from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    """What every app of the console uses: the audit trail, the actor, the domain error, IP helpers."""

    name = "core"
    label = "core"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from core.tasks import ensure_prune_schedule

        # The retention's beat entry is created once, when missing, and then left to the operator.
        post_migrate.connect(ensure_prune_schedule, sender=self, dispatch_uid="kato-audit-prune-schedule")
