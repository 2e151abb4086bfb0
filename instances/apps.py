from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class InstancesConfig(AppConfig):
    name = "instances"
    verbose_name = "Instances and health checks"

    def ready(self) -> None:
        from instances.tasks import (
            ensure_history_schedule,
            ensure_maintenance_schedule,
            ensure_sweep_schedule,
        )

        # The sweep's beat entry is created once, when missing, and then left to the operator.
        post_migrate.connect(ensure_sweep_schedule, sender=self, dispatch_uid="kato-sweep-schedule")
        post_migrate.connect(ensure_history_schedule, sender=self, dispatch_uid="kato-history-schedule")
        post_migrate.connect(
            ensure_maintenance_schedule, sender=self, dispatch_uid="kato-maintenance-schedule"
        )
