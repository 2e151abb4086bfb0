"""``python manage.py run_with_env <app>/<component> -- CMD ARGS…``.

Runs a local program with the component's effective environment added to this process's, the
standalone counterpart of entering the container and running ``env | grep MYSQL``; the command
ends with the program's exit code.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from components import environment, services
from components.models import Component
from core.audit import SYSTEM
from core.errors import ComponentError
from instances import environment as resolved
from instances import services as instance_services


class Command(BaseCommand):
    help = "Run a program with a component's effective environment: run_with_env shop/phpmyadmin -- env"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("component", metavar="APP/COMPONENT", help="e.g. shop/phpmyadmin")
        parser.add_argument("--team", default="", help="The team's slug, when several have this application.")
        parser.add_argument(
            "--serve",
            default="",
            metavar="HOST:PORT",
            help="Register this address as an instance while it runs.",
        )
        parser.add_argument("program", nargs=argparse.REMAINDER, help="-- CMD ARGS…")

    def handle(
        self, *args: Any, component: str, team: str, serve: str, program: list[str], **options: Any
    ) -> None:
        serve, program = _options_before_program(serve, program)
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
        for entry in entries:
            if entry.warning and entry.effective:  # e.g. MYSQL_HOST kept while no instance passes
                self.stderr.write(f"Warning: {entry.name}: {entry.warning}")
        env = {**os.environ, **environment.effective_values(entries)}
        code = _serve(target, serve, program, env) if serve else _run(program, env)
        if code:
            sys.exit(code)


def _options_before_program(serve: str, program: list[str]) -> tuple[str, list[str]]:
    """``--serve`` written after the component: argparse hands it to the program's arguments."""
    if program[:1] == ["--serve"] and len(program) > 1:
        return program[1], program[2:]
    if program and program[0].startswith("--serve="):
        return program[0].partition("=")[2], program[1:]
    return serve, program


def _serve(target: Component, raw_address: str, program: list[str], env: dict[str, str]) -> int:
    """Run the program with ``raw_address`` registered as an instance of ``target`` for as long as it runs."""
    try:
        address = instance_services.address_parse_checked(raw_address)
        instance, _ = instance_services.instance_upsert(
            component=target, address=address, is_online=True, actor=SYSTEM
        )
    except ComponentError as error:
        raise CommandError(str(error)) from None
    # SIGTERM (a supervisor stopping us) ends the program like Ctrl-C does, so the instance goes too.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _run(program, env)
    except KeyboardInterrupt:
        return 130
    finally:
        instance_services.instance_delete(instance=instance, actor=SYSTEM)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


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
