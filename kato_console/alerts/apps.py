from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "kato_console.alerts"
    label = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from instances.signals import health_transitions
        from kato_console.alerts.receivers import deliveries_for_transitions

        # instances announces health transitions without knowing who listens (docs/architecture.md).
        health_transitions.connect(deliveries_for_transitions, dispatch_uid="kato-alerts-transitions")
