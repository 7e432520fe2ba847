"""``--metrics-bind HOST:PORT``: the operator's listener of a controller process (every role)
or an agent process, apart from the Neutron API's port (tenants must not read region-wide
figures): ``GET /metrics`` (Prometheus text format, or OpenMetrics when asked, by
prometheus-client's own exposition code, from the process's own registry), ``/healthz`` and
``/readyz`` (the same probes as the API port's, ``api.health``).

It is a second uvicorn server on the process's event loop, answering HTTP only. A controller
renders ``/metrics`` on a thread of its own (``in_thread``, ``Rendering``): the collectors walk
the status board and count the store's resources, and the API's loop goes on serving meanwhile;
an agent renders it on its loop, where its state lives.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Iterator

import uvicorn
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from starlette.requests import Request
from starlette.responses import Response

from alcor.api import health
from alcor.api.dispatch import Dispatcher
from alcor.cli import startup

OPTION = "--metrics-bind"


def host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def add_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        OPTION,
        type=host_port,
        default=None,
        metavar="HOST:PORT",
        help="serve /metrics (Prometheus), /healthz and /readyz on this address, apart from "
        "any API port (default: off)",
    )


def listening(args: argparse.Namespace) -> socket.socket | None:
    """The metrics socket, bound (None without --metrics-bind); ``startup.CannotStart``."""
    if args.metrics_bind is None:
        return None
    host, port = args.metrics_bind
    return startup.listening_socket(host, port, option=OPTION)


def process_registry() -> CollectorRegistry:
    """A registry of this process's own (never the library's global one: several servers in
    one test process must not collide), with its CPU, memory, descriptors and collections."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def application(
    registry: CollectorRegistry, readiness: health.Judge, *, in_thread: bool
) -> Dispatcher:
    rendering = Rendering(registry) if in_thread else None

    async def metrics(request: Request) -> Response:
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        body = await rendering.render(encode) if rendering is not None else encode(registry)
        return Response(body, media_type=content_type)

    routes = [*health.routes(readiness), ("GET", "/metrics", metrics)]
    return Dispatcher(routes, max_body_size=0)


class Rendering:
    """``/metrics`` rendered on a thread of its own, one rendering at a time: a scrape that comes
    while one is under way (a store that hangs holds up the resource count) waits for that one
    rather than starting another, so scrapes never take the threads the API's reads use."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="alcor-metrics")
        self._pending: dict[Callable[[CollectorRegistry], bytes], asyncio.Future[bytes]] = {}

    async def render(self, encode: Callable[[CollectorRegistry], bytes]) -> bytes:
        pending = self._pending.get(encode)
        if pending is None or pending.done():
            loop = asyncio.get_running_loop()
            pending = loop.run_in_executor(self._thread, encode, self._registry)
            self._pending[encode] = pending
        return await asyncio.shield(pending)


class _Quiet(uvicorn.Server):
    """A uvicorn server that leaves the signals to the process's own server or loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(
    sock: socket.socket | None,
    registry: CollectorRegistry | None,
    readiness: health.Judge,
    *,
    in_thread: bool,
) -> AsyncIterator[None]:
    """Serve the listener on ``sock`` for the block's duration (nothing without --metrics-bind:
    no socket, no registry)."""
    if sock is None or registry is None:
        yield
        return
    config = uvicorn.Config(
        application(registry, readiness, in_thread=in_thread),
        loop="none",
        http="httptools",
        lifespan="off",
        access_log=False,
        server_header=False,
        log_config=None,  # the process's logging stays as configured: uvicorn's loggers too
        log_level=None,
    )
    server = _Quiet(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield
    finally:
        server.should_exit = True
        await task
        sock.close()
