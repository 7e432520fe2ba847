"""Running agents in one process until told to stop: ``alcor agent`` runs one, ``alcor sim`` runs
N over shared channels (hosts ``P0`` .. ``P{N-1}``, underlay addresses counted up from a base).

While they run it prints progress lines (``alcor sim``) and keeps a status file: a JSON document,
replaced atomically every ``status_interval`` and once more on exit, that tests and benchmarks
read from outside the process::

    {"updated": <unix time>,
     "totals": {"hosts", "connected", "min_revision", "max_revision", "acks", "heartbeats",
                "sessions", "failed"},
     "hosts": {"<host id>": {"connected", "controller", "redirects", "revision", "store_id",
                             "sessions", "goal_states", "snapshots", "acks", "heartbeats",
                             "last_error", "failed": [{kind, id, message}], "counts": {...},
                             "model": {...}}}}

``model`` (what the driver programmed: ``RecordingDriver.model``) is written for the hosts whose
id matches the ``detail`` glob: every host of ``alcor agent``, none of ``alcor sim`` unless asked.

SIGTERM and SIGINT stop every agent (their streams are cancelled, the channels closed) and end the
run normally; a refusal of any host ends it with ``Refused``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import ipaddress
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from alcor.agent import admin_socket, drivers, stream
from alcor.v1 import keys


class CannotListen(Exception):
    """The admin socket cannot be made (its directory, an address in use)."""


class Reporting(msgspec.Struct, frozen=True, kw_only=True):
    status_file: Path | None = None
    status_interval: float = 1.0
    detail: str = "*"  # hosts whose model the status file holds (a glob; "" for none)
    progress_interval: float = 0.0  # 0: no progress lines
    admin_socket: str = ""  # the agent's admin endpoint (``agent.admin_socket``); "": none


def sim_hosts(prefix: str, count: int, underlay_base: str) -> list[tuple[str, str]]:
    """(host id, underlay address) of ``alcor sim``'s hosts: ``<prefix><i>`` at base + 1 + i."""
    base = ipaddress.ip_address(underlay_base)
    try:
        return [(f"{prefix}{i}", str(base + 1 + i)) for i in range(count)]
    except ipaddress.AddressValueError:
        raise ValueError(f"{count} hosts do not fit above {underlay_base}") from None


def host_status(agent: stream.Agent, *, detail: bool) -> dict[str, Any]:
    status = agent.status
    found: dict[str, Any] = {
        "connected": status.connected,
        "controller": status.controller,
        "redirects": status.redirects,
        "revision": agent.state.revision,
        "store_id": agent.state.store_id,
        "sessions": status.sessions,
        "goal_states": status.goal_states,
        "snapshots": status.snapshots,
        "acks": status.acks,
        "heartbeats": status.heartbeats,
        "last_error": status.last_error,
        "failed": [
            {"kind": keys.KIND_NAMES[s.kind], "id": s.id, "message": s.message}
            for s in agent.failures.statuses()
        ],
        "counts": agent.driver.counts(),
    }
    if detail and isinstance(agent.driver, drivers.Inspectable):
        found["model"] = agent.driver.model()
    return found


def totals(agents: Sequence[stream.Agent]) -> dict[str, int]:
    revisions = [agent.state.revision for agent in agents] or [0]
    return {
        "hosts": len(agents),
        "connected": sum(agent.status.connected for agent in agents),
        "min_revision": min(revisions),
        "max_revision": max(revisions),
        "acks": sum(agent.status.acks for agent in agents),
        "heartbeats": sum(agent.status.heartbeats for agent in agents),
        "sessions": sum(agent.status.sessions for agent in agents),
        "failed": sum(len(agent.failures) for agent in agents),
    }


def status_document(agents: Sequence[stream.Agent], *, detail: str) -> dict[str, Any]:
    return {
        "updated": time.time(),
        "totals": totals(agents),
        "hosts": {
            agent.settings.host_id: host_status(
                agent,
                detail=bool(detail) and fnmatch.fnmatchcase(agent.settings.host_id, detail),
            )
            for agent in agents
        },
    }


def write_status(path: Path, agents: Sequence[stream.Agent], *, detail: str) -> None:
    """Replace the file at once: a reader never sees half a document."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(msgspec.json.encode(status_document(agents, detail=detail)))
    os.replace(temporary, path)


def progress_line(agents: Sequence[stream.Agent]) -> str:
    t = totals(agents)
    return (
        f"{t['connected']}/{t['hosts']} hosts connected, revisions {t['min_revision']}.."
        f"{t['max_revision']}, {t['acks']} acks, {t['heartbeats']} heartbeats, "
        f"{t['sessions'] - t['hosts']} reconnects, {t['failed']} failed resources"
    )


async def _every(interval: float, work: Callable[[], object]) -> None:
    while True:
        await asyncio.sleep(interval)
        work()


def _watch_children_by_pidfd(loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    """Python 3.11 waits for each child process (the linux driver's ``ip``, ``bridge``, ``nft``)
    in a thread started for it (``ThreadedChildWatcher``); a pidfd watcher waits in the event
    loop instead (200 ``ip`` processes: ~0.1 s less). 3.12 does this itself and deprecates the
    watchers, so only on 3.11, in the main thread, where pidfd_open works (Linux 5.3); returns
    what puts the previous watcher back."""
    if (
        sys.version_info >= (3, 12)
        or not hasattr(os, "pidfd_open")
        or threading.current_thread() is not threading.main_thread()
    ):
        return lambda: None
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:  # a kernel without pidfds, or a sandbox that forbids them
        return lambda: None
    previous = asyncio.get_child_watcher()
    watcher = asyncio.PidfdChildWatcher()
    watcher.attach_loop(loop)
    asyncio.set_child_watcher(watcher)
    return lambda: asyncio.set_child_watcher(previous)  # closes the pidfd watcher


async def run(
    agents: Sequence[stream.Agent],
    *,
    controllers: Sequence[stream.Controllers],
    reporting: Reporting,
) -> None:
    """Run the agents (over ``controllers``: one shared, or one per host with TLS) until
    SIGTERM/SIGINT; raise ``stream.Refused`` when one is refused."""
    admin = None
    if reporting.admin_socket and agents:
        try:
            admin = await admin_socket.serve(agents[0], reporting.admin_socket)
        except OSError as error:
            raise CannotListen(f"--admin-socket {reporting.admin_socket}: {error}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    restore = _watch_children_by_pidfd(loop)
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    running = {asyncio.create_task(agent.run()) for agent in agents}
    side = []
    path = reporting.status_file
    if path is not None:
        side.append(
            asyncio.create_task(
                _every(
                    reporting.status_interval,
                    lambda: write_status(path, agents, detail=reporting.detail),
                )
            )
        )
    if reporting.progress_interval > 0:
        side.append(
            asyncio.create_task(
                _every(
                    reporting.progress_interval,
                    lambda: print(progress_line(agents), file=sys.stdout, flush=True),
                )
            )
        )
    stopping = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({*running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        for task in done - {stopping}:
            task.result()  # an agent ends only by raising (Refused)
    finally:
        for task in [*running, *side, stopping]:
            task.cancel()
        await asyncio.gather(*running, *side, stopping, return_exceptions=True)
        for serving in controllers:
            await serving.close()
        if admin is not None:
            admin.close()
            with contextlib.suppress(OSError):
                os.unlink(reporting.admin_socket)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        restore()
        if path is not None:
            with contextlib.suppress(OSError):
                write_status(path, agents, detail=reporting.detail)
