"""``python manage.py component_env <app>/<component> [--format json|dotenv|shell]``.

Prints the effective environment (docs/architecture.md, "The effective environment"), secret values included (the operator runs
the server); printing secrets is audited like a reveal in the console.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from components import environment, services
from core.audit import SYSTEM
from instances import environment as resolved
from kato_console.serializers import EffectiveVariableSerializer


class Command(BaseCommand):
    help = "Print the effective environment of a component: <application slug>/<service name>."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("component", metavar="APP/COMPONENT", help="e.g. shop/phpmyadmin")
        parser.add_argument("--format", choices=environment.FORMATS, default="dotenv")
        parser.add_argument("--team", default="", help="The team's slug, when several have this application.")

    def handle(self, *args: Any, component: str, format: str, team: str, **options: Any) -> None:
        try:
            target = resolved.component_by_path(component, team=team)
        except LookupError as error:
            raise CommandError(str(error)) from None
        entries = resolved.effective_environment(target)
        services.env_reveal(
            component=target,
            actor=SYSTEM,
            names=environment.secret_names(entries),
            via=f"component_env:{format}",
        )
        self.stdout.write(_render(target, entries, format), ending="")


def _render(component: Any, entries: list[environment.EnvEntry], fmt: str) -> str:
    if fmt == "dotenv":
        return environment.render_dotenv(component, entries, reveal=True)
    if fmt == "shell":
        return environment.render_shell(component, entries, reveal=True)
    data = EffectiveVariableSerializer(entries, many=True, context={"reveal": True}).data
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
