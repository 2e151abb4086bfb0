from __future__ import annotations

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "kato_console.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        from instances.sweep import round_finished
        from kato_console.monitoring.counting import count_answer
        from kato_console.monitoring.receivers import record_sweep_round
        from kato_console.signals import answered

        # The sweep and the instance API tell whoever listens that a round is over or an answer
        # went out; they never import this app.
        round_finished.connect(record_sweep_round, dispatch_uid="kato-monitoring-sweep-round")
        answered.connect(count_answer, dispatch_uid="kato-monitoring-instance-api-answer")
