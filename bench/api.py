"""Port throughput of the Neutron API over real HTTP: ``make bench-api``.

Starts its own ``alcor server`` (a child process on a free loopback port, its SQLite file on disk
in a fresh temporary directory, ``--sync full`` unless told otherwise), creates one network with
a /16 subnet, then measures, each phase on the same network:

    serial      one keep-alive client creating ports one POST at a time: once with httpx (the
                client the reference Neutron was measured with) and once with the standard
                library's http.client, whose own cost per request is a third of httpx's here
    concurrent  C clients (threads, each with its own keep-alive client) creating ports at once
    bulk        POSTs of B ports each ({"ports": [...]}), one after the other
    list        GET /v2.0/ports?network_id=... of every port created (ports listed per second)
    delete      one keep-alive client deleting ports one DELETE at a time

It prints a table with the reference Neutron's figures (measured on this machine, see
/work/shared/neutron-reference/bench.txt) and the targets next to ours, the exact command and the
machine. ``--json`` prints the same as one JSON object instead. ``--endpoint`` benchmarks a server
that is already running (any Neutron API) instead of starting one.

Serial, concurrent and delete are timed by the wall clock, client included. Bulk and list time
each HTTP exchange from sending the request to the last byte of the response; the client's JSON
encoding of the 1,000-port bodies and its parsing of the multi-megabyte answers are left out (on
this class of machine, parsing a 16,000-port listing costs the client as long as the server takes
to produce it).

    .venv/bin/python bench/api.py                      # defaults: well under a minute
    .venv/bin/python bench/api.py --sync normal        # SQLite synchronous=NORMAL, to compare
    .venv/bin/python bench/api.py --serial 500 --json
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shlex
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.servers import ServerProcess  # noqa: E402

# The reference Neutron on this machine (median of 3 runs of 500 ports, bench.txt); concurrent
# creation was not measured there.
NEUTRON: dict[str, float | None] = {
    "serial": 13.652,
    "serial-lean": 13.652,
    "concurrent": None,
    "bulk": 13.66,
    "list": 607.617,
    "delete": 17.916,
}
TARGETS: dict[str, float | None] = {
    "serial": 500.0,
    "serial-lean": 500.0,
    "concurrent": None,
    "bulk": 10_000.0,
    "list": 20_000.0,
    "delete": None,
}
TIMEOUT = 120.0


@dataclass
class Phase:
    """One measured phase: how many ports, how long, and per-request latencies (seconds)."""

    name: str
    label: str
    ports: int
    seconds: float
    requests: int
    latencies: list[float] = field(default_factory=list, repr=False)

    @property
    def per_second(self) -> float:
        return self.ports / self.seconds if self.seconds > 0 else float("inf")

    def latency_ms(self, quantile: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, round(quantile * (len(ordered) - 1)))
        return ordered[index] * 1000

    def summary(self) -> dict[str, Any]:
        reference, target = NEUTRON[self.name], TARGETS[self.name]
        return {
            "phase": self.name,
            "label": self.label,
            "ports": self.ports,
            "requests": self.requests,
            "seconds": round(self.seconds, 4),
            "ports_per_s": round(self.per_second, 1),
            "p50_ms": _rounded(self.latency_ms(0.50)),
            "p99_ms": _rounded(self.latency_ms(0.99)),
            "neutron_ports_per_s": reference,
            "vs_neutron": None if reference is None else round(self.per_second / reference, 1),
            "target_ports_per_s": target,
            "target_met": None if target is None else self.per_second >= target,
        }


def _rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


class Api:
    """A keep-alive client of the Neutron API that fails loudly on any unexpected status: httpx,
    or with ``lean`` the standard library's http.client."""

    def __init__(self, base_url: str, *, lean: bool = False) -> None:
        self.client = httpx.Client(base_url=base_url + "/v2.0", timeout=TIMEOUT)
        address = urlsplit(base_url)
        self.lean = (
            http.client.HTTPConnection(address.hostname or "", address.port, timeout=TIMEOUT)
            if lean
            else None
        )

    def exchange(
        self, method: str, path: str, content: bytes | None = None, expect: int = 200
    ) -> tuple[bytes, float]:
        """The response body, read in full, and the seconds from sending to the last byte."""
        headers = {"Content-Type": "application/json"} if content is not None else {}
        started = time.perf_counter()
        if self.lean is not None:
            self.lean.request(method, "/v2.0" + path, body=content, headers=headers)
            answer = self.lean.getresponse()
            body, status = answer.read(), answer.status
        else:
            response = self.client.request(method, path, content=content, headers=headers)
            body, status = response.content, response.status_code
        elapsed = time.perf_counter() - started
        if status != expect:
            raise RuntimeError(f"{method} {path} -> {status} {body[:500]!r}")
        return body, elapsed

    def call(self, method: str, path: str, body: object = None, expect: int = 200) -> Any:
        content = None if body is None else msgspec.json.encode(body)
        answer, _ = self.exchange(method, path, content, expect)
        return msgspec.json.decode(answer) if answer else None

    def close(self) -> None:
        self.client.close()
        if self.lean is not None:
            self.lean.close()


def create_port(api: Api, network_id: str, name: str) -> str:
    port = api.call("POST", "/ports", {"port": {"network_id": network_id, "name": name}}, 201)
    return str(port["port"]["id"])


def serial_create(
    api: Api, network_id: str, count: int, *, name: str = "serial", label: str = "httpx"
) -> tuple[Phase, list[str]]:
    ids: list[str] = []
    latencies: list[float] = []
    started = time.perf_counter()
    for i in range(count):
        sent = time.perf_counter()
        ids.append(create_port(api, network_id, f"s{i}"))
        latencies.append(time.perf_counter() - sent)
    seconds = time.perf_counter() - started
    phase = Phase(name, f"serial create (1 client, {label})", count, seconds, count, latencies)
    return phase, ids


def concurrent_create(
    url: str, network_id: str, count: int, clients: int
) -> tuple[Phase, list[str]]:
    """``clients`` threads, each with its own keep-alive connection, share ``count`` creates."""
    shares = [count // clients + (1 if i < count % clients else 0) for i in range(clients)]
    apis = [Api(url) for _ in range(clients)]
    for api in apis:  # open every connection before the clock starts
        api.call("GET", "/networks?limit=1")
    latencies: list[list[float]] = [[] for _ in range(clients)]
    ids: list[list[str]] = [[] for _ in range(clients)]
    failures: list[BaseException] = []
    start = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        api, mine, created = apis[index], latencies[index], ids[index]
        start.wait()
        try:
            for i in range(shares[index]):
                sent = time.perf_counter()
                created.append(create_port(api, network_id, f"c{index}-{i}"))
                mine.append(time.perf_counter() - sent)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    for api in apis:
        api.close()
    if failures:
        raise RuntimeError(f"{len(failures)} client(s) failed, first: {failures[0]}")
    label = f"concurrent create ({clients} clients)"
    merged = [latency for per_client in latencies for latency in per_client]
    phase = Phase("concurrent", label, count, seconds, count, merged)
    return phase, [port_id for per_client in ids for port_id in per_client]


def bulk_create(api: Api, network_id: str, count: int, size: int) -> tuple[Phase, list[str]]:
    latencies: list[float] = []
    ids: list[str] = []
    for first in range(0, count, size):
        names = [f"b{i}" for i in range(first, min(count, first + size))]
        body = {"ports": [{"network_id": network_id, "name": name} for name in names]}
        answer, elapsed = api.exchange("POST", "/ports", msgspec.json.encode(body), 201)
        latencies.append(elapsed)
        created = msgspec.json.decode(answer)["ports"]
        if len(created) != len(names):
            raise RuntimeError(f"bulk POST answered {len(created)} of {len(names)} ports")
        ids.extend(port["id"] for port in created)
    label = f"bulk create ({size}/POST)"
    phase = Phase("bulk", label, count, sum(latencies), len(latencies), latencies)
    return phase, ids


def list_ports(api: Api, network_id: str, expected: int, repeat: int) -> Phase:
    """The median of ``repeat`` full listings of the network's ports."""
    runs: list[float] = []
    for _ in range(repeat):
        answer, elapsed = api.exchange("GET", f"/ports?network_id={network_id}")
        runs.append(elapsed)
        listed = msgspec.json.decode(answer)["ports"]
        if len(listed) != expected:
            raise RuntimeError(f"listed {len(listed)} ports, expected {expected}")
    label = f"list ({expected} ports/GET)"
    return Phase("list", label, expected, statistics.median(runs), 1, runs)


def delete_ports(api: Api, ids: Sequence[str]) -> Phase:
    latencies: list[float] = []
    started = time.perf_counter()
    for port_id in ids:
        sent = time.perf_counter()
        api.call("DELETE", f"/ports/{port_id}", expect=204)
        latencies.append(time.perf_counter() - sent)
    seconds = time.perf_counter() - started
    return Phase("delete", "delete (1 client)", len(ids), seconds, len(ids), latencies)


def machine() -> dict[str, Any]:
    model = "unknown"
    with Path("/proc/cpuinfo").open() as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "kernel": platform.release(),
    }


def filesystem_of(path: Path) -> str:
    """The type of the filesystem holding ``path`` (tmpfs would make fsync free)."""
    best, kind = "", "unknown"
    with Path("/proc/mounts").open() as mounts:
        for line in mounts:
            parts = line.split()
            mount_point, fs_type = parts[1], parts[2]
            inside = str(path) == mount_point or str(path).startswith(mount_point.rstrip("/") + "/")
            if inside and len(mount_point) > len(best):
                best, kind = mount_point, fs_type
    return f"{kind} ({best})"


def command_line() -> str:
    python = Path(sys.executable)
    with_root = python.is_relative_to(Path.cwd())
    shown = python.relative_to(Path.cwd()) if with_root else python
    return shlex.join([str(shown), *sys.argv])


@contextmanager
def server_for(args: argparse.Namespace) -> Iterator[tuple[str, dict[str, Any]]]:
    """The URL to benchmark and facts about the server: ours, started here, or ``--endpoint``."""
    if args.endpoint:
        yield args.endpoint.rstrip("/"), {"server": args.endpoint, "sync": "unknown"}
        return
    parent = Path(args.dir).resolve() if args.dir else None
    with tempfile.TemporaryDirectory(prefix="alcor-bench-", dir=parent) as directory:
        db = Path(directory) / "alcor.db"
        server = ServerProcess(db, "--sync", args.sync).start()
        facts = {
            "server": "alcor (started here)",
            "sync": args.sync,
            "db": str(db),
            "filesystem": filesystem_of(db.parent),
        }
        try:
            yield server.url, facts
        finally:
            server.stop()
            errors = server.errors_logged()
            if errors:
                print(f"server logged errors:\n{errors}", file=sys.stderr)


def run(args: argparse.Namespace) -> dict[str, Any]:
    with server_for(args) as (url, facts):
        api = Api(url)
        stamp = int(time.time())
        network = api.call("POST", "/networks", {"network": {"name": f"bench-{stamp}"}}, 201)
        network_id = network["network"]["id"]
        subnet = {"network_id": network_id, "ip_version": 4, "cidr": args.cidr, "name": "bench"}
        api.call("POST", "/subnets", {"subnet": subnet}, 201)
        warm = [create_port(api, network_id, f"w{i}") for i in range(args.warmup)]

        phases: list[Phase] = []
        ids: list[str] = []
        if args.serial:
            serial, ids = serial_create(api, network_id, args.serial)
            lean = Api(url, lean=True)
            serial_lean, more = serial_create(
                lean, network_id, args.serial, name="serial-lean", label="http.client"
            )
            lean.close()
            phases += [serial, serial_lean]
            ids += more
        if args.concurrent:
            concurrent, more = concurrent_create(url, network_id, args.concurrent, args.clients)
            phases.append(concurrent)
            ids += more
        if args.bulk:
            bulk, more = bulk_create(api, network_id, args.bulk, args.bulk_size)
            phases.append(bulk)
            ids += more
        if args.list_repeat:
            phases.append(list_ports(api, network_id, len(warm) + len(ids), args.list_repeat))
        if args.delete:
            phases.append(delete_ports(api, ids[: args.delete]))
        api.close()
    return {
        "command": command_line(),
        "machine": machine(),
        "server": facts,
        "parameters": {
            key: value for key, value in vars(args).items() if key not in ("json", "endpoint")
        },
        "results": [phase.summary() for phase in phases],
    }


def _cell(value: object, suffix: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.1f}{suffix}"
    return f"{value}{suffix}"


def table(report: dict[str, Any]) -> str:
    header = (
        "phase",
        "ports",
        "s",
        "ports/s",
        "p50 ms",
        "p99 ms",
        "Neutron",
        "x Neutron",
        "target",
        "met",
    )
    rows = [
        (
            r["label"],
            f"{r['ports']:,}",
            f"{r['seconds']:.2f}",
            _cell(r["ports_per_s"]),
            _cell(r["p50_ms"]),
            _cell(r["p99_ms"]),
            _cell(r["neutron_ports_per_s"]),
            _cell(r["vs_neutron"], "x"),
            _cell(r["target_ports_per_s"]),
            _cell(r["target_met"]),
        )
        for r in report["results"]
    ]
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join((first, *rest))

    m, s = report["machine"], report["server"]
    lines = [
        f"command:  {report['command']}",
        f"machine:  {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, "
        f"SQLite {m['sqlite']}, Linux {m['kernel']}",
        f"server:   {s['server']}, sync {s['sync']}"
        + (f", db on {s['filesystem']}" if "filesystem" in s else ""),
        "",
        line(header),
        line(["-" * w for w in widths]),
        *(line(row) for row in rows),
        "",
        "Neutron: the reference Neutron 28.0.2 on this machine (one uwsgi worker, SQLite, 500",
        "  ports, median of 3 runs; /work/shared/neutron-reference/bench.txt).",
        "serial, concurrent, delete: wall clock, client included. bulk, list: the HTTP exchanges",
        "  only (the client's JSON work left out); list: median of the GETs. p50/p99: per request.",
    ]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Port create/list/delete throughput of the Neutron API over real HTTP.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--serial", type=int, default=2000, help="ports created one by one")
    p.add_argument("--concurrent", type=int, default=4000, help="ports created by --clients")
    p.add_argument("--clients", type=int, default=16, help="concurrent clients (threads)")
    p.add_argument("--bulk", type=int, default=10_000, help="ports created in bulk POSTs")
    p.add_argument("--bulk-size", type=int, default=1000, help="ports per bulk POST")
    p.add_argument(
        "--list-repeat", type=int, default=3, help="full listings, median reported (0: skip)"
    )
    p.add_argument("--delete", type=int, default=2000, help="ports deleted one by one (0: skip)")
    p.add_argument("--warmup", type=int, default=20, help="ports created before measuring")
    p.add_argument("--cidr", default="10.200.0.0/16", help="the subnet's CIDR")
    p.add_argument("--sync", choices=("full", "normal"), default="full", help="server's --sync")
    p.add_argument(
        "--dir", default=None, help="where the temporary database goes (default: $TMPDIR)"
    )
    p.add_argument("--endpoint", default=None, help="benchmark this running server instead")
    p.add_argument("--json", action="store_true", help="print one JSON object, not a table")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    counts = (args.serial, args.concurrent, args.bulk, args.list_repeat, args.delete, args.warmup)
    if args.clients < 1 or args.bulk_size < 1 or min(counts) < 0:
        parser().error("--clients and --bulk-size must be positive, the counts not negative")
    report = run(args)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
