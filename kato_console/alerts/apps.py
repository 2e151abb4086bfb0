from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AlertsConfig(AppConfig):
    name = "kato_console.alerts"
    label = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from instances.signals import health_transitions
        from kato_console.alerts.receivers import deliveries_for_transitions
        from kato_console.alerts.tasks import ensure_certificates_schedule, ensure_dispatch_schedule

        # instances announces health transitions without knowing who listens (docs/architecture.md).
        health_transitions.connect(deliveries_for_transitions, dispatch_uid="kato-alerts-transitions")
        # The outbox's dispatcher: a beat entry created once, when missing, then left to the operator.
        post_migrate.connect(ensure_dispatch_schedule, sender=self, dispatch_uid="kato-alerts-dispatch")
        post_migrate.connect(
            ensure_certificates_schedule, sender=self, dispatch_uid="kato-alerts-certificates"
        )
