"""``python manage.py run_with_env <app>/<component> -- CMD ARGS…``.

Runs a local program with the component's effective environment added to this process's, the
standalone counterpart of entering the container and running ``env | grep MYSQL``; the command
ends with the program's exit code.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from components import environment, services
from core.audit import SYSTEM
from instances import environment as resolved


class Command(BaseCommand):
    help = "Run a program with a component's effective environment: run_with_env shop/phpmyadmin -- env"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("component", metavar="APP/COMPONENT", help="e.g. shop/phpmyadmin")
        parser.add_argument("--team", default="", help="The team's slug, when several have this application.")
        parser.add_argument("program", nargs=argparse.REMAINDER, help="-- CMD ARGS…")

    def handle(self, *args: Any, component: str, team: str, program: list[str], **options: Any) -> None:
        if program and program[0] == "--":
            program = program[1:]
        if not program:
            raise CommandError("Name the program to run after --, e.g. run_with_env shop/phpmyadmin -- env")
        try:
            target = resolved.component_by_path(component, team=team)
        except LookupError as error:
            raise CommandError(str(error)) from None
        entries = resolved.effective_environment(target)
        services.env_reveal(
            component=target, actor=SYSTEM, names=environment.secret_names(entries), via="run_with_env"
        )
        code = _run(program, {**os.environ, **environment.effective_values(entries)})
        if code:
            sys.exit(code)


def _run(program: list[str], env: dict[str, str]) -> int:
    # Flush what Django has written so far, so that the program's output follows it in order.
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        return subprocess.run(program, env=env, check=False).returncode
    except FileNotFoundError:
        raise CommandError(f"No such program: {program[0]}") from None
    except PermissionError:
        raise CommandError(f"{program[0]} cannot be run (permission denied).") from None
