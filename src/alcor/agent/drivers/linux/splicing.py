"""Carrying ``vlans.Splice``s out: the programs loaded with ``bpf(2)`` and attached at tc
(``clsact``, direct action) in the splice's namespace, over netlink (pyroute2).

One thread of its own, as ``netlinking``'s: ``setns`` moves only the calling thread. A netlink
socket made in a namespace stays in it, so the thread enters the namespace, makes the socket,
and returns at once. A program is loaded per attachment (a file descriptor the filter takes a
reference of; closed here once attached). Attaching replaces the filter in place
(``replace``): a splice programmed again, or changed, never leaves the device unfiltered.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import struct
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pyroute2 import IPRoute

from alcor.agent.drivers.linux import kernel as k
from alcor.agent.drivers.linux import vlans

NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
_SYS_BPF = 321  # x86_64
_BPF_PROG_LOAD = 5
_SCHED_CLS = 3
_ATTR_SIZE = 128
_INGRESS = "ffff:fff2"  # clsact's ingress hook
_PRIORITY = 49152  # one filter per hook, always at the same priority and handle
_HANDLE = 1

Failure = tuple[vlans.Splice, str]


class Splicer:
    def __init__(self, *, netns_dir: str = NETNS_DIR) -> None:
        self._netns_dir = netns_dir
        self._thread: ThreadPoolExecutor | None = None
        self._libc = ctypes.CDLL(None, use_errno=True)

    async def run(self, wanted: list[vlans.Splice], gone: list[tuple[str, str]]) -> list[Failure]:
        """Program ``wanted``, and clear the devices of ``gone`` (namespace, trunk device:
        spliced no more; one that is gone itself is nothing to clear)."""
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alcor-vlans")
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, self._all, wanted, gone
        )

    def _all(self, wanted: list[vlans.Splice], gone: list[tuple[str, str]]) -> list[Failure]:
        failed: list[Failure] = []
        for ns, device in gone:
            try:
                with self._inside(ns) as ipr:
                    _clear(ipr, device)
            except Exception:  # the device or its namespace went: nothing to clear
                continue
        for splice in wanted:
            try:
                with self._inside(splice.ns) as ipr:
                    _program(ipr, splice)
            except Exception as error:  # reported as the subports' failure
                failed.append((splice, f"cannot splice VLANs onto {splice.trunk}: {error}"))
        return failed

    def _inside(self, ns: str) -> Any:
        """An IPRoute whose socket is in namespace ``ns`` (the host's: ``k.HOST``)."""
        if ns == k.HOST:
            return IPRoute()
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        target = os.open(os.path.join(self._netns_dir, ns), os.O_RDONLY | os.O_CLOEXEC)
        try:
            self._setns(target)
            try:
                return IPRoute()
            finally:
                self._setns(home)
        finally:
            os.close(target)
            os.close(home)

    def _setns(self, fd: int) -> None:
        if self._libc.setns(fd, CLONE_NEWNET) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))


def _index(ipr: Any, device: str) -> int:
    found = ipr.link_lookup(ifname=device)
    if not found:
        raise OSError(f"no device {device}")
    return int(found[0])


def _program(ipr: Any, splice: vlans.Splice) -> None:
    trunk = _index(ipr, splice.trunk)
    children = [(vlan, _index(ipr, device)) for vlan, device in splice.children]
    _attach(ipr, trunk, vlans.untag(children))
    for vlan, child in children:
        _attach(ipr, child, vlans.tag(vlan, trunk))


def _clear(ipr: Any, device: str) -> None:
    ipr.tc("del", "clsact", _index(ipr, device))


def _attach(ipr: Any, ifindex: int, code: bytes) -> None:
    with contextlib.suppress(Exception):  # it is there already
        ipr.tc("add", "clsact", ifindex)
    fd = _load(code)
    try:
        ipr.tc(
            "replace-filter",
            "bpf",
            ifindex,
            _HANDLE,
            fd=fd,
            name="alcor-vlans",
            parent=_INGRESS,
            prio=_PRIORITY,
            classid=1,
            direct_action=True,
        )
    finally:
        os.close(fd)


def _load(code: bytes) -> int:
    """The program loaded into the kernel: its file descriptor."""
    libc = ctypes.CDLL(None, use_errno=True)
    instructions = ctypes.create_string_buffer(code, len(code))
    license_ = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(4096)
    attr = struct.pack(
        "<IIQQIIQI",
        _SCHED_CLS,
        len(code) // 8,
        ctypes.addressof(instructions),
        ctypes.addressof(license_),
        1,  # log level: the verifier says why it refuses
        len(log),
        ctypes.addressof(log),
        0,
    ).ljust(_ATTR_SIZE, b"\0")
    buffer = ctypes.create_string_buffer(attr, _ATTR_SIZE)
    fd = int(libc.syscall(_SYS_BPF, _BPF_PROG_LOAD, buffer, _ATTR_SIZE))
    if fd < 0:
        code_ = ctypes.get_errno()
        raise OSError(code_, f"{os.strerror(code_)}: {log.value.decode(errors='replace')}")
    return fd
