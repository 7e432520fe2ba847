"""``alcor server --role``: which of the controller's two faces a process serves.

``all`` (the default) serves the Neutron API on HTTP and the agents' gRPC southbound, as one
process always has. ``api`` serves only the Neutron API (as ``--southbound off``). ``southbound``
serves only the agents: no HTTP at all; it follows the change log other processes commit to
the store (woken at once: ``store/signals.py``) and writes what the southbound writes itself
(nodes registered by their agents, nodes' up and down, compaction).

Status (ACTIVE, the hosts' reports, the agents' liveness) takes one path whatever the mix of
processes (``StatusPath``; docs/architecture.md, "Roles"): a process serving the southbound
writes status rows (``southbound.reporting``); one serving the API reads them into a mirror
(``services.status_mirror``), and, serving both, reads its own board for the hosts it serves.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import uuid
from collections.abc import Callable, Iterator

from alcor.cli import startup
from alcor.services import status, status_mirror
from alcor.southbound import reporting, serving
from alcor.store.committing import SqlStore

ALL, API, SOUTHBOUND = "all", "api", "southbound"


def add_option(server: argparse.ArgumentParser) -> None:
    server.add_argument(
        "--role",
        choices=(ALL, API, SOUTHBOUND),
        default=ALL,
        help="all: the Neutron API and the agents' southbound (default); api: the Neutron API "
        "only (--southbound is not served); southbound: the agents' southbound only (no HTTP, "
        "--bind is not used), following what the API processes commit to the same --db; port "
        "status reaches the API processes through the store (docs/operations.md)",
    )


def serves_api(args: argparse.Namespace) -> bool:
    return bool(args.role != SOUTHBOUND)


def serves_southbound(args: argparse.Namespace) -> bool:
    """Whether this process serves the agents; a southbound process with nothing to serve on
    cannot start."""
    if args.role == API:
        return False
    if args.southbound == serving.OFF:
        if args.role == SOUTHBOUND:
            raise startup.CannotStart("--role southbound needs a --southbound address, not off")
        return False
    return True


@contextlib.contextmanager
def signalled() -> Iterator[asyncio.Event]:
    """An event set by the first SIGTERM or SIGINT, for a process with no HTTP server to wait
    on; taken before the southbound listens, so that a signal as soon as it does stops it well."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        yield stopping
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


class StatusPath:
    """How status goes from the process serving a host to every process serving the API."""

    def __init__(
        self,
        *,
        store: SqlStore,
        board: status.StatusBoard,
        serving: bool,
    ) -> None:
        writer = uuid.uuid4().hex  # names this process on the rows it writes
        self.store = store
        self.mirror = status_mirror.StatusMirror(excluding=writer if serving else "")
        self.view: status.StatusView = (
            status_mirror.Combined(board, self.mirror) if serving else self.mirror
        )
        self.reporter = None
        if serving:
            self.reporter = reporting.Reporter(board=board, store=store, writer=writer)
            self.reporter.on_written = self.mirror.own  # its own rows it need not read back

    def follow(self) -> Callable[[], None]:
        """Start the mirror following the status rows; returns the function that stops it."""
        return self.mirror.follow(self.store.read_now, self.store.status_wakeups)
