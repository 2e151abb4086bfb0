"""Signals the doors send for the feature apps above the domain to hear, without importing a door."""

from __future__ import annotations

from django.dispatch import Signal

# The Kato-compatible instance API answered a request: ``status`` is the HTTP status it sent.
# ``kato_console.monitoring`` counts them for /metrics.
answered = Signal()
