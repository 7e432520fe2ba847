"""Carrying plans out: the one place the linux driver touches the kernel, behind ``Executor``.

``Processes`` runs each stage of a plan (``planning.stages``): the namespaces' ``ip`` batches
over netlink sockets opened inside them (``netlinking``, the requests from ``rtnetlink``), the
host's as ``ip -batch`` / ``bridge -batch`` processes, all of a stage side by side; every
nftables change as one ``nft -f -`` transaction. ``Processes(netlink=False)`` runs a process
per namespace instead (``ip -n NS -batch``), as does any namespace batch with a line
``rtnetlink`` does not know.

Why batches of iproute2 for the host (measured on this machine kind, see
``shared/dataplane-notes.md`` section 6): ``bridge -batch``/``ip -batch`` install 83,000-110,000
forwarding or neighbor entries per second, pyroute2 about 5,500 (18,000 with raw netlink
sockets), and iproute2 is the reference tool operators read: the lines a plan runs are the
commands they would type. With ``-force`` a batch goes on past a failing line and names it
(``Command failed -:N``), which is how a failure is pinned to the resource that line serves.
Why netlink for the namespaces: an endpoint's namespace takes a handful of lines, and a process
to carry them costs 2.5-5 ms, so 200 endpoints took 0.5-1 s of processes; the same requests on
a socket per namespace take ~0.2 s (``netlinking``), and each failing request is still pinned
to its line. ``netns add``/``netns del`` stay ``ip`` batches (a long ``netns add`` batch is
spread over a few processes: making namespaces scales with the cores). ``nft -f -`` rather
than the python3-nftables binding: the same libnftables (36,000-41,000 rules per second either
way), without a Debian package to graft into a virtual environment; one process per goal-state
message is noise beside that.

``InMemory`` is the fake: a dictionary of kernel objects that applies operations the way the
kernel would (what hangs on a removed device or namespace goes with it; a tap that does not
exist cannot be attached; a device cannot be made in a namespace that does not exist), for unit
tests of the driver without root.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections.abc import Sequence
from typing import Protocol

import msgspec

from alcor.agent.drivers.linux import kernel as k
from alcor.agent.drivers.linux import (
    layouts,
    names,
    netlinking,
    nft,
    observing,
    planning,
    rtnetlink,
    shaping,
    splicing,
    vlans,
)

log = logging.getLogger("alcor.agent.linux")

NETNS_DIR = "/run/netns"
PARALLEL = 8  # namespace batches running at once
NETNS_PROCESSES = min(4, os.cpu_count() or 1)  # processes a long ``netns add`` batch is spread over
NETNS_PER_PROCESS = 16  # ... each with at least this many lines
_GONE = re.compile(r"Cannot find (bridge )?device")
_DETACHING = re.compile(r"^(fdb del |link del )|nomaster$")
_FAILED_LINE = re.compile(r"Command failed (?:-|\S+):(\d+)")


class Failed(msgspec.Struct, frozen=True):
    owner: str  # the goal-state key the failing command served
    message: str


class Observation(msgspec.Struct, frozen=True):
    objects: list[k.Object]
    zones: dict[str, int]  # bridge -> conntrack zone, as the kernel's ruleset holds them


class Executor(Protocol):
    async def observe(self, host: layouts.HostSettings) -> Observation:
        """What the kernel holds of the driver's own."""
        ...

    async def execute(self, ops: list[planning.Op]) -> list[Failed]:
        """Carry out ``ops``; the commands that failed, by owner."""
        ...

    async def transact(self, old: nft.Ruleset | None, new: nft.Ruleset) -> str:
        """Move the ruleset from ``old`` (None: unknown, replace it) to ``new`` in one
        transaction; '' or why it failed (then nothing changed)."""
        ...

    async def splice(self, wanted: list[vlans.Splice], gone: list[tuple[str, str]]) -> list[Failed]:
        """Program the trunks' VLAN splices ``wanted``; clear the devices ``gone`` (namespace,
        device) of theirs; the splices that failed, by owner."""
        ...

    async def run(self, batches: list[planning.Batch]) -> list[Failed]:
        """Run ``batches`` one after the other (``shaping``'s); the lines that failed."""
        ...

    async def shaped(self) -> Shaped:
        """What the host's namespace holds of QoS (``shaping.observed``)."""
        ...


class Shaped(msgspec.Struct, frozen=True):
    """Devices with a root qdisc, devices with an ingress qdisc, IFB devices of the driver's."""

    rooted: set[str]
    ingress: set[str]
    ifbs: set[str]


class ToolMissing(Exception):
    """A command the driver needs is not installed."""


class Processes:
    """``netlink``: carry namespaces' ``ip`` batches out over netlink sockets opened in them
    (``netlinking``) rather than an ``ip -n NS -batch`` process each."""

    def __init__(self, *, parallel: int = PARALLEL, netlink: bool = True) -> None:
        self._slots = asyncio.Semaphore(parallel)
        self._netlink = netlinking.Netlink() if netlink else None
        self._splicer = splicing.Splicer()

    async def splice(self, wanted: list[vlans.Splice], gone: list[tuple[str, str]]) -> list[Failed]:
        failed = await self._splicer.run(wanted, gone)
        return [Failed(owner, why) for splice, why in failed for owner in splice.owners]

    async def _run(self, argv: Sequence[str], stdin: str = "") -> tuple[int, str, str]:
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError:
            raise ToolMissing(f"{argv[0]} is not installed") from None
        out, err = await process.communicate(stdin.encode())
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    async def _json(self, argv: Sequence[str], stdin: str = "") -> list[observing.Json]:
        code, out, err = await self._run(argv, stdin)
        if code != 0 and not out.strip():
            raise RuntimeError(f"{' '.join(argv)}: {err.strip()}")
        return observing.documents(out)

    # --- reading ---------------------------------------------------------------------------

    async def observe(self, host: layouts.HostSettings) -> Observation:
        links, fdb, neighbors, zones = await asyncio.gather(
            self._json(["ip", "-j", "-d", "link", "show"]),
            self._json(["bridge", "-j", "fdb", "show"]),
            self._json(["ip", "-j", "neigh", "show", "nud", "permanent"]),
            self._zones(),
        )
        found = observing.host_links(_first(links), endpoint_mode=host.endpoint_mode)
        found += observing.forwarding(_first(fdb)) + observing.neighbors(_first(neighbors))
        owned = [name for name in _namespaces() if names.owns_netns(host.prefix, name)]
        routers = host.prefix + names.ROUTER_NETNS
        for contents in await asyncio.gather(
            *(self._namespace(ns, router=ns.startswith(routers)) for ns in owned)
        ):
            found += contents
        return Observation(objects=found, zones=zones)

    async def _namespace(self, ns: str, *, router: bool) -> list[k.Object]:
        """One namespace: two processes (three for a router's: its forwarding sysctls). One
        that cannot be read is left out, so it is made again (and fails, saying why)."""
        async with self._slots:
            try:
                v4 = await self._json(
                    ["ip", "-n", ns, "-j", "-d", "-batch", "-"],
                    "link show\naddr show\nroute show table main\n",
                )
                v6 = await self._json(
                    ["ip", "-6", "-n", ns, "-j", "route", "show", "table", "main"]
                )
            except RuntimeError as error:
                log.warning("namespace %s cannot be read: %s", ns, error)
                return []
            values = ""
            if router:
                _, values, _ = await self._run([*_in(ns), "sysctl", *layouts.FORWARDING])
        links, addresses, routes = [*v4, [], [], []][:3]
        found = [k.Netns(ns), *observing.namespace(ns, links, addresses, routes + _first(v6))]
        return found + observing.sysctls(ns, values)

    async def _zones(self) -> dict[str, int]:
        code, out, _ = await self._run(["nft", "-j", "list", "map", "inet", nft.TABLE, nft.ZONES])
        return observing.zones(json.loads(out)) if code == 0 and out.strip() else {}

    # --- writing ---------------------------------------------------------------------------

    async def execute(self, ops: list[planning.Op]) -> list[Failed]:
        failed: list[Failed] = []
        for stage in planning.stages(ops):
            inside, processes = self._split(stage)
            work = [self._batch(batch) for batch in processes]
            if inside:
                work.append(self._requests(inside))
            for found in await asyncio.gather(*work):
                failed += found
        return failed

    def _split(self, stage: planning.Stage) -> tuple[list[netlinking.Batch], list[planning.Batch]]:
        """The stage's namespace batches that go over netlink, and the processes to run."""
        inside: list[netlinking.Batch] = []
        processes = []
        for batch in stage:
            requests = None
            if self._netlink is not None and batch.tool == "ip" and batch.ns:
                requests = rtnetlink.translate(batch.lines)
            if requests is None:
                processes += _spread(batch)
            else:
                inside.append((batch.ns, requests))
        return inside, processes

    async def _requests(self, batches: list[netlinking.Batch]) -> list[Failed]:
        assert self._netlink is not None
        found = [
            Failed(line.owner, f"{why} ({line.text})")
            for line, why in await self._netlink.run(batches)
        ]
        for failure in found:
            log.warning("%s: %s", failure.owner or "(left over)", failure.message)
        return found

    async def _batch(self, batch: planning.Batch) -> list[Failed]:
        lines = batch.lines
        if batch.tool == "sysctl":
            argv = [*_in(batch.ns), "sysctl", "-qw", *(line.text for line in lines)]
            stdin = ""
        elif batch.tool == "nft":  # one transaction per batch
            argv = [*_in(batch.ns), "nft", "-f", "-"]
            stdin = "".join(line.text + "\n" for line in lines)
        else:
            where = ["-n", batch.ns] if batch.ns and batch.tool == "ip" else []
            prefix = _in(batch.ns) if batch.ns and batch.tool != "ip" else []
            argv = [*prefix, batch.tool, *where, "-force", "-batch", "-"]
            stdin = "".join(line.text + "\n" for line in lines)
        async with self._slots:
            code, _, err = await self._run(argv, stdin)
        if code == 0:
            return []
        found = _failed_lines(err, lines)
        if found is None:  # the whole process failed (a namespace that is not there, ...)
            message = err.strip() or f"{argv[0]} exited with {code}"
            found = [Failed(line.owner, message) for line in lines]
        for failure in found:
            log.warning("%s: %s", failure.owner or "(left over)", failure.message)
        return found

    async def transact(self, old: nft.Ruleset | None, new: nft.Ruleset) -> str:
        text = nft.full(new) if old is None else nft.delta(old, new)
        if not text:
            return ""
        code, _, err = await self._run(["nft", "-f", "-"], text)
        return "" if code == 0 else (err.strip() or f"nft exited with {code}")

    async def run(self, batches: list[planning.Batch]) -> list[Failed]:
        failed: list[Failed] = []
        for batch in batches:
            failed += await self._batch(batch)
        return failed

    async def shaped(self) -> Shaped:
        qdiscs = _first(await self._json(["tc", "-j", "qdisc", "show"]))
        links = _first(await self._json(["ip", "-j", "link", "show", "type", "ifb"]))
        return Shaped(
            rooted={q["dev"] for q in qdiscs if q.get("root") and q.get("kind") == "tbf"},
            ingress={q["dev"] for q in qdiscs if q.get("kind") == "ingress"},
            ifbs={str(link["ifname"]) for link in links if shaping.owns(str(link["ifname"]))},
        )


def _spread(batch: planning.Batch) -> list[planning.Batch]:
    """A long batch of ``netns add`` lines as a few run side by side: making a namespace is
    the kernel's work and scales with the cores (200 on 2 cores: 0.12 s in one process, 0.07 s
    in two); the lines do not depend on each other."""
    lines = batch.lines
    parts = min(NETNS_PROCESSES, len(lines) // NETNS_PER_PROCESS)
    if batch.tool != "ip" or batch.ns or parts < 2:
        return [batch]
    if not all(line.text.startswith("netns add ") for line in lines):
        return [batch]
    return [
        planning.Batch(tool=batch.tool, ns=batch.ns, lines=lines[start::parts])
        for start in range(parts)
    ]


def _first(documents: list[observing.Json]) -> list[observing.Json]:
    return list(documents[0]) if documents else []


def _namespaces() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def _in(ns: str) -> list[str]:
    return ["ip", "netns", "exec", ns] if ns else []


def _failed_lines(stderr: str, lines: list[planning.Line]) -> list[Failed] | None:
    """``-force`` batches print the error, then ``Command failed -:N`` (N counts from 1); None
    when no line failed (the process itself did). A detach or a removal from a device that is
    gone is done, not failed: whoever made the device (Nova, alcor-cni) deleted it first."""
    found = []
    message: list[str] = []
    matched_any = False
    for text in stderr.splitlines():
        matched = _FAILED_LINE.search(text)
        if matched is None:
            message.append(text.strip())
            continue
        matched_any = True
        number = int(matched.group(1)) - 1
        if 0 <= number < len(lines):
            why = "; ".join(part for part in message if part) or "failed"
            if not (_GONE.search(why) and _DETACHING.search(lines[number].text)):
                found.append(Failed(lines[number].owner, f"{why} ({lines[number].text})"))
        message = []
    return found if matched_any else None


# --- the fake ------------------------------------------------------------------------------------


class InMemory:
    """A kernel as a dictionary of objects, for tests. ``devices`` are the host devices that
    exist on their own (Nova's taps); ``fail`` makes every operation of an owner fail."""

    def __init__(self, *, devices: Sequence[str] = ()) -> None:
        self.objects: k.Objects = {}
        self.devices = set(devices)
        self.rules: nft.Ruleset | None = None
        self.transactions: list[str] = []
        self.fail: dict[str, str] = {}  # owner -> message
        self.fail_nft = ""
        self.executed: list[list[planning.Op]] = []
        self.splices: dict[tuple[str, str], vlans.Splice] = {}  # (namespace, trunk device)
        self.ran: list[planning.Batch] = []  # every batch ``run`` was given, in order
        self.spliced: list[list[vlans.Splice]] = []  # what each call programmed

    async def splice(self, wanted: list[vlans.Splice], gone: list[tuple[str, str]]) -> list[Failed]:
        self.spliced.append(list(wanted))
        for key in gone:
            self.splices.pop(key, None)
        failed = []
        for splice in wanted:
            why = next((self.fail[owner] for owner in splice.owners if owner in self.fail), "")
            if why:
                failed += [Failed(owner, why) for owner in splice.owners]
            else:
                self.splices[(splice.ns, splice.trunk)] = splice
        return failed

    async def run(self, batches: list[planning.Batch]) -> list[Failed]:
        self.ran += batches
        return [
            Failed(line.owner, self.fail[line.owner])
            for batch in batches
            for line in batch.lines
            if line.owner in self.fail
        ]

    async def shaped(self) -> Shaped:
        return Shaped(rooted=set(), ingress=set(), ifbs=set())

    async def observe(self, host: layouts.HostSettings) -> Observation:
        zones = {}
        if self.rules is not None:
            inet = self.rules.tables[1]
            zones = {
                name.strip('"'): int(zone)
                for name, _, zone in (
                    element.partition(" : ") for element in inet.containers[nft.ZONES].elements
                )
            }
        mine = [obj for obj in self.objects.values() if _owned(obj, host)]
        return Observation(objects=mine, zones=zones)

    async def execute(self, ops: list[planning.Op]) -> list[Failed]:
        self.executed.append(ops)
        failed = []
        remade = {k.identity(op.obj) for op in ops if op.action == planning.ADD}
        for op in sorted(ops, key=lambda op: -1 if _remakes(op, remade) else _phase(op)):
            why = self.fail.get(op.owner) or self._apply(op)
            if why:
                failed.append(Failed(op.owner, why))
        return failed

    def _apply(self, op: planning.Op) -> str:
        obj = op.obj
        ident = k.identity(obj)
        where = k.namespace(obj)
        if op.action == planning.REMOVE:
            self._remove(obj)
            return ""
        if where and ("netns", where) not in self.objects:
            return f"Cannot open network namespace {where!r}"
        device = k.device(obj)
        if device and ("link", where, device) not in self.objects:
            return f"Cannot find device {device!r}"
        if self._missing(obj):
            return f"Cannot find device {k.identity(obj)[-1]!r}"
        self.objects[ident] = obj
        return ""

    def _missing(self, obj: k.Object) -> bool:
        """A device that exists on its own (a tap) is not there to be attached."""
        return (
            isinstance(obj, k.Link)
            and obj.kind == ""
            and obj.ns == k.HOST
            and k.identity(obj) not in self.objects
            and obj.name not in self.devices
        )

    def _remove(self, obj: k.Object) -> None:
        ident = k.identity(obj)
        if isinstance(obj, k.Netns):
            self.objects = {
                i: o for i, o in self.objects.items() if k.namespace(o) != obj.name or i == ident
            }
        if isinstance(obj, k.Link) and obj.kind in planning.OWNED_KINDS:
            gone = {(obj.ns, obj.name)} | ({(obj.peer_ns, obj.peer)} if obj.peer else set())
            self.objects = {
                i: o
                for i, o in self.objects.items()
                if (k.namespace(o), k.device(o)) not in gone
                and not (isinstance(o, k.Link) and (o.ns, o.name) in gone)
            }
        self.objects.pop(ident, None)

    async def transact(self, old: nft.Ruleset | None, new: nft.Ruleset) -> str:
        text = nft.full(new) if old is None else nft.delta(old, new)
        if self.fail_nft:
            return self.fail_nft
        self.transactions.append(text)
        self.rules = new
        return ""


def _owned(obj: k.Object, host: layouts.HostSettings) -> bool:
    """What ``Processes.observe`` would read of an object (``observing``'s rules)."""
    if isinstance(obj, k.Netns):
        return names.owns_netns(host.prefix, obj.name)
    if isinstance(obj, k.Fdb):
        return names.pins_macs(obj.dev)
    if isinstance(obj, k.Neigh):
        return obj.ns == k.HOST and obj.dev.startswith(names.VXLAN)
    if isinstance(obj, k.Nftables):  # tables are loaded whole, never read back
        return False
    where = k.namespace(obj)
    if where:
        return names.owns_netns(host.prefix, where)
    if not isinstance(obj, k.Link):
        return False
    if names.owns_device(obj.name):
        return True
    if not obj.name.startswith(names.TAP):
        return False
    if host.endpoint_mode == "netns" and obj.kind == "veth":
        return True
    return obj.master.startswith(names.BRIDGE)  # attached: Nova's tap, or a pod's veth


def _remakes(op: planning.Op, added: set[k.Identity]) -> bool:
    return op.action == planning.REMOVE and k.identity(op.obj) in added


def _phase(op: planning.Op) -> int:
    """The order the kernel must see operations in (``planning.stages`` in short)."""
    obj = op.obj
    if op.action == planning.REMOVE:
        return 8 if isinstance(obj, k.Netns) else 7 if isinstance(obj, k.Link) else 6
    if isinstance(obj, k.Netns):
        return 0
    if isinstance(obj, k.Link):
        return {"bridge": 1, "vxlan": 2, "veth": 3}.get(obj.kind, 4)
    return 5
