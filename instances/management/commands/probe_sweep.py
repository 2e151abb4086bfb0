"""`manage.py probe_sweep [--all]`: one round of connectivity tests now, in the foreground."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from instances.models import Status
from instances.sweep import sweep_round


class Command(BaseCommand):
    help = (
        "Probe the instances whose connectivity test is due (--all: every online instance whose "
        "health check is on), record the results, and print the count per status."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            dest="everything",
            help="probe every online instance whose health check is on, due or not",
        )

    def handle(self, *args: Any, everything: bool = False, **options: Any) -> None:
        report = sweep_round(everything=everything)
        counts = ", ".join(
            f"{report.statuses[status]} {Status(status).label.lower()}"
            for status in Status.values
            if report.statuses.get(status)
        )
        noun = "instance" if report.probed == 1 else "instances"
        line = f"Probed {report.probed} {noun} in {report.seconds:.2f} s"
        self.stdout.write(f"{line}: {counts}." if counts else f"{line}.")
