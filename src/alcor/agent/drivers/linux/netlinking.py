"""Carrying namespaces' batches out over netlink, without a process per namespace.

``Netlink.run`` takes the requests of many namespaces (``rtnetlink``: what their ``ip -n NS
-batch`` lines would send) and carries them out in one thread of its own: per namespace it
enters the namespace (``setns``: Python 3.11 has no ``os.setns``, so through libc), opens a
NETLINK_ROUTE socket and looks up the devices the requests name (a socket stays in the
namespace it was made in; so do the lookups), returns to the agent's namespace, then sends the
requests in chunks, the last of each acknowledged. The kernel carries out the requests of a
send one after the other and goes on past a failing one, as ``ip -force -batch`` does; a
request that fails is answered with the error (and the kernel's own words: extended
acknowledgements), which is pinned to its line, so to the resource it serves.

Why a thread: ``setns`` moves only the calling thread, and the agent's event loop must never
find itself in another namespace. One is enough: the work is the kernel's (under its rtnl
lock) and pyroute2's encoding (~0.1 ms a request, under the GIL); two threads sharing the
namespaces measured the same. Measured on this machine kind (2 cores, quiet; the driver alone
in a host namespace, as in ``docs/benchmarks.md``): 200 endpoint namespaces, 1,200 requests,
in 0.17-0.18 s, against 0.52-0.58 s for 200 ``ip -n NS -batch`` processes.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from alcor.agent.drivers.linux import planning, rtnetlink

NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
SOL_NETLINK = 270
NETLINK_EXT_ACK = 11
CHUNK = 64  # requests per send: their answers, all failed, fit the socket's receive buffer
ANSWER_TIMEOUT = 10.0  # seconds to wait for the kernel's acknowledgements of a chunk

Batch = tuple[str, list[rtnetlink.Request]]  # namespace, its requests in order
Failure = tuple[planning.Line, str]  # the line whose request failed, and why


class Lost(RuntimeError):
    """The thread could not return to the agent's namespace (it is not used again)."""


class Netlink:
    def __init__(self, *, netns_dir: str = NETNS_DIR) -> None:
        self._netns_dir = netns_dir
        self._thread: ThreadPoolExecutor | None = None
        self._libc = ctypes.CDLL(None, use_errno=True)

    async def run(self, batches: list[Batch]) -> list[Failure]:
        """Carry out each namespace's requests; those that failed, with why."""
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alcor-netns")
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._thread, self._all, batches
            )
        except Lost:
            self._thread.shutdown(wait=False)
            self._thread = None
            raise

    # --- in the thread -----------------------------------------------------------------------

    def _all(self, batches: list[Batch]) -> list[Failure]:
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        replies = rtnetlink.Replies()
        failed: list[Failure] = []
        try:
            for ns, requests in batches:
                failed += self._namespace(ns, requests, home=home, replies=replies)
        finally:
            os.close(home)
        return failed

    def _namespace(
        self,
        ns: str,
        requests: list[rtnetlink.Request],
        *,
        home: int,
        replies: rtnetlink.Replies,
    ) -> list[Failure]:
        try:
            sock, indexes = self._open_inside(ns, rtnetlink.devices(requests), home=home)
        except OSError as error:
            why = f'Cannot open network namespace "{ns}": {error.strerror or error}'
            return [(request.line, why) for request in requests]
        failed: list[Failure] = []
        sendable = []
        for request in requests:
            why = rtnetlink.missing(request, indexes)
            if why:
                failed.append((request.line, why))
            else:
                sendable.append(request)
        with sock:
            for chunk in _chunks(sendable):
                failed += _send(sock, chunk, indexes=indexes, replies=replies)
        return failed

    def _open_inside(
        self, ns: str, devices: set[str], *, home: int
    ) -> tuple[socket.socket, dict[str, int]]:
        """A NETLINK_ROUTE socket in namespace ``ns`` and the indexes of ``devices`` there (those
        that exist)."""
        target = os.open(os.path.join(self._netns_dir, ns), os.O_RDONLY | os.O_CLOEXEC)
        try:
            self._setns(target)
        finally:
            os.close(target)
        try:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
            indexes = {}
            for name in devices:
                try:
                    indexes[name] = socket.if_nametoindex(name)
                except OSError:
                    continue  # not there: its requests fail with ip's message
        finally:
            try:
                self._setns(home)
            except OSError as error:
                raise Lost(f"cannot return to the agent's network namespace: {error}") from error
        try:
            sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
            sock.bind((0, 0))
            sock.settimeout(ANSWER_TIMEOUT)
        except OSError:
            sock.close()
            raise
        return sock, indexes

    def _setns(self, fd: int) -> None:
        if self._libc.setns(fd, CLONE_NEWNET) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))


def _chunks(requests: list[rtnetlink.Request]) -> Iterator[list[tuple[int, rtnetlink.Request]]]:
    numbered = list(enumerate(requests, start=1))  # sequence numbers: 0 is the kernel's own
    for start in range(0, len(numbered), CHUNK):
        yield numbered[start : start + CHUNK]


def _send(
    sock: socket.socket,
    chunk: list[tuple[int, rtnetlink.Request]],
    *,
    indexes: dict[str, int],
    replies: rtnetlink.Replies,
) -> list[Failure]:
    """Send a chunk of requests at once, the last one acknowledged: the kernel answers the
    others only when they fail, and carries them out in order, so that acknowledgement (or
    the last one's error) ends the chunk."""
    last = chunk[-1][0]
    lines = {sequence: request.line for sequence, request in chunk}
    failed: list[Failure] = []
    done = False
    try:
        sock.send(
            b"".join(
                rtnetlink.encode(request, sequence=sequence, indexes=indexes, ack=sequence == last)
                for sequence, request in chunk
            )
        )
        while not done:
            for sequence, why in replies.read(sock.recv(65536)):
                line = lines.pop(sequence, None)
                if line is not None and why:
                    failed.append((line, why))
                done = done or sequence == last
    except OSError as error:  # a timeout too: the rest of the chunk is not known to be done
        why = f"netlink: {error.strerror or error}"
        failed += [(line, why) for line in lines.values()]
    return failed
