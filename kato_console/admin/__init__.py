"""The Django admin of the domain's models, one module per app; Django's autodiscovery imports
this package because ``kato_console`` is an installed app."""

from __future__ import annotations

from kato_console.admin import components, core, instances

__all__ = ["components", "core", "instances"]
