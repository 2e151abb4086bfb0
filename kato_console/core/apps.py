from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app of the console uses: the audit trail, the actor, the domain error, IP helpers."""

    name = "kato_console.core"
    label = "core"
    verbose_name = "Audit trail"
