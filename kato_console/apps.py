from __future__ import annotations

from django.apps import AppConfig


class KatoConsoleConfig(AppConfig):
    """The top floor: the pages, the console API, the instance API, the admin and the commands.

    An installed app so that Django finds its ``admin`` package (which registers the domain's
    models) and its management commands; it has no models of its own.
    """

    name = "kato_console"
    verbose_name = "Kato Console"
