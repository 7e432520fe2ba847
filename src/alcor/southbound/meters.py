"""What the southbound counts as it goes, for ``/metrics``: the goal-state engine's apply time,
the acks received and the bytes sent. Everything else the southbound exposes (hosts, lag,
messages and entries sent, failures) the status board already holds and is read from it at
scrape time (``services.metrics``), costing the streams nothing.

Bytes are counted where gRPC serializes each message anyway (``add_service`` registers the
stream with a serializer that counts what it returns), so no message is measured twice.
"""

from __future__ import annotations

import time

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram

from alcor.v1 import southbound_pb2 as pb

# seconds one committed change takes in the engine: from 10 µs to a second
APPLY_BUCKETS = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.1, 1.0)

SERVICE = "alcor.v1.Southbound"


class Meters:
    """The southbound's hot-path meters, registered in ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.applying = Histogram(
            "alcor_engine_apply_seconds",
            "Time the goal-state engine took to apply one committed change (and compute every "
            "host's delta), once it has replayed the change log",
            registry=registry,
            buckets=APPLY_BUCKETS,
        )
        self.acks = Counter(
            "alcor_southbound_acks", "Acks received from the host agents", registry=registry
        )
        self.sent_bytes = Counter(
            "alcor_goalstate_sent_bytes",
            "Bytes of the southbound's messages to the host agents (goal states, redirects, "
            "refusals), as serialized",
            registry=registry,
        )
        self._count_bytes = self.sent_bytes.inc
        self.clock = time.perf_counter

    def serialize(self, message: pb.ControllerMessage) -> bytes:
        data = message.SerializeToString()
        self._count_bytes(len(data))
        return data


def add_service(servicer: object, server: grpc.aio.Server, meters: Meters) -> None:
    """``add_SouthboundServicer_to_server``, with the bytes sent counted by ``meters``."""
    handlers = {
        "Connect": grpc.stream_stream_rpc_method_handler(
            servicer.Connect,  # type: ignore[attr-defined]
            request_deserializer=pb.AgentMessage.FromString,
            response_serializer=meters.serialize,
        )
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_registered_method_handlers(SERVICE, handlers)
