"""The standard gRPC health service (``grpc.health.v1.Health``) of a process serving the
southbound, for orchestrators' probes and load balancers.

Two names are reported:

- ``""`` (the server): ``SERVING`` from when the southbound listens until it starts to stop;
- ``alcor.v1.Southbound``: ``SERVING`` while this replica serves agents: its goal-state engine
  has caught up with the change log since start and it holds its lease (a replica that cannot
  renew it, the store being away, serves no host: ``leases``); ``NOT_SERVING`` otherwise.

Both are ``NOT_SERVING`` once the process begins to stop (``Watch`` streams see it). The service
answers on the southbound's own address, behind its TLS (a client needs a certificate of the
agents' CA), and, given ``--southbound-health HOST:PORT``, on a plaintext port of its own that
serves nothing else: Kubernetes' ``grpc`` probes speak no TLS.
"""

from __future__ import annotations

import asyncio
import logging

import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

log = logging.getLogger(__name__)

SERVICE = "alcor.v1.Southbound"  # the proto's service, as gRPC health names services


class Health:
    """The health servicer and its optional plaintext server; used on the southbound's loop."""

    def __init__(self) -> None:
        self.servicer = health.aio.HealthServicer()
        self._plain: grpc.aio.Server | None = None
        self._serving: bool | None = None
        self._updates: set[asyncio.Task[None]] = set()
        self.port = 0  # the plaintext port bound (when asked for port 0)

    async def start(self, server: grpc.aio.Server, *, plain_address: str = "") -> None:
        """Add the service to the southbound's ``server`` (before it starts), and serve it on
        ``plain_address`` too, if given; the replica starts as not serving agents."""
        health_pb2_grpc.add_HealthServicer_to_server(self.servicer, server)
        await self.servicer.set(SERVICE, health_pb2.HealthCheckResponse.NOT_SERVING)
        self._serving = False
        if not plain_address:
            return
        plain = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        health_pb2_grpc.add_HealthServicer_to_server(self.servicer, plain)
        try:
            self.port = plain.add_insecure_port(plain_address)
        except RuntimeError:
            self.port = 0
        if self.port == 0 and not plain_address.startswith("unix:"):
            raise RuntimeError(f"cannot listen on {plain_address} (--southbound-health)")
        await plain.start()
        self._plain = plain
        log.info("gRPC health service on %s in plaintext (only it)", plain_address)

    @property
    def serves_agents(self) -> bool:
        """Whether the replica serves agents now (what ``alcor.v1.Southbound`` reports)."""
        return bool(self._serving)

    def serving(self, now: bool) -> None:
        """Whether the replica serves agents now; reported when it changes."""
        if now == self._serving:
            return
        self._serving = now
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if now
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        update = asyncio.get_running_loop().create_task(self.servicer.set(SERVICE, status))
        self._updates.add(update)
        update.add_done_callback(self._updates.discard)

    async def stopping(self) -> None:
        """Everything ``NOT_SERVING`` from now on (watchers are told)."""
        if self._updates:
            await asyncio.gather(*self._updates, return_exceptions=True)
        await self.servicer.enter_graceful_shutdown()

    async def stop(self) -> None:
        if self._plain is not None:
            await self._plain.stop(grace=0.5)
