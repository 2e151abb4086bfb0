"""``python manage.py run_gateway``: run one gateway (Envoy) in the foreground, in step with the database.

Ctrl-C or SIGTERM stops Envoy and the command. Several gateways can serve the same routes: start
another with ``KATO_GATEWAY_HOST`` / ``KATO_GATEWAY_PUBLIC_HOST`` (or ``--host`` / ``--public-host``)
set to another address of the machine.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from components.gateway import routing_on
from kato_console.gateway.envoy import Envoy, EnvoyError
from kato_console.gateway.loop import GatewayOptions, run


class Command(BaseCommand):
    help = "Run the gateway: an Envoy that routes the internal and external services to routed instances."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", help="Internal address (KATO_GATEWAY_HOST).")
        parser.add_argument("--public-host", help="Public address (KATO_GATEWAY_PUBLIC_HOST).")
        parser.add_argument("--http-port", type=int, help="HTTP routes' port (KATO_GATEWAY_HTTP_PORT).")
        parser.add_argument(
            "--admin-port", type=int, help="Envoy's admin port on 127.0.0.1; 0: any free one."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        gateway = GatewayOptions.from_settings(
            host=options["host"],
            public_host=options["public_host"],
            http_port=options["http_port"],
            admin_port=options["admin_port"],
        )
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        try:
            run(gateway, stop=stop, on_ready=lambda envoy: self._announce(gateway, envoy))
        except EnvoyError as error:
            raise CommandError(str(error)) from None
        self.stdout.write("The gateway stopped.")

    def _announce(self, gateway: GatewayOptions, envoy: Envoy) -> None:
        self.stdout.write(
            f"Gateway: internal services on {gateway.host}, external ones on {gateway.public_host} "
            f"(HTTP routes on port {gateway.http_port}); Envoy's admin on http://{envoy.admin_address}/."
        )
        if not routing_on():
            self.stdout.write("Routing is off (KATO_GATEWAY=0): the gateway serves nothing.")
        if gateway.allow_loopback:
            self.stdout.write(
                "Loopback upstreams are allowed (DEBUG or KATO_GATEWAY_ALLOW_LOOPBACK=1): an external "
                "service may forward to what listens on this machine."
            )
        self.stdout.flush()
