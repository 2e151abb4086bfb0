from __future__ import annotations

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "kato_console.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        from instances.sweep import round_finished
        from kato_console.monitoring.receivers import record_sweep_round

        # The sweep tells whoever listens that a round is over; it never imports this app.
        round_finished.connect(record_sweep_round, dispatch_uid="kato-monitoring-sweep-round")
