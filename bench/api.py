"""Throughput of the Neutron API over real HTTP: ``make bench-api``.

Starts its own ``alcor server`` (a child process on a free loopback port, its SQLite file on disk
in a fresh temporary directory, ``--sync full`` unless told otherwise), then measures:

ports, every phase on one network with a /16 subnet:

    serial      one keep-alive client creating ports one POST at a time: once with httpx (the
                client the reference Neutron was measured with) and once with the standard
                library's http.client, whose own cost per request is a third of httpx's here
    concurrent  C clients (threads, each with its own keep-alive client) creating ports at once
    bulk        POSTs of B ports each ({"ports": [...]}), one after the other
    list        GET /v2.0/ports?network_id=... of every port created (ports listed per second)
    delete      one keep-alive client deleting ports one DELETE at a time

security group rules, each phase in groups of its own, R rules to a group (100, Neutron's
default quota of rules per project): a new rule is compared with every rule of its group, so how
full the groups are is part of what is measured (docs/benchmarks.md):

    rule serial      one keep-alive client (httpx) creating rules one POST at a time
    rule concurrent  C clients creating rules at once
    rule bulk        POSTs of one group's R rules each ({"security_group_rules": [...]}; Neutron
                     takes the rules of only one group in a POST)

router interfaces, on one router and N networks with a /24 subnet each (made beforehand with
bulk POSTs, not timed):

    interface add     one keep-alive client: add_router_interface by subnet_id, one PUT at a time
    interface remove  the same with remove_router_interface, every interface in turn

``--roles`` says how the controller started here serves the agents: ``all`` (one process, the
default), ``off`` (``--southbound off``) or ``split`` (an ``--role api`` process benchmarked, a
``--role southbound`` process following it on the same file); a comma list runs each in turn on
a fresh database and ends with every phase's rate as a share of the first's. ``--metrics off,on``
runs each of them twice, without and with ``--metrics-bind`` (scraped every second meanwhile),
and compares them the same way.

It prints a table with the reference Neutron's figures (NEUTRON: where each was measured)
and the targets next to ours, the exact command and the machine. ``--json`` prints the same as
one JSON object instead. ``--endpoint`` benchmarks a server that is already running (any Neutron
API) instead of starting one: that is how the reference's rule and interface figures were taken.

Serial, concurrent, delete and the interface phases are timed by the wall clock, client
included. Bulk and list time each HTTP exchange from sending the request to the last byte of the
response; the client's JSON encoding of the 1,000-item bodies and its parsing of the
multi-megabyte answers are left out (on this class of machine, parsing a 16,000-port listing
costs the client as long as the server takes to produce it).

    .venv/bin/python bench/api.py                      # defaults: about 20 seconds
    .venv/bin/python bench/api.py --sync normal        # SQLite synchronous=NORMAL, to compare
    .venv/bin/python bench/api.py --serial 500 --json
    .venv/bin/python bench/api.py --roles off,split    # roles split against --southbound off
    .venv/bin/python bench/api.py --metrics off,on     # /metrics served and scraped, or not
    .venv/bin/python bench/api.py --serial 0 --concurrent 0 --bulk 0 --list-repeat 0 \\
        --delete 0 --warmup 0 --endpoint http://127.0.0.1:9696   # rules and interfaces only
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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.servers import ServerProcess  # noqa: E402

from alcor.lab.controllers import free_port  # noqa: E402

# The reference Neutron, in items (ports, rules, interfaces) per second. Ports: the median of 3
# runs of 500 ports by its own bench.py (bench.txt); concurrent creation was not measured there.
# Rules and interfaces: this script with --endpoint against it and the default counts, the best
# of two runs on the 2-vCPU AMD EPYC machine (docs/benchmarks.md has the command and the runs).
NEUTRON: dict[str, float | None] = {
    "serial": 13.652,
    "serial-lean": 13.652,
    "concurrent": None,
    "bulk": 13.66,
    "list": 607.617,
    "delete": 17.916,
    "rule-serial": 17.6,
    "rule-concurrent": 13.8,
    "rule-bulk": 27.0,
    "interface-add": 1.0,
    "interface-remove": 3.4,
}
TARGETS: dict[str, float | None] = {
    "serial": 500.0,
    "serial-lean": 500.0,
    "concurrent": None,
    "bulk": 10_000.0,
    "list": 20_000.0,
    "delete": None,
    "rule-serial": None,
    "rule-concurrent": None,
    "rule-bulk": None,
    "interface-add": None,
    "interface-remove": None,
}
TIMEOUT = 120.0


@dataclass
class Phase:
    """One measured phase: how many items (``unit``: ports, rules, interfaces), how long, and
    per-request latencies (seconds)."""

    name: str
    label: str
    unit: str
    count: int
    seconds: float
    requests: int
    latencies: list[float] = field(default_factory=list, repr=False)

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("inf")

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
            "unit": self.unit,
            "count": self.count,
            "requests": self.requests,
            "seconds": round(self.seconds, 4),
            "per_s": round(self.per_second, 1),
            "p50_ms": _rounded(self.latency_ms(0.50)),
            "p99_ms": _rounded(self.latency_ms(0.99)),
            "neutron_per_s": reference,
            "vs_neutron": None if reference is None else round(self.per_second / reference, 1),
            "target_per_s": target,
            "target_met": None if target is None else self.per_second >= target,
        }


def _rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


@dataclass(frozen=True)
class Kind:
    """A collection of the API: its URL and the keys of its bodies."""

    path: str
    singular: str
    plural: str


NETWORKS = Kind("/networks", "network", "networks")
SUBNETS = Kind("/subnets", "subnet", "subnets")
PORTS = Kind("/ports", "port", "ports")
GROUPS = Kind("/security-groups", "security_group", "security_groups")
RULES = Kind("/security-group-rules", "security_group_rule", "security_group_rules")
ROUTERS = Kind("/routers", "router", "routers")

Body = dict[str, object]


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

    def create(self, kind: Kind, body: Body) -> str:
        """POST one resource; its id."""
        answer = self.call("POST", kind.path, {kind.singular: body}, 201)
        return str(answer[kind.singular]["id"])

    def create_many(
        self, kind: Kind, bodies: Sequence[Body], size: int
    ) -> tuple[list[str], list[float]]:
        """POSTs of ``size`` resources each, one after the other: the ids created and the seconds
        of each exchange."""
        ids: list[str] = []
        latencies: list[float] = []
        for first in range(0, len(bodies), size):
            chunk = bodies[first : first + size]
            content = msgspec.json.encode({kind.plural: chunk})
            answer, elapsed = self.exchange("POST", kind.path, content, 201)
            latencies.append(elapsed)
            created = msgspec.json.decode(answer)[kind.plural]
            if len(created) != len(chunk):
                raise RuntimeError(
                    f"bulk POST answered {len(created)} of {len(chunk)} {kind.plural}"
                )
            ids.extend(str(resource["id"]) for resource in created)
        return ids, latencies

    def close(self) -> None:
        self.client.close()
        if self.lean is not None:
            self.lean.close()


# A phase's i-th request, made with the client given: it answers the id it created or touched.
Step = Callable[[Api, int], str]


def creating(kind: Kind, body: Callable[[int], Body]) -> Step:
    """The step that creates the i-th resource, ``body(i)``."""
    return lambda api, i: api.create(kind, body(i))


def deleting(kind: Kind, ids: Sequence[str]) -> Step:
    def step(api: Api, i: int) -> str:
        api.call("DELETE", f"{kind.path}/{ids[i]}", expect=204)
        return ids[i]

    return step


def interfacing(router_id: str, action: str, subnet_ids: Sequence[str]) -> Step:
    """The step that adds (``add_router_interface``) or removes (``remove_router_interface``)
    the router's interface on the i-th subnet; it answers the interface's port id."""

    def step(api: Api, i: int) -> str:
        answer = api.call("PUT", f"/routers/{router_id}/{action}", {"subnet_id": subnet_ids[i]})
        return str(answer["port_id"])

    return step


def port(network_id: str, name: str) -> Body:
    return {"network_id": network_id, "name": name}


def rule(group_ids: Sequence[str], per_group: int, index: int) -> Body:
    """The ``index``-th of as many different rules as wanted, ``per_group`` to a group in turn:
    ingress TCP to one port from a /16."""
    group, within = divmod(index, per_group)
    number = within % 65535 + 1
    return {
        "security_group_id": group_ids[group],
        "direction": "ingress",
        "ethertype": "IPv4",
        "protocol": "tcp",
        "port_range_min": number,
        "port_range_max": number,
        "remote_ip_prefix": f"10.{within // 65535 % 256}.0.0/16",
    }


def serial(
    api: Api, count: int, step: Step, *, name: str, label: str, unit: str
) -> tuple[Phase, list[str]]:
    """``count`` steps one after the other on one keep-alive client."""
    ids: list[str] = []
    latencies: list[float] = []
    started = time.perf_counter()
    for i in range(count):
        sent = time.perf_counter()
        ids.append(step(api, i))
        latencies.append(time.perf_counter() - sent)
    seconds = time.perf_counter() - started
    return Phase(name, label, unit, count, seconds, count, latencies), ids


def concurrent(
    url: str, count: int, step: Step, *, clients: int, name: str, unit: str
) -> tuple[Phase, list[str]]:
    """``clients`` threads, each with its own keep-alive connection, share ``count`` steps."""
    shares = [count // clients + (1 if i < count % clients else 0) for i in range(clients)]
    firsts = [sum(shares[:i]) for i in range(clients)]
    apis = [Api(url) for _ in range(clients)]
    for api in apis:  # open every connection before the clock starts
        api.call("GET", "/networks?limit=1")
    latencies: list[list[float]] = [[] for _ in range(clients)]
    ids: list[list[str]] = [[] for _ in range(clients)]
    failures: list[BaseException] = []
    start = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        api, mine, done = apis[index], latencies[index], ids[index]
        start.wait()
        try:
            for i in range(firsts[index], firsts[index] + shares[index]):
                sent = time.perf_counter()
                done.append(step(api, i))
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
    phase = Phase(name, label, unit, count, seconds, count, merged)
    return phase, [made for per_client in ids for made in per_client]


def bulk_create(
    api: Api, kind: Kind, bodies: Sequence[Body], *, size: int, name: str, unit: str
) -> tuple[Phase, list[str]]:
    ids, latencies = api.create_many(kind, bodies, size)
    label = f"bulk create ({size}/POST)"
    phase = Phase(name, label, unit, len(ids), sum(latencies), len(latencies), latencies)
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
    return Phase("list", label, "ports", expected, statistics.median(runs), 1, runs)


def port_phases(api: Api, url: str, args: argparse.Namespace) -> list[Phase]:
    """Port create (serial, concurrent, bulk), list and delete, all on one new network."""
    network_id = api.create(NETWORKS, {"name": f"bench-{int(time.time())}"})
    subnet = {"network_id": network_id, "ip_version": 4, "cidr": args.cidr, "name": "bench"}
    api.create(SUBNETS, subnet)
    warm = [api.create(PORTS, port(network_id, f"w{i}")) for i in range(args.warmup)]

    phases: list[Phase] = []
    ids: list[str] = []
    if args.serial:
        lean = Api(url, lean=True)
        step = creating(PORTS, lambda i: port(network_id, f"s{i}"))
        for client, name, library in (
            (api, "serial", "httpx"),
            (lean, "serial-lean", "http.client"),
        ):
            label = f"serial create (1 client, {library})"
            phase, more = serial(client, args.serial, step, name=name, label=label, unit="ports")
            phases.append(phase)
            ids += more
        lean.close()
    if args.concurrent:
        step = creating(PORTS, lambda i: port(network_id, f"c{i}"))
        phase, more = concurrent(
            url, args.concurrent, step, clients=args.clients, name="concurrent", unit="ports"
        )
        phases.append(phase)
        ids += more
    if args.bulk:
        bodies = [port(network_id, f"b{i}") for i in range(args.bulk)]
        phase, more = bulk_create(
            api, PORTS, bodies, size=args.bulk_size, name="bulk", unit="ports"
        )
        phases.append(phase)
        ids += more
    if args.list_repeat:
        phases.append(list_ports(api, network_id, len(warm) + len(ids), args.list_repeat))
    if args.delete:
        step = deleting(PORTS, ids)
        label = "delete (1 client)"
        phase, _ = serial(
            api, min(args.delete, len(ids)), step, name="delete", label=label, unit="ports"
        )
        phases.append(phase)
    return phases


def rule_phases(api: Api, url: str, args: argparse.Namespace) -> list[Phase]:
    """Security group rule create (serial, concurrent, bulk), each phase in new groups."""
    phases: list[Phase] = []
    if args.rule_serial:
        step = creating(RULES, rules_in_new_groups(api, args, args.rule_serial))
        label = "serial create (1 client, httpx)"
        phase, _ = serial(
            api, args.rule_serial, step, name="rule-serial", label=label, unit="rules"
        )
        phases.append(phase)
    if args.rule_concurrent:
        step = creating(RULES, rules_in_new_groups(api, args, args.rule_concurrent))
        phase, _ = concurrent(
            url,
            args.rule_concurrent,
            step,
            clients=args.clients,
            name="rule-concurrent",
            unit="rules",
        )
        phases.append(phase)
    if args.rule_bulk:  # one group's rules to a POST: Neutron takes no more
        body = rules_in_new_groups(api, args, args.rule_bulk)
        bodies = [body(i) for i in range(args.rule_bulk)]
        size = args.rules_per_group
        phase, _ = bulk_create(api, RULES, bodies, size=size, name="rule-bulk", unit="rules")
        phases.append(phase)
    return phases


def rules_in_new_groups(api: Api, args: argparse.Namespace, count: int) -> Callable[[int], Body]:
    """The bodies of ``count`` rules, ``--rules-per-group`` to a group, in groups made here
    (bulk POSTs, untimed): a new rule is checked against every rule of its group, so the
    group's size is part of what is measured."""
    needed = -(-count // args.rules_per_group)
    groups: list[Body] = [{"name": f"bench-rules-{i}"} for i in range(needed)]
    group_ids, _ = api.create_many(GROUPS, groups, args.bulk_size)
    return partial(rule, group_ids, args.rules_per_group)


def interface_phases(api: Api, args: argparse.Namespace) -> list[Phase]:
    """Router interface add by subnet_id, then remove, on one router: ``args.interfaces``
    networks with a /24 subnet each (10.x.y.0/24) are made beforehand in bulk, untimed."""
    count = args.interfaces
    if not count:
        return []
    router_id = api.create(ROUTERS, {"name": "bench-interfaces"})
    networks: list[Body] = [{"name": f"bench-interface-{i}"} for i in range(count)]
    network_ids, _ = api.create_many(NETWORKS, networks, args.bulk_size)
    subnets: list[Body] = [
        {"network_id": network_id, "ip_version": 4, "cidr": f"10.{i // 256}.{i % 256}.0/24"}
        for i, network_id in enumerate(network_ids)
    ]
    subnet_ids, _ = api.create_many(SUBNETS, subnets, args.bulk_size)
    phases: list[Phase] = []
    for verb in ("add", "remove"):
        step = interfacing(router_id, f"{verb}_router_interface", subnet_ids)
        name, label = f"interface-{verb}", f"{verb} by subnet_id (1 client, httpx)"
        phase, _ = serial(api, count, step, name=name, label=label, unit="interfaces")
        phases.append(phase)
    return phases


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


ROLES = ("all", "off", "split")  # --roles: how the controller started here serves the agents
METRICS = ("off", "on")  # --metrics: whether the processes started here serve /metrics
SCRAPE_INTERVAL = 1.0  # seconds between scrapes with metrics on (Prometheus' usual: 15 to 60)


def metrics_options(on: bool) -> tuple[tuple[str, ...], str]:
    """A process's ``--metrics-bind`` on a free loopback port (nothing when off), and that
    address ('' when off)."""
    if not on:
        return (), ""
    address = f"127.0.0.1:{free_port()}"
    return ("--metrics-bind", address), address


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) a process has used so far, in seconds (0: it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def scraping(addresses: Sequence[str], *, interval: float = SCRAPE_INTERVAL) -> Iterator[None]:
    """``GET /metrics`` of every address each ``interval`` seconds, in a thread, as Prometheus
    would, for the block's duration (none when ``addresses`` is empty)."""
    addresses = [address for address in addresses if address]
    if not addresses:
        yield
        return
    stop = threading.Event()

    def scrape() -> None:
        with httpx.Client(timeout=30) as client:
            while not stop.wait(interval):
                for address in addresses:
                    with suppress(httpx.HTTPError):
                        client.get(f"http://{address}/metrics").raise_for_status()

    thread = threading.Thread(target=scrape, name="scraper", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextmanager
def controller_processes(
    db: Path,
    *extra: str,
    roles: str = "all",
    apis: int = 1,
    southbounds: int = 1,
    db_url: str | None = None,
    metrics: bool = False,
) -> Iterator[list[ServerProcess]]:
    """The controller on the SQLite file ``db`` (or the database ``db_url`` names), as ``roles``
    says: ``all``, one process serving the API and the southbound; ``off``, one with
    ``--southbound off``; ``split``, ``apis`` processes with ``--role api`` and ``southbounds``
    with ``--role southbound`` following them on the same store. The API processes come first,
    and are started first (the first migrates the schema); all are stopped at the end and any
    error they logged is printed. With ``metrics``, each serves ``/metrics`` (``--metrics-bind``)
    and is scraped every ``SCRAPE_INTERVAL`` seconds while it runs."""
    if roles not in ROLES:
        raise ValueError(f"roles: one of {', '.join(ROLES)}, not {roles!r}")
    if roles != "split" and (apis, southbounds) != (1, 1):
        raise ValueError("several API or southbound processes: roles split")
    api_role = {"all": "all", "off": "all", "split": "api"}[roles]
    off = ("--southbound", "off") if roles == "off" else ()
    url = db_url or f"sqlite:///{db}"
    scraped: list[str] = []

    def metered() -> tuple[str, ...]:
        options, address = metrics_options(metrics)
        scraped.append(address)
        return options

    servers = [
        ServerProcess(
            db if n == 0 else db.with_name(f"{db.stem}-api{n}.db"),  # where its log goes
            *extra,
            *off,
            *metered(),
            db_url=url,
            role=api_role,
        )
        for n in range(apis)
    ]
    if roles == "split":
        servers += [
            ServerProcess(
                db.with_name(f"{db.stem}-southbound{n}.db"),
                *extra,
                *metered(),
                db_url=url,
                role="southbound",
            )
            for n in range(southbounds)
        ]
    started: list[ServerProcess] = []
    try:
        for server in servers:
            started.append(server.start(timeout=120))
        with scraping(scraped):
            yield servers
    finally:
        for server in reversed(started):
            server.stop()
            errors = server.errors_logged()
            if errors:
                print(f"{server.role} server logged errors:\n{errors[:4000]}", file=sys.stderr)


@contextmanager
def server_for(
    args: argparse.Namespace, roles: str, *, metrics: bool = False
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The URL to benchmark and facts about the server: ours, started here, or ``--endpoint``."""
    if args.endpoint:
        yield args.endpoint.rstrip("/"), {"server": args.endpoint, "sync": "unknown"}
        return
    parent = Path(args.dir).resolve() if args.dir else None
    with tempfile.TemporaryDirectory(prefix="alcor-bench-", dir=parent) as directory:
        db = Path(directory) / "alcor.db"
        with controller_processes(db, "--sync", args.sync, roles=roles, metrics=metrics) as servers:
            facts: dict[str, Any] = {
                "server": "alcor (started here)",
                "roles": roles,
                "metrics": "on" if metrics else "off",
                "sync": args.sync,
                "db": str(db),
                "filesystem": filesystem_of(db.parent),
            }
            yield servers[0].url, facts
            # the CPU the controller's processes used, start-up included: the same work in
            # every run, so the figure to compare where the wall clock is shared with others
            facts["server_cpu_s"] = round(
                sum(cpu_seconds(s.process.pid) for s in servers if s.process is not None), 2
            )


def run(args: argparse.Namespace, roles: str, *, metrics: bool = False) -> dict[str, Any]:
    with server_for(args, roles, metrics=metrics) as (url, facts):
        api = Api(url)
        phases = port_phases(api, url, args) + rule_phases(api, url, args)
        phases += interface_phases(api, args)
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


def label(report: dict[str, Any]) -> str:
    """The run's --roles, and its --metrics."""
    server = report["server"]
    return f"roles {server['roles']}, metrics {server.get('metrics', 'off')}"


def ratios(reports: Sequence[dict[str, Any]]) -> list[str]:
    """Each phase's rate in every run after the first (another --roles or --metrics), as a
    share of the first's."""
    if len(reports) < 2:
        return []
    first = reports[0]
    lines = [f"rate as a share of the first run's ({label(first)}), same run:"]
    for report in reports[1:]:
        lines.append(f"  {label(report)}:")
        for this, base in zip(report["results"], first["results"], strict=True):
            if this["per_s"] and base["per_s"]:
                share = this["per_s"] / base["per_s"]
                lines.append(f"    {this['label']} ({this['unit']}): {share:.0%}")
    return lines


def metrics_cost(reports: Sequence[dict[str, Any]]) -> list[str]:
    """With --metrics off,on: each phase's median rate with metrics on as a share of its median
    off (medians over the runs of each, so --metrics off,on,off,on evens out a shared machine's
    noise), and the controller's CPU time over the whole run likewise."""
    runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    for report in reports:
        runs[report["server"].get("metrics", "off")].append(report)
    if not runs["off"] or not runs["on"]:
        return []
    lines = [
        f"metrics on as a share of off, medians of {len(runs['on'])} and {len(runs['off'])} "
        "runs (rate: higher is better; CPU: lower):"
    ]
    for k, phase in enumerate(runs["off"][0]["results"]):
        medians = {
            on: statistics.median(run["results"][k]["per_s"] or 0.0 for run in found)
            for on, found in runs.items()
        }
        if medians["off"]:
            lines.append(
                f"  {phase['label']} ({phase['unit']}/s): off {medians['off']:,.1f}, "
                f"on {medians['on']:,.1f}: {medians['on'] / medians['off']:.1%}"
            )
    cpu = {
        on: statistics.median(run["server"].get("server_cpu_s", 0.0) for run in found)
        for on, found in runs.items()
    }
    if cpu["off"]:
        lines.append(
            f"  controller CPU for the whole run (s): off {cpu['off']:.2f}, on {cpu['on']:.2f}: "
            f"{cpu['on'] / cpu['off']:.1%}"
        )
    return lines


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
        "count",
        "s",
        "per s",
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
            f"{r['count']:,} {r['unit']}",
            f"{r['seconds']:.2f}",
            _cell(r["per_s"]),
            _cell(r["p50_ms"]),
            _cell(r["p99_ms"]),
            _cell(r["neutron_per_s"]),
            _cell(r["vs_neutron"], "x"),
            _cell(r["target_per_s"]),
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
        f"server:   {s['server']}, roles {s.get('roles', '-')}, sync {s['sync']}, "
        f"metrics {s.get('metrics', 'off')}"
        + (f", db on {s['filesystem']}" if "filesystem" in s else ""),
        "",
        line(header),
        line(["-" * w for w in widths]),
        *(line(row) for row in rows),
        "",
        "Neutron: the reference Neutron 28.0.2 (one uwsgi worker, SQLite). Ports: 500 per phase,",
        "  median of 3 runs (/work/shared/neutron-reference/bench.txt); rules and interfaces: this",
        "  script with --endpoint and the default counts, best of 2 runs (docs/benchmarks.md).",
        "serial, concurrent, delete, interfaces: wall clock, client included. bulk, list: the HTTP",
        "  exchanges only (the client's JSON work left out); list: median of the GETs.",
        f"  p50/p99: per request. Rules: {report['parameters']['rules_per_group']} to a new group.",
    ]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Throughput of the Neutron API over real HTTP: ports, security group "
        "rules, router interfaces.",
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
    p.add_argument("--rule-serial", type=int, default=1000, help="rules created one by one")
    p.add_argument("--rule-concurrent", type=int, default=2000, help="rules created by --clients")
    p.add_argument(
        "--rule-bulk", type=int, default=10_000, help="rules created in bulk POSTs, one group each"
    )
    p.add_argument(
        "--rules-per-group", type=int, default=100, help="rules created in each new group"
    )
    p.add_argument(
        "--interfaces", type=int, default=200, help="router interfaces added, then removed"
    )
    p.add_argument("--cidr", default="10.200.0.0/16", help="the subnet's CIDR")
    p.add_argument("--sync", choices=("full", "normal"), default="full", help="server's --sync")
    p.add_argument(
        "--dir", default=None, help="where the temporary database goes (default: $TMPDIR)"
    )
    p.add_argument(
        "--roles",
        default="all",
        help="how the controller serves the agents, a comma list run one after the other: all "
        "(one process), off (--southbound off), split (an api and a southbound process)",
    )
    p.add_argument(
        "--metrics",
        default="off",
        help="a comma list run after each --roles: off, or on (every process started here "
        f"serves /metrics on --metrics-bind, scraped every {SCRAPE_INTERVAL:g} s); off,on "
        "compares them in one run",
    )
    p.add_argument("--endpoint", default=None, help="benchmark this running server instead")
    p.add_argument("--json", action="store_true", help="print one JSON object, not a table")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    counts = (
        args.serial,
        args.concurrent,
        args.bulk,
        args.list_repeat,
        args.delete,
        args.warmup,
        args.rule_serial,
        args.rule_concurrent,
        args.rule_bulk,
        args.interfaces,
    )
    if min(args.clients, args.bulk_size, args.rules_per_group) < 1 or min(counts) < 0:
        parser().error(
            "--clients, --bulk-size and --rules-per-group must be positive, the counts not negative"
        )
    if args.interfaces > 65_536:
        parser().error("--interfaces: at most 65,536 (one 10.x.y.0/24 subnet each)")
    roles = args.roles.split(",")
    if not set(roles) <= set(ROLES) or (args.endpoint and len(roles) > 1):
        parser().error(f"--roles: a comma list of {', '.join(ROLES)} (one with --endpoint)")
    metrics = args.metrics.split(",")
    if not set(metrics) <= set(METRICS) or (args.endpoint and metrics != ["off"]):
        parser().error("--metrics: a comma list of off and on (off with --endpoint)")
    reports = [run(args, role, metrics=on == "on") for role in roles for on in metrics]
    if args.json:
        print(json.dumps(reports[0] if len(reports) == 1 else reports, indent=2))
    else:
        closing = ["\n".join(ratios(reports)), "\n".join(metrics_cost(reports))]
        print("\n\n".join([*(table(report) for report in reports), *closing]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
