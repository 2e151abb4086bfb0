"""``python manage.py export_kubernetes <app-slug> [--namespace N] [--team T] [--component C]``.

Prints the Kubernetes manifests of the application's third-party components (``instances.kubernetes``),
secret values included: the operator runs the server. Printing them is audited like a reveal.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from components import services
from core.audit import SYSTEM
from instances import kubernetes


class Command(BaseCommand):
    help = "Print the Kubernetes manifests (YAML) of an application's third-party components."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("application", metavar="APP", help="The application's slug, e.g. shop.")
        parser.add_argument("--namespace", default="", help="Put every object in this namespace.")
        parser.add_argument("--team", default="", help="The team's slug, when several have this application.")
        parser.add_argument("--component", default="", help="Only this component (its service name).")

    def handle(
        self, *args: Any, application: str, namespace: str, team: str, component: str, **options: Any
    ) -> None:
        if namespace and not kubernetes.valid_namespace(namespace):
            raise CommandError(f"{namespace!r} is not a namespace: a DNS label of at most 63 characters.")
        try:
            components = kubernetes.operator_components(application, team=team, component=component)
        except LookupError as error:
            raise CommandError(str(error)) from None
        found = kubernetes.manifests(components, namespace=namespace, reveal=True)
        for manifest in found:
            services.env_reveal(
                component=manifest.component, actor=SYSTEM, names=manifest.revealed, via="export_kubernetes"
            )
        title = f"Kubernetes manifests of the application {application}"
        self.stdout.write(kubernetes.to_yaml(found, title=title), ending="")
