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

Envoy's messages are written here in protobuf's wire format by hand (a few fields of
``DiscoveryRequest``, ``DiscoveryResponse`` and ``ClusterLoadAssignment``): the package of generated
Envoy messages installs an ``envoy/__init__.py`` over the one of the package that carries the binary.
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

logger = logging.getLogger(__name__)

SERVICE = "envoy.service.discovery.v3.AggregatedDiscoveryService"
LOAD_ASSIGNMENT_TYPE = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
# A cluster's endpoints come from the aggregated stream that the bootstrap's ads_config opens.
EDS_CONFIG: dict[str, Any] = {"ads": {}, "resource_api_version": "V3"}
XDS_CLUSTER = "kato_xds"
_REDEFINE_S = 5.0


# Protobuf's wire format: what the messages here need of it.


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _bytes(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _text(number: int, value: str) -> bytes:
    return _bytes(number, value.encode()) if value else b""


def _uint(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value) if value else b""


def _struct(values: Mapping[str, str]) -> bytes:
    """A ``google.protobuf.Struct`` of strings (field 1: map<string, Value>; Value.string_value: 3)."""
    return b"".join(
        _bytes(1, _text(1, key) + _bytes(2, _text(3, str(value)))) for key, value in values.items()
    )


def encode_load_assignment(assignment: Mapping[str, Any]) -> bytes:
    """A ``ClusterLoadAssignment`` in the shape ``config.load_assignment`` builds, in wire format."""
    groups = []
    for group in assignment["endpoints"]:
        lb_endpoints = []
        for lb_endpoint in group["lb_endpoints"]:
            endpoint = lb_endpoint["endpoint"]
            socket_address = endpoint["address"]["socket_address"]
            address = _bytes(
                1, _text(2, socket_address["address"]) + _uint(3, int(socket_address["port_value"]))
            )
            encoded = _bytes(1, _bytes(1, address) + _text(3, endpoint.get("hostname", "")))
            filter_metadata = lb_endpoint.get("metadata", {}).get("filter_metadata", {})
            if filter_metadata:
                entries = b"".join(
                    _bytes(1, _text(1, name) + _bytes(2, _struct(values)))
                    for name, values in filter_metadata.items()
                )
                encoded += _bytes(3, entries)
            lb_endpoints.append(_bytes(2, encoded))
        groups.append(_bytes(2, b"".join(lb_endpoints)))
    return _text(1, assignment["cluster_name"]) + b"".join(groups)


@dataclass
class Request:
    """What the gateway reads of Envoy's ``DiscoveryRequest``."""

    version_info: str = ""
    resource_names: list[str] = field(default_factory=list)
    type_url: str = ""
    response_nonce: str = ""
    error: str = ""


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) for each field of a message: an int for varints and fixed widths, bytes
    for length-delimited fields."""
    index = 0
    while index < len(data):
        key, index = _read_varint(data, index)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, index = _read_varint(data, index)
            yield number, value
        elif wire == 2:
            length, index = _read_varint(data, index)
            yield number, data[index : index + length]
            index += length
        elif wire == 1:
            yield number, int.from_bytes(data[index : index + 8], "little")
            index += 8
        elif wire == 5:
            yield number, int.from_bytes(data[index : index + 4], "little")
            index += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _read_varint(data: bytes, index: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[index]
        index += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, index
        shift += 7


def decode_request(data: bytes) -> Request:
    request = Request()
    for number, value in _fields(data):
        if not isinstance(value, bytes):
            continue
        if number == 1:
            request.version_info = value.decode()
        elif number == 3:
            request.resource_names.append(value.decode())
        elif number == 4:
            request.type_url = value.decode()
        elif number == 5:
            request.response_nonce = value.decode()
        elif number == 6:  # google.rpc.Status: message is field 2
            request.error = next(
                (
                    part.decode(errors="replace")
                    for n, part in _fields(value)
                    if n == 2 and isinstance(part, bytes)
                ),
                "rejected",
            )
    return request


def encode_response(version: str, type_url: str, nonce: str, resources: list[bytes]) -> bytes:
    """A ``DiscoveryResponse`` whose resources are ``type_url`` messages (each wrapped in an ``Any``)."""
    wrapped = b"".join(_bytes(2, _text(1, type_url) + _bytes(2, resource)) for resource in resources)
    return _text(1, version) + wrapped + _text(4, type_url) + _text(5, nonce)


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
        self._assignments: dict[str, bytes] = {}
        self._streams: set[_Stream] = set()
        self._counter = 0
        self._stopping = False
        # Clusters whose definition just changed, until when their endpoints go with every request.
        self._redefined: dict[str, float] = {}
        self._server = grpc.server(ThreadPoolExecutor(max_workers=4, thread_name_prefix="kato-xds"))
        handler = grpc.stream_stream_rpc_method_handler(self._stream)  # raw bytes both ways
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

    def publish(self, assignments: Mapping[str, bytes], removed: Iterable[str] = ()) -> None:
        """Replace these clusters' assignments (wire format) and send them to Envoy; forget ``removed``."""
        with self._changed:
            self._assignments.update(assignments)
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

    def _stream(self, requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
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
                    yield encode_response(counter, LOAD_ASSIGNMENT_TYPE, counter, resources)
        finally:
            with self._changed:
                self._streams.discard(stream)

    def _read(self, requests: Iterator[bytes], stream: _Stream) -> None:
        try:
            for raw in requests:
                request = decode_request(raw)
                if request.type_url != LOAD_ASSIGNMENT_TYPE:
                    continue
                if request.error:
                    logger.warning("Envoy rejected the endpoints it was sent: %s", request.error)
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
