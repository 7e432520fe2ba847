"""Goal state end to end, from a port create in the API to its host's ack: ``make bench-goalstate``.

Starts its own ``alcor server`` (a child process, its SQLite file on disk in a fresh temporary
directory, ``--sync full`` unless told otherwise, the southbound on a free loopback port) and
``alcor sim`` processes (recording agents sharing one gRPC channel each) against it. Hosts are
registered as nodes (bulk POST /v2.0/nodes) before any port names them. Three parts, each
selected with ``--parts``:

a  rate     ports created at a fixed rate across A simulated hosts, open loop: a scheduler hands
            each create to a pool of client threads when it is due, whether or not earlier ones
            were answered, so a slow server shows as latency, not as a lower rate. The ports go
            to V VPCs (a project, a network and a /20 subnet each, created beforehand) and
            random hosts. API-to-ACTIVE latency is counted from when the create was due.
b  growth   one VPC grown by bulk POSTs to 1, 1,000, 10,000, 100,000 ports spread over B hosts;
            at each size, single creates one after the other (each on a host already serving
            the VPC: one neighbor entry for every other host), API-to-ACTIVE; then a few creates
            on a host new to the VPC (it is sent the VPC's whole neighbor set), each deleted
            after. Afterwards the change log is replayed into a goal-state ``Engine`` in this
            process and ``Engine.apply`` is timed for each of those changes (engine time).
c  scale    H hosts and P ports (VPCs of --c-vpc-ports ports on --c-vpc-hosts hosts each, loaded
            by bulk POSTs before any agent connects): controller memory, time for every host to
            connect and acknowledge its snapshot, then kill -9 and a restart on the same
            database: time until every host acknowledged again, and the bytes that took.

**ACTIVE, observed as a client sees it.** A thread polls ``GET /v2.0/ports?id=..&fields=id&
fields=status`` (up to 100 ids a request) for the ports created and not yet seen ACTIVE, then
sleeps --poll-ms; a port's time is when the answer that first showed it ACTIVE arrived. The
resolution is one poll cycle, reported as ``poll`` (median and p99 of the cycles that had ports
to look for). The polls are load on the server too (a few hundred small GETs a second in a).

**Bytes** are the kernel's counters of the southbound's TCP sockets (``ss -tin``:
``bytes_sent``/``bytes_received`` of every established socket on the server's port): gRPC and
HTTP/2 framing and pings included. The server's own per-host counters (``GET
/v2.0/goalstate/hosts``: messages, entries, snapshots sent) are shown beside them.

    .venv/bin/python bench/goalstate.py                    # all parts, defaults (~12 minutes)
    .venv/bin/python bench/goalstate.py --quick            # all parts, small: a smoke run
    .venv/bin/python bench/goalstate.py --parts a --a-rate 200 --a-seconds 10
    .venv/bin/python bench/goalstate.py --parts c --c-ports 1000000 --c-vpc-hosts 1 --json

The issue's size for c, 1,000,000 ports with VPCs on 10 hosts each, needs ~40 GiB here (the
sims hold every host's entries): docs/benchmarks.md has the figures and what blocks it.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import ipaddress
import json
import os
import queue
import random
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import api as bench_api  # noqa: E402
from bench import replicas as bench_replicas  # noqa: E402
from tests.servers import ServerProcess  # noqa: E402

from alcor.agent import running  # noqa: E402
from alcor.goalstate.engine import Engine  # noqa: E402
from alcor.store.interface import LOGGED_TYPES  # noqa: E402

# Alcor's published figures (its data plane manager, one port create as the VPC grows; the
# issue quotes them): neighbors in the VPC -> milliseconds.
ALCOR_MS = {1: 7.0, 1_000: 185.0, 10_000: 2_580.0}
TARGET_P99_MS = 50.0  # (b): flat, p99 at most this at 100,000 ports
ACTIVE, ERROR = "ACTIVE", "ERROR"
NODES = bench_api.Kind("/nodes", "node", "nodes")
BULK = 1000  # resources per bulk POST
Body = dict[str, object]


# --- figures ---------------------------------------------------------------------------------


def quantile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency(seconds: Sequence[float], unit: str = "ms") -> dict[str, Any]:
    """Count, p50, p99 and max of a sample, in milliseconds (or ``us``: microseconds)."""
    scale = {"ms": 1e3, "us": 1e6}[unit]
    found: dict[str, Any] = {"n": len(seconds)}
    for name, q in (("p50", 0.5), ("p99", 0.99), ("max", 1.0)):
        value = quantile(seconds, q)
        found[f"{name}_{unit}"] = None if value is None else round(value * scale, 2)
    return found


def proc_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory (VmRSS) or its peak (VmHWM), in MiB."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def socket_bytes(port: int) -> dict[str, int]:
    """What the server's established sockets on ``port`` sent and received, per the kernel."""
    out = subprocess.run(
        ["ss", "-tinH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    sent = sum(int(n) for n in re.findall(r"bytes_sent:(\d+)", out))
    received = sum(int(n) for n in re.findall(r"bytes_received:(\d+)", out))
    sockets = sum(1 for line in out.splitlines() if line.strip() and not line[0].isspace())
    return {"sockets": sockets, "sent": sent, "received": received}


def cpu_used(servers: Sequence[ServerProcess], sims: Sequence[Sim]) -> dict[str, float]:
    """The CPU time the controller's processes and the sims used so far (each together), in
    seconds: the same work in every run, so the figure to compare on a shared machine."""
    return {
        "server_s": round(
            sum(bench_api.cpu_seconds(s.process.pid) for s in servers if s.process), 2
        ),
        "sim_s": round(sum(bench_api.cpu_seconds(sim.pid) for sim in sims), 2),
    }


def resident(servers: Sequence[ServerProcess], sims: Sequence[Sim]) -> dict[str, float]:
    """The resident memory of the controller's processes and of the sims (each together), in
    MiB."""
    return {
        "server_mb": round(sum(proc_mb(s.process.pid) for s in servers if s.process), 1),
        "sim_mb": round(sum(proc_mb(sim.pid) for sim in sims), 1),
    }


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def header(args: argparse.Namespace) -> dict[str, Any]:
    """What every report begins with: the command, the machine, its load, the parameters."""
    return {
        "command": bench_api.command_line(),
        "machine": bench_api.machine(),
        "load_before": load_average(),
        "parameters": {key: value for key, value in vars(args).items() if key != "json"},
    }


# --- processes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Host:
    name: str
    underlay_ip: str


class Sim:
    """One ``alcor sim`` child: hosts ``prefix0`` .. on one gRPC channel to the controller."""

    def __init__(self, *, prefix: str, count: int, underlay_base: str, directory: Path) -> None:
        self.prefix = prefix
        self.hosts = [Host(n, ip) for n, ip in running.sim_hosts(prefix, count, underlay_base)]
        self.underlay_base = underlay_base
        self.status_path = directory / f"sim-{prefix.rstrip('-')}.json"
        self.log_path = directory / f"sim-{prefix.rstrip('-')}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.metrics_address = ""  # its --metrics-bind, when started with metrics

    def start(self, controller: str, *, status_interval: float = 5.0, metrics: bool = False) -> Sim:
        metered, self.metrics_address = bench_api.metrics_options(metrics)
        command = [
            sys.executable,
            *("-m", "alcor.cli.main", "sim"),
            *("--hosts", str(len(self.hosts)), "--prefix", self.prefix),
            *("--underlay-base", self.underlay_base, "--controller", controller),
            *("--status-file", str(self.status_path), "--status-interval", str(status_interval)),
            *("--progress-interval", "0"),
            *metered,
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> dict[str, Any]:
        """SIGTERM, then the totals of its status file (written once more on exit)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(OSError, ValueError):
            totals: dict[str, Any] = json.loads(self.status_path.read_text())["totals"]
            return totals
        return {}


def sims_for(count: int, *, processes: int, prefix: str, base: str, directory: Path) -> list[Sim]:
    """``count`` hosts over ``processes`` sims (prefixes ``<prefix><k>-``), underlay addresses
    counted up from ``base`` without overlap."""
    shares = [count // processes + (1 if k < count % processes else 0) for k in range(processes)]
    first = ipaddress.ip_address(base)
    sims = []
    for k, share in enumerate(shares):
        start = str(first + sum(shares[:k]))
        sims.append(
            Sim(prefix=f"{prefix}{k}-", count=share, underlay_base=start, directory=directory)
        )
    return sims


def server_options(args: argparse.Namespace) -> tuple[str, ...]:
    every = getattr(args, "c_checkpoint_every", None)
    checkpoints = () if every is None else ("--checkpoint-every", str(every))
    return ("--sync", args.sync, *checkpoints)


@contextlib.contextmanager
def controller(
    args: argparse.Namespace,
    directory: Path,
    *,
    roles: str = "all",
    apis: int = 1,
    southbounds: int = 1,
    db_url: str | None = None,
) -> Iterator[list[ServerProcess]]:
    """The controller's processes (``bench_api.controller_processes``): the API's first, the
    southbound's last (one process serving both, unless ``roles`` is ``split``); serving
    ``/metrics``, scraped, in a run with metrics on (``--metrics``)."""
    db = directory / "alcor.db"
    with bench_api.controller_processes(
        db,
        *server_options(args),
        roles=roles,
        apis=apis,
        southbounds=southbounds,
        db_url=db_url,
        metrics=getattr(args, "metrics_on", False),
    ) as servers:
        yield servers


def southbound_addresses(servers: Sequence[ServerProcess]) -> str:
    """Every southbound address of the controller's processes, for ``alcor sim --controller``."""
    return ",".join(s.southbound for s in servers if s.role != "api")


@contextlib.contextmanager
def store_for(args: argparse.Namespace) -> Iterator[str | None]:
    """Part a's store: None (an SQLite file of the controller's), or a database on a private
    PostgreSQL cluster started here (``initdb`` in a temporary directory), stopped after."""
    if args.a_db == "sqlite":
        yield None
        return
    with bench_replicas.private_cluster(True) as cluster:
        assert cluster is not None
        yield cluster.create_database("alcor_bench_a")


@contextlib.contextmanager
def nodes_then_sims(
    servers: Sequence[ServerProcess], sims: Sequence[Sim], *, metrics: bool = False
) -> Iterator[list[dict[str, Any]]]:
    """The sims' hosts made nodes first (a plaintext southbound registers no host), then the
    sims started, as ``running_sims``, on the southbound of the controller's ``servers``."""
    api = bench_api.Api(servers[0].url)
    try:
        register_nodes(api, [host for sim in sims for host in sim.hosts])
    finally:
        api.close()
    with running_sims(sims, southbound_addresses(servers), metrics=metrics) as totals:
        yield totals


@contextlib.contextmanager
def running_sims(
    sims: Sequence[Sim], southbound: str, *, metrics: bool = False
) -> Iterator[list[dict[str, Any]]]:
    """Start the sims (serving ``/metrics``, scraped, with ``metrics``); on the way out stop
    them and fill the list with their totals."""
    totals: list[dict[str, Any]] = []
    for sim in sims:
        sim.start(southbound, metrics=metrics)
    try:
        with bench_api.scraping([sim.metrics_address for sim in sims]):
            yield totals
    finally:
        totals.extend(sim.stop() for sim in sims)


# --- the API ---------------------------------------------------------------------------------


def register_nodes(api: bench_api.Api, hosts: Sequence[Host]) -> None:
    """Make the hosts known nodes, in bulk, where the API has nodes."""
    try:
        api.call("GET", "/nodes?limit=1")
    except RuntimeError:
        return
    bodies: list[Body] = [{"name": h.name, "underlay_ip": h.underlay_ip} for h in hosts]
    api.create_many(NODES, bodies, BULK)


def summary(api: bench_api.Api) -> dict[str, Any]:
    found: dict[str, Any] = api.call("GET", "/goalstate")["goalstate"]
    return found


def host_reports(api: bench_api.Api) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.call("GET", "/goalstate/hosts")["hosts"]
    return found


def wait_for(what: str, done: Any, *, timeout: float, every: float = 0.05) -> float:
    """Poll ``done()`` until true; the seconds it took."""
    started = time.perf_counter()
    while not done():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{what}: not after {timeout:.0f} s")
        time.sleep(every)
    return time.perf_counter() - started


def caught_up(api: bench_api.Api, hosts: int) -> bool:
    """Every host connected and has acknowledged all it was given."""
    reports = host_reports(api)
    return len(reports) >= hosts and all(r["connected"] and not r["lag"] for r in reports)


def settled(api: bench_api.Api, hosts: int) -> bool:
    """Caught up, twice 0.2 s apart with the engine's revision unchanged (so that a commit the
    engine had not taken in yet is not missed)."""
    revision = summary(api)["revision"]
    if not caught_up(api, hosts):
        return False
    time.sleep(0.2)
    return caught_up(api, hosts) and bool(summary(api)["revision"] == revision)


def vpcs(api: bench_api.Api, count: int, *, prefix: str, cidr: str) -> list[tuple[str, str]]:
    """``count`` VPCs: a project, a network and a subnet each; (project, network id)."""
    projects = [f"{prefix}{i}" for i in range(count)]
    networks: list[Body] = [{"name": p, "project_id": p} for p in projects]
    network_ids, _ = api.create_many(bench_api.NETWORKS, networks, BULK)
    subnets: list[Body] = [
        {"network_id": n, "project_id": p, "ip_version": 4, "cidr": cidr}
        for p, n in zip(projects, network_ids, strict=True)
    ]
    api.create_many(bench_api.SUBNETS, subnets, BULK)
    return list(zip(projects, network_ids, strict=True))


def port_body(vpc: tuple[str, str], host: str, name: str) -> Body:
    return {"network_id": vpc[1], "project_id": vpc[0], "binding:host_id": host, "name": name}


class Watcher:
    """A thread that polls the API for the ports not yet seen ACTIVE (module docstring)."""

    CHUNK = 100

    def __init__(self, url: str, *, interval: float) -> None:
        self._api = bench_api.Api(url, lean=True)
        self._interval = interval
        self._lock = threading.Lock()
        self._pending: dict[str, None] = {}
        self.seen: dict[str, tuple[str, float]] = {}  # port -> (ACTIVE or ERROR, when)
        self.cycles: list[float] = []
        self.failed: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watcher", daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._api.close()

    def watch(self, port_id: str) -> None:
        with self._lock:
            self._pending[port_id] = None

    def when(self, port_id: str) -> float | None:
        """When the port was seen ACTIVE (None: not yet, or ERROR)."""
        found = self.seen.get(port_id)
        return found[1] if found is not None and found[0] == ACTIVE else None

    def wait(self, port_ids: Sequence[str], timeout: float) -> int:
        """Wait until every port is seen ACTIVE or ERROR; how many are not."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.failed is not None:
                raise RuntimeError("the ACTIVE watcher failed") from self.failed
            missing = sum(p not in self.seen for p in port_ids)
            if not missing:
                return 0
            time.sleep(0.0005)
        return sum(p not in self.seen for p in port_ids)

    def _run(self) -> None:
        try:
            self._follow()
        except BaseException as error:
            self.failed = error
            raise

    def _follow(self) -> None:
        last: float | None = None
        while not self._stop.is_set():
            with self._lock:
                ids = list(self._pending)
            for first in range(0, len(ids), self.CHUNK):
                self._poll(ids[first : first + self.CHUNK])
            now = time.perf_counter()
            if ids and last is not None:
                self.cycles.append(now - last)
            last = now if ids else None
            self._stop.wait(self._interval)

    def _poll(self, ids: list[str]) -> None:
        query = "&".join(f"id={port_id}" for port_id in ids)
        path = f"/ports?{query}&fields=id&fields=status"
        try:
            ports = self._api.call("GET", path)["ports"]
        except (http.client.RemoteDisconnected, ConnectionError):  # idle past keep-alive
            ports = self._api.call("GET", path)["ports"]
        now = time.perf_counter()
        done = {p["id"]: p["status"] for p in ports if p["status"] in (ACTIVE, ERROR)}
        with self._lock:
            for port_id, status in done.items():
                self._pending.pop(port_id, None)
                self.seen[port_id] = (status, now)

    def resolution(self) -> dict[str, Any]:
        return latency(self.cycles) | {"interval_ms": round(self._interval * 1000, 2)}


# --- a: ports at a fixed rate, open loop -------------------------------------------------------


@dataclass
class Create:
    """One create of the open loop: when it was due, sent and answered (perf_counter)."""

    due: float = 0.0
    sent: float = 0.0
    answered: float = 0.0
    port_id: str = ""
    error: str = ""


def open_loop(
    urls: Sequence[str], bodies: Sequence[Body], *, rate: float, clients: int, watcher: Watcher
) -> tuple[list[Create], float]:
    """Hand create i to the client threads at start + i / rate (client k talks to ``urls[k mod
    N]``, as a load balancer spreads connections); the creates and the seconds from the first
    due time to the last answer."""
    jobs: queue.Queue[int | None] = queue.Queue()
    creates = [Create() for _ in bodies]
    ready = threading.Barrier(clients + 1)

    def client(url: str) -> None:
        api = bench_api.Api(url, lean=True)
        api.call("GET", "/networks?limit=1")  # connected before the clock starts
        ready.wait()
        while (i := jobs.get()) is not None:
            create = creates[i]
            create.sent = time.perf_counter()
            try:
                answer = api.call("POST", "/ports", {"port": bodies[i]}, 201)
            except Exception as error:
                create.error = str(error)[:300]
                continue
            create.answered = time.perf_counter()
            create.port_id = answer["port"]["id"]
            watcher.watch(create.port_id)
        api.close()

    threads = [
        threading.Thread(target=client, args=(urls[k % len(urls)],), daemon=True)
        for k in range(clients)
    ]
    for thread in threads:
        thread.start()
    ready.wait()
    start = time.perf_counter() + 0.05
    for i, create in enumerate(creates):
        create.due = start + i / rate
        delay = create.due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        jobs.put(i)
    for _ in threads:
        jobs.put(None)
    for thread in threads:
        thread.join()
    return creates, max((c.answered for c in creates), default=start) - start


def rate_bodies(
    networks: Sequence[tuple[str, str]], hosts: Sequence[Host], count: int, *, seed: int, tag: str
) -> list[Body]:
    """``count`` ports, each in a random VPC on a random host."""
    rng = random.Random(seed)
    return [
        port_body(rng.choice(networks), rng.choice(hosts).name, f"{tag}{i}") for i in range(count)
    ]


def rate_run(
    urls: Sequence[str], bodies: Sequence[Body], args: argparse.Namespace
) -> tuple[list[Create], float, Watcher]:
    """One open-loop run at --a-rate through the API processes ``urls`` (the first is watched),
    waiting (up to --settle seconds) for every port's ACTIVE."""
    with Watcher(urls[0], interval=args.poll_ms / 1000) as watcher:
        creates, seconds = open_loop(
            urls, bodies, rate=args.a_rate, clients=args.a_clients, watcher=watcher
        )
        watcher.wait([c.port_id for c in creates if c.port_id], args.settle)
    return creates, seconds, watcher


def part_a(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    sim = Sim(prefix="a-", count=args.a_hosts, underlay_base="10.128.0.0", directory=directory)
    split = args.a_roles == "split" or args.a_apis > 1 or args.a_southbounds > 1
    with (
        store_for(args) as db_url,
        controller(
            args,
            directory,
            roles="split" if split else "all",
            apis=args.a_apis,
            southbounds=args.a_southbounds,
            db_url=db_url,
        ) as servers,
        nodes_then_sims(servers, [sim], metrics=getattr(args, "metrics_on", False)) as ends,
    ):
        server = servers[0]
        urls = [s.url for s in servers if s.role != "southbound"]
        api = bench_api.Api(server.url)
        connect = wait_for(
            "hosts connected",
            lambda: summary(api)["connected"] >= args.a_hosts,
            timeout=args.settle,
        )
        networks = vpcs(api, args.a_vpcs, prefix="bench-a-", cidr="10.0.0.0/20")
        warm = int(args.a_rate * args.a_warmup)
        measured = int(args.a_rate * args.a_seconds)
        bodies = rate_bodies(networks, sim.hosts, warm + measured, seed=args.seed, tag="a")
        if warm:
            rate_run(urls, bodies[:warm], args)
        before = traffic(host_reports(api))
        creates, seconds, watcher = rate_run(urls, bodies[warm:], args)
        after = traffic(host_reports(api))
        memory = resident(servers, [sim])
        cpu = cpu_used(servers, [sim])
        api.close()
    return {
        "part": "a",
        "roles": "split" if split else "all",
        "db": args.a_db,
        "api_processes": args.a_apis,
        "southbound_processes": args.a_southbounds,
        "hosts": args.a_hosts,
        "vpcs": args.a_vpcs,
        "rate": args.a_rate,
        "warmup_ports": warm,
        "connect_s": round(connect, 2),
        **rate_figures(creates, seconds, watcher),
        "delivered": {k: after[k] - before[k] for k in after},
        "memory": memory,
        "cpu": cpu,
        "sim": ends,
    }


def rate_figures(creates: Sequence[Create], seconds: float, watcher: Watcher) -> dict[str, Any]:
    answered = [c for c in creates if c.port_id]
    active = [(c, watcher.when(c.port_id)) for c in answered]
    return {
        "ports": len(creates),
        "achieved_per_s": round(len(answered) / seconds, 1) if seconds > 0 else None,
        "create_errors": len(creates) - len(answered),
        "first_error": next((c.error for c in creates if c.error), ""),
        "not_active": sum(when is None for _, when in active),
        "send_lag": latency([c.sent - c.due for c in creates]),
        "api": latency([c.answered - c.due for c in answered]),
        "active": latency([when - c.due for c, when in active if when is not None]),
        "poll": watcher.resolution(),
    }


def traffic(reports: Sequence[dict[str, Any]]) -> dict[str, int]:
    """What the server says it sent to all hosts, summed."""
    return {
        name: sum(r[f"{name}_sent"] for r in reports)
        for name in ("messages", "entries", "snapshots")
    }


# --- b: one create as the VPC grows ------------------------------------------------------------


@dataclass
class Sample:
    port_id: str
    size: int
    api_s: float
    active_s: float | None


def say(text: str) -> None:
    """Progress, on stderr (the figures go to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def grow(
    api: bench_api.Api, vpc: tuple[str, str], hosts: Sequence[Host], have: int, size: int
) -> int:
    """Bulk-create ports in the VPC, round robin over the hosts, until it holds ``size``."""
    bodies = [port_body(vpc, hosts[i % len(hosts)].name, f"g{i}") for i in range(have, size)]
    api.create_many(bench_api.PORTS, bodies, BULK)
    return max(have, size)


def single_create(
    api: bench_api.Api, watcher: Watcher, body: Body, *, size: int, timeout: float
) -> Sample:
    """One POST, then wait until the port is seen ACTIVE."""
    started = time.perf_counter()
    port_id = str(api.call("POST", "/ports", {"port": body}, 201)["port"]["id"])
    answered = time.perf_counter()
    watcher.watch(port_id)
    watcher.wait([port_id], timeout)
    when = watcher.when(port_id)
    return Sample(port_id, size, answered - started, None if when is None else when - started)


def part_b(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    fresh_count = len(args.b_sizes) * args.b_new_host
    sim = Sim(
        prefix="b-",
        count=args.b_hosts + fresh_count,
        underlay_base="10.129.0.0",
        directory=directory,
    )
    serving, fresh = sim.hosts[: args.b_hosts], sim.hosts[args.b_hosts :]
    rows: list[dict[str, Any]] = []
    samples: list[Sample] = []
    with (
        controller(args, directory) as servers,
        nodes_then_sims(servers, [sim], metrics=getattr(args, "metrics_on", False)) as ends,
    ):
        server = servers[0]
        api = bench_api.Api(server.url)
        wait_for("hosts", lambda: summary(api)["connected"] >= len(sim.hosts), timeout=args.settle)
        vpc = vpcs(api, 1, prefix="bench-b-", cidr=args.b_cidr)[0]
        have = 0
        with Watcher(server.url, interval=args.poll_ms / 1000) as watcher:
            for k, size in enumerate(args.b_sizes):
                row, have = size_step(api, watcher, vpc, serving, have, size, args)
                news = fresh[k * args.b_new_host : (k + 1) * args.b_new_host]
                row["new_host"] = new_host_samples(api, watcher, vpc, news, size, args)
                rows.append(row)
                samples += row.pop("samples")
            poll = watcher.resolution()
        memory = resident(servers, [sim])
        cpu = cpu_used(servers, [sim])
        api.close()
    say("b: replaying the change log into an Engine to time it")
    engine, replay = engine_times(directory / "alcor.db", {s.port_id: s.size for s in samples})
    for row in rows:
        row["engine"] = engine.get(row["size"], {})
    return {
        "part": "b",
        "hosts": args.b_hosts,
        "rows": rows,
        "poll": poll,
        "replay": replay,
        "memory": memory,
        "cpu": cpu,
        "sim": ends,
    }


def size_step(
    api: bench_api.Api,
    watcher: Watcher,
    vpc: tuple[str, str],
    serving: Sequence[Host],
    have: int,
    size: int,
    args: argparse.Namespace,
) -> tuple[dict[str, Any], int]:
    """Grow the VPC to ``size``, let every host catch up, then the single creates."""
    started = time.perf_counter()
    have = grow(api, vpc, serving, have, size)
    bulk_s = time.perf_counter() - started
    hosts = args.b_hosts + len(args.b_sizes) * args.b_new_host
    settle_s = wait_for("settled", lambda: settled(api, hosts), timeout=args.settle, every=0.25)
    say(f"b: {size} ports: bulk {bulk_s:.1f} s, every host caught up {settle_s:.1f} s later")
    found = []
    for i in range(args.b_samples):
        host = serving[(have + i) % len(serving)].name
        body = port_body(vpc, host, f"s{size}-{i}")
        found.append(single_create(api, watcher, body, size=size, timeout=args.settle))
        time.sleep(args.b_gap_ms / 1000)
    row = {
        "size": size,
        "bulk_s": round(bulk_s, 2),
        "settle_s": round(settle_s, 2),
        "api": latency([s.api_s for s in found]),
        "active": latency([s.active_s for s in found if s.active_s is not None]),
        "not_active": sum(s.active_s is None for s in found),
        "samples": found,
    }
    return row, have + len(found)


def new_host_samples(
    api: bench_api.Api,
    watcher: Watcher,
    vpc: tuple[str, str],
    hosts: Sequence[Host],
    size: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """A port on each of ``hosts`` (new to the VPC: it gets the whole neighbor set), each
    deleted afterwards (the host is sent the removals) before the next."""
    found = []
    total = args.b_hosts + len(args.b_sizes) * args.b_new_host
    for i, host in enumerate(hosts):
        body = port_body(vpc, host.name, f"n{size}-{i}")
        sample = single_create(api, watcher, body, size=size, timeout=args.settle)
        found.append(sample)
        api.call("DELETE", f"/ports/{sample.port_id}", expect=204)
        wait_for("settled", lambda: settled(api, total), timeout=args.settle, every=0.25)
    return {
        "active": latency([s.active_s for s in found if s.active_s is not None]),
        "not_active": sum(s.active_s is None for s in found),
    }


def engine_times(
    db: Path, wanted: dict[str, int]
) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    """Replay the change log into a new ``Engine``, timing ``apply`` on every change; the
    creates of the ``wanted`` ports (id -> VPC size) grouped by size: time, hosts, entries."""
    before_mb = proc_mb(os.getpid())
    engine = Engine()
    times: dict[int, list[float]] = {}
    fanout: dict[int, list[tuple[int, int]]] = {}
    total, changes = 0.0, 0
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as connection:
        rows = connection.execute(
            "SELECT revision, resource_type, resource_id, operation, data FROM change_log "
            "ORDER BY revision"
        )
        decoders = {kind: msgspec.json.Decoder(t) for kind, t in LOGGED_TYPES.items()}
        for revision, resource_type, resource_id, operation, data in rows:
            record = decoders[resource_type].decode(data)
            started = time.perf_counter()
            deltas = engine.apply(revision, operation, record)
            spent = time.perf_counter() - started
            total += spent
            changes += 1
            size = wanted.get(resource_id)
            if size is not None and operation == "create":
                times.setdefault(size, []).append(spent)
                entries = sum(len(found) for found in deltas.values())
                fanout.setdefault(size, []).append((len(deltas), entries))
    by_size = {
        size: latency(spent, "us")
        | {
            "hosts": max(h for h, _ in fanout[size]),
            "entries": max(e for _, e in fanout[size]),
        }
        for size, spent in times.items()
    }
    replay = {
        "changes": changes,
        "seconds": round(total, 2),
        "engine_mb": round(proc_mb(os.getpid()) - before_mb, 1),
    }
    return by_size, replay


# --- c: many hosts, many ports, a controller restart -------------------------------------------


def scale_bodies(
    networks: Sequence[tuple[str, str]], hosts: Sequence[Host], ports: int, args: argparse.Namespace
) -> Iterator[list[Body]]:
    """The ports in chunks for bulk POSTs: VPC v's ports go round robin to the hosts
    v * vh .. v * vh + vh - 1 (mod hosts), vh = --c-vpc-hosts."""
    chunk: list[Body] = []
    per_vpc, spread = args.c_vpc_ports, args.c_vpc_hosts
    for i in range(ports):
        v, j = divmod(i, per_vpc)
        host = hosts[(v * spread + j % spread) % len(hosts)]
        chunk.append(port_body(networks[v], host.name, f"c{i}"))
        if len(chunk) == BULK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load_scale(api: bench_api.Api, hosts: Sequence[Host], args: argparse.Namespace) -> float:
    """Nodes, VPCs and ports, in bulk; the seconds it took."""
    started = time.perf_counter()
    register_nodes(api, hosts)
    count = -(-args.c_ports // args.c_vpc_ports)
    networks = vpcs(api, count, prefix="bench-c-", cidr="10.0.0.0/20")
    done = 0
    for chunk in scale_bodies(networks, hosts, args.c_ports, args):
        api.create_many(bench_api.PORTS, chunk, BULK)
        done += len(chunk)
        if done % (args.c_ports // 10 or 1) < len(chunk):
            say(f"c: {done:,} ports loaded, {time.perf_counter() - started:.0f} s")
    return time.perf_counter() - started


def all_in(api: bench_api.Api, hosts: int, *, every: float, timeout: float) -> dict[str, float]:
    """Seconds until every host connected, and until every host acknowledged all it was sent."""
    started = time.perf_counter()
    wait_for("connected", lambda: summary(api)["connected"] >= hosts, timeout=timeout, every=0.25)
    connected = time.perf_counter() - started
    wait_for("acknowledged", lambda: settled(api, hosts), timeout=timeout, every=every)
    return {"connected_s": round(connected, 2), "acked_s": round(time.perf_counter() - started, 2)}


def part_c(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    """With ``--c-sims 0`` no host connects: the restart is the server's alone (ready only)."""
    alone = args.c_sims == 0
    sims = sims_for(
        args.c_hosts,
        processes=max(1, args.c_sims),
        prefix="c",
        base="10.64.0.0",
        directory=directory,
    )
    hosts = [host for sim in sims for host in sim.hosts]
    found: dict[str, Any] = {"part": "c", "hosts": args.c_hosts, "ports": args.c_ports}
    ends: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(controller(args, directory))[0]
        api = bench_api.Api(server.url)
        found["load_s"] = round(load_scale(api, hosts, args), 1)
        assert server.process is not None
        found["server_mb_loaded"] = proc_mb(server.process.pid)
        southbound_port = int(server.southbound.rpartition(":")[2])
        if not alone:
            say(f"c: loaded in {found['load_s']} s; starting {len(sims)} sims")
            ends = stack.enter_context(running_sims(sims, server.southbound))
            found["connect"] = all_in(api, len(hosts), every=2.0, timeout=args.c_timeout)
            found["connect"] |= connection_figures(api, server, sims, southbound_port)
            say(f"c: all connected and acknowledged: {found['connect']}")
        found["checkpoint"] = checkpoint_at_head(server.db_path, wait=args.c_checkpoint_wait)
        say(f"c: engine checkpoint: {found['checkpoint']}")
        server.kill()
        killed = time.perf_counter()
        again = ServerProcess(
            server.db_path, *server_options(args), port=server.port, southbound=server.southbound
        )
        stack.callback(again.stop)
        again.start(timeout=args.c_timeout)
        http_s = time.perf_counter() - killed
        ready_s = http_s + wait_for("ready", lambda: summary(api)["ready"], timeout=args.c_timeout)
        found["resync"] = {"http_s": round(http_s, 2), "ready_s": round(ready_s, 2)}
        if not alone:
            resync = all_in(api, len(hosts), every=2.0, timeout=args.c_timeout)
            found["resync"] |= {k: round(v + ready_s, 2) for k, v in resync.items()}
            found["resync"] |= connection_figures(api, again, sims, southbound_port)
        say(f"c: after the restart: {found['resync']}")
        api.close()
    found["sim"] = ends
    return found


def checkpoint_at_head(db: Path, *, wait: float) -> dict[str, Any]:
    """Wait up to ``wait`` seconds for the server's newest engine checkpoint to be at the
    store's revision (a restart then restores it and replays nothing); what there is then."""

    def now() -> tuple[int, int]:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as connection:
            (revision,) = connection.execute("SELECT revision FROM store_revision").fetchone()
            (newest,) = connection.execute(
                "SELECT coalesce(max(revision), 0) FROM engine_checkpoints"
            ).fetchone()
        return int(revision), int(newest)

    started = time.perf_counter()
    revision, newest = now()
    while newest < revision and time.perf_counter() - started < wait:
        time.sleep(1.0)
        revision, newest = now()
    return {
        "revision": revision,
        "checkpoint_revision": newest,
        "waited_s": round(time.perf_counter() - started, 1),
    }


def connection_figures(
    api: bench_api.Api, server: ServerProcess, sims: Sequence[Sim], port: int
) -> dict[str, Any]:
    """Bytes on the southbound's sockets, what the server says it sent, memory."""
    assert server.process is not None
    return {
        "bytes": socket_bytes(port),
        "server_says": traffic(host_reports(api)),
        "server_mb": proc_mb(server.process.pid),
        "server_peak_mb": proc_mb(server.process.pid, "VmHWM"),
        "sim_mb": round(sum(proc_mb(sim.pid) for sim in sims), 1),
        "streams": streams_opened(sims),
    }


def streams_opened(sims: Sequence[Sim]) -> int:
    """Streams the sims' hosts opened so far (their status files, written every 5 s: wait
    for the next one)."""
    time.sleep(5.5)
    opened = 0
    for sim in sims:
        with contextlib.suppress(OSError, ValueError, KeyError):
            opened += json.loads(sim.status_path.read_text())["totals"]["sessions"]
    return opened


# --- the report ------------------------------------------------------------------------------


def _ms(figures: dict[str, Any], *names: str) -> str:
    return " / ".join("-" if figures.get(n) is None else f"{figures[n]:,.1f}" for n in names)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return [
        "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in (header, ["-" * w for w in widths], *rows)
    ]


def text_a(a: dict[str, Any]) -> list[str]:
    d = a["delivered"]
    return [
        f"a) {a['ports']:,} ports at {a['rate']:,.0f}/s, open loop, across {a['hosts']:,} hosts "
        f"({a['db']}, roles {a['roles']}: {a['api_processes']} API and "
        f"{a['southbound_processes']} southbound processes) "
        f"in {a['vpcs']:,} VPCs (after {a['warmup_ports']:,} warm-up ports); achieved "
        f"{a['achieved_per_s']:,.1f}/s; {a['create_errors']} create errors, "
        f"{a['not_active']} never ACTIVE",
        *_table(
            ("from due time to", "n", "p50 / p99 / max ms"),
            [
                ("API answer", str(a["api"]["n"]), _ms(a["api"], "p50_ms", "p99_ms", "max_ms")),
                (
                    "ACTIVE seen",
                    str(a["active"]["n"]),
                    _ms(a["active"], "p50_ms", "p99_ms", "max_ms"),
                ),
                (
                    "sent (client lag)",
                    str(a["send_lag"]["n"]),
                    _ms(a["send_lag"], "p50_ms", "p99_ms", "max_ms"),
                ),
                ("poll cycle", str(a["poll"]["n"]), _ms(a["poll"], "p50_ms", "p99_ms", "max_ms")),
            ],
        ),
        f"   {a['hosts']:,} hosts connected in {a['connect_s']} s; sent during the run: "
        f"{d['messages']:,} goal states, {d['entries']:,} entries "
        f"({d['entries'] / max(1, a['ports']):,.1f} a port), {d['snapshots']} snapshots",
        f"   memory: server {a['memory']['server_mb']:,} MiB, sim {a['memory']['sim_mb']:,} MiB"
        + (f"; first error: {a['first_error']}" if a["first_error"] else ""),
    ]


def text_b(b: dict[str, Any]) -> list[str]:
    rows = []
    for r in b["rows"]:
        engine, alcor = r["engine"], ALCOR_MS.get(r["size"])
        new = r["new_host"]["active"]
        rows.append(
            (
                f"{r['size']:,}",
                f"{r['bulk_s']:.1f} / {r['settle_s']:.1f}",
                str(r["api"]["n"]),
                _ms(r["api"], "p50_ms", "p99_ms"),
                _ms(r["active"], "p50_ms", "p99_ms", "max_ms"),
                _ms(engine, "p50_us", "p99_us"),
                f"{engine.get('hosts', '-')} / {engine.get('entries', '-')}",
                f"{_ms(new, 'p50_ms', 'max_ms')} ({new['n']})",
                "-" if alcor is None else f"{alcor:,.0f}",
            )
        )
    replay = b["replay"]
    return [
        f"b) one VPC grown over {b['hosts']} hosts; single creates on hosts already serving it",
        *_table(
            (
                "ports",
                "bulk/settle s",
                "n",
                "API p50/p99 ms",
                "ACTIVE p50/p99/max ms",
                "engine p50/p99 µs",
                "hosts/entries",
                "new host ACTIVE p50/max ms (n)",
                "Alcor ms",
            ),
            rows,
        ),
        f"   target: ACTIVE p99 <= {TARGET_P99_MS:.0f} ms at 100,000 ports. Engine: "
        f"Engine.apply in this process, the change log replayed ({replay['changes']:,} changes, "
        f"{replay['seconds']} s of apply; the engine then held {replay['engine_mb']:,} MiB). "
        "Poll cycle p50/p99 "
        f"{_ms(b['poll'], 'p50_ms', 'p99_ms')} ms.",
        f"   memory: server {b['memory']['server_mb']:,} MiB, sim {b['memory']['sim_mb']:,} MiB",
    ]


def _phase(name: str, p: dict[str, Any]) -> str:
    says, sent = p["server_says"], p["bytes"]
    return (
        f"   {name}: all connected {p['connected_s']} s, all acknowledged {p['acked_s']} s; "
        f"southbound bytes sent {sent['sent']:,}, received {sent['received']:,} "
        f"({sent['sockets']} sockets); server says {says['messages']:,} goal states, "
        f"{says['entries']:,} entries, {says['snapshots']:,} snapshots; server "
        f"{p['server_mb']:,} MiB (peak {p['server_peak_mb']:,}), sims {p['sim_mb']:,} MiB; "
        f"streams the hosts opened so far: {p['streams']:,}"
    )


def text_c(c: dict[str, Any]) -> list[str]:
    r = c["resync"]
    return [
        f"c) {c['hosts']:,} hosts, {c['ports']:,} ports: loaded (nodes, VPCs, ports; no agent "
        f"connected) in {c['load_s']} s; server {c['server_mb_loaded']:,} MiB",
        *([_phase("connect (from the sims' start)", c["connect"])] if "connect" in c else []),
        f"   engine checkpoint before the kill: revision {c['checkpoint']['checkpoint_revision']:,}"
        f" of {c['checkpoint']['revision']:,} (waited {c['checkpoint']['waited_s']} s)",
        f"   restart (kill -9, from the kill): HTTP answers {r['http_s']} s, engine ready "
        f"{r['ready_s']} s",
        *([_phase("resync (from the kill)", r)] if "acked_s" in r else []),
    ]


def text(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"command:  {report['command']}",
        f"machine:  {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, SQLite {m['sqlite']}, "
        f"Linux {m['kernel']}; load {report['load_before']} before, {report['load_after']} after",
        f"server:   alcor (started here), sync {report['sync']}, db on {report['filesystem']}",
    ]
    for part in report["results"]:
        shown = {"a": text_a, "b": text_b, "c": text_c}[part["part"]](part)
        lines += ["", f"[metrics {part.get('metrics', 'off')}]", *shown]
    cost = metrics_cost(report["results"])
    return "\n".join([*lines, *(["", *cost] if cost else [])])


def metrics_cost(results: Sequence[dict[str, Any]]) -> list[str]:
    """With --metrics off,on: the medians, over the runs of each, of a's and b's latencies with
    metrics on as a share of off (lower is better)."""
    runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    for result in results:
        runs[result.get("metrics", "off")].append(result)
    if not runs["off"] or not runs["on"]:
        return []
    figures: dict[str, dict[str, list[float]]] = {}
    for metrics, found in runs.items():
        for result in found:
            for name, figure in _latencies(result).items():
                if figure is None:  # no sample
                    continue
                figures.setdefault(name, {"off": [], "on": []})[metrics].append(figure)
    lines = ["metrics on as a share of off, medians over the runs of each (lower is better):"]
    for name, both in figures.items():
        if both["off"] and both["on"]:
            off, on = statistics.median(both["off"]), statistics.median(both["on"])
            share = f"{on / off:.1%}" if off else "-"
            lines.append(f"  {name}: off {off:,.2f}, on {on:,.2f}: {share}")
    return lines


def _latencies(result: dict[str, Any]) -> dict[str, float | None]:
    """Part a's and b's latencies (ms) that metrics could slow down, and the CPU (s) the
    controller and the sims used for the part."""
    if result["part"] not in ("a", "b"):
        return {}
    found: dict[str, float | None] = {
        f"{result['part']} CPU, {who} (s)": result["cpu"][f"{who}_s"] for who in ("server", "sim")
    }
    rows = (
        [("a", result)]
        if result["part"] == "a"
        else [(f"b {row['size']:,} ports:", row) for row in result["rows"]]
    )
    for name, row in rows:
        for what, key in (("API answer", "api"), ("ACTIVE seen", "active")):
            for q in ("p50", "p99"):
                found[f"{name} {what} {q} ms"] = row[key][f"{q}_ms"]
    return found


# --- the command -----------------------------------------------------------------------------

QUICK = {
    "a_hosts": 50,
    "a_vpcs": 10,
    "a_rate": 100.0,
    "a_seconds": 2.0,
    "a_warmup": 0.5,
    "b_hosts": 5,
    "b_sizes": [1, 100, 1000],
    "b_samples": 10,
    "b_new_host": 1,
    "c_hosts": 200,
    "c_ports": 5000,
    "c_sims": 1,
}


def _sizes(text: str) -> list[int]:
    sizes = [int(s.replace("_", "")) for s in text.split(",") if s]
    if not sizes or sizes != sorted(sizes) or sizes[0] < 1:
        raise argparse.ArgumentTypeError(f"expected growing sizes such as 1,1000, got {text!r}")
    return sizes


PART_OPTIONS: dict[str, list[tuple[str, Any, object, str]]] = {
    "a: ports at a fixed rate": [
        ("--a-hosts", int, 1000, "simulated hosts"),
        ("--a-vpcs", int, 1000, "VPCs (a project each)"),
        ("--a-rate", float, 500.0, "creates per second"),
        ("--a-seconds", float, 20.0, "measured seconds"),
        ("--a-warmup", float, 2.0, "seconds at the rate before"),
        ("--a-clients", int, 32, "client threads"),
        ("--a-roles", str, "all", "all: one controller process; split: an api and a southbound"),
        ("--a-apis", int, 1, "API processes (more than 1: roles split)"),
        ("--a-southbounds", int, 1, "southbound processes (more than 1: roles split)"),
        ("--a-db", str, "sqlite", "sqlite, or postgresql (a private cluster started here)"),
    ],
    "b: one create as the VPC grows": [
        ("--b-hosts", int, 20, "hosts the VPC's ports spread over"),
        ("--b-sizes", _sizes, [1, 1000, 10_000, 100_000], "ports"),
        ("--b-samples", int, 200, "single creates at each size"),
        ("--b-new-host", int, 3, "creates on a new host, per size"),
        ("--b-gap-ms", float, 10.0, "pause between single creates"),
        ("--b-cidr", str, "10.0.0.0/12", "the VPC's subnet"),
    ],
    "c: many hosts and ports, a controller restart": [
        ("--c-hosts", int, 10_000, "simulated hosts"),
        ("--c-ports", int, 100_000, "ports (the issue's 1,000,000: docs/benchmarks.md)"),
        ("--c-vpc-ports", int, 100, "ports in each VPC"),
        ("--c-vpc-hosts", int, 10, "hosts a VPC's ports go to"),
        ("--c-sims", int, 2, "alcor sim processes sharing the hosts (0: none, a restart alone)"),
        ("--c-timeout", float, 1800.0, "seconds for each phase"),
        ("--c-checkpoint-every", int, None, "the server's --checkpoint-every (its default)"),
        (
            "--c-checkpoint-wait",
            float,
            150.0,
            "seconds to wait before the kill for an engine checkpoint at the store's revision",
        ),
    ],
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Goal state end to end: API to ACTIVE at a rate, as a VPC grows, and at "
        "scale with a controller restart.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--parts", default="abc", help="which parts to run: any of a, b, c")
    p.add_argument("--quick", action="store_true", help="every part small: a smoke run")
    p.add_argument("--sync", choices=("full", "normal"), default="full", help="server's --sync")
    p.add_argument("--poll-ms", type=float, default=2.0, help="pause between ACTIVE polls")
    p.add_argument("--settle", type=float, default=300.0, help="seconds to wait for ACTIVE")
    p.add_argument("--seed", type=int, default=1, help="of the random placement in a")
    p.add_argument("--dir", default=None, help="where the temporary databases go ($TMPDIR)")
    p.add_argument("--json", action="store_true", help="print one JSON object, not tables")
    p.add_argument(
        "--metrics",
        default="off",
        help="a comma list, every part run for each: off, or on (the controller and the sims "
        "serve /metrics on --metrics-bind, scraped every "
        f"{bench_api.SCRAPE_INTERVAL:g} s); off,on,off,on compares them in one run",
    )
    for title, options in PART_OPTIONS.items():
        group = p.add_argument_group(title)
        for flag, kind, default, help_text in options:
            group.add_argument(flag, type=kind, default=default, help=help_text)
    return p


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    p = parser()
    args = p.parse_args(argv)
    if args.quick:  # quick values, unless given on the command line
        given = {
            a.dest for a in p._actions if any(o in (argv or sys.argv[1:]) for o in a.option_strings)
        }
        for name, value in QUICK.items():
            if name not in given:
                setattr(args, name, value)
    if set(args.parts) - set("abc") or not args.parts:
        p.error("--parts: letters among a, b, c")
    if not set(args.metrics.split(",")) <= set(bench_api.METRICS):
        p.error("--metrics: a comma list of off and on")
    args.metrics_on = False
    if args.a_roles not in ("all", "split"):
        p.error("--a-roles: all or split")
    if args.a_db not in ("sqlite", "postgresql") or min(args.a_apis, args.a_southbounds) < 1:
        p.error("--a-db: sqlite or postgresql; --a-apis and --a-southbounds: at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the children on the way out
    parent = Path(args.dir).resolve() if args.dir else None
    report: dict[str, Any] = {
        "command": bench_api.command_line(),
        "machine": bench_api.machine(),
        "load_before": load_average(),
        "sync": args.sync,
        "parameters": {k: v for k, v in vars(args).items() if k != "json"},
        "results": [],
    }
    runs = {"a": part_a, "b": part_b, "c": part_c}
    for metrics in args.metrics.split(","):
        args.metrics_on = metrics == "on"
        for part in "abc":
            if part not in args.parts:
                continue
            with tempfile.TemporaryDirectory(prefix=f"alcor-goalstate-{part}-", dir=parent) as tmp:
                report["filesystem"] = bench_api.filesystem_of(Path(tmp))
                say(f"part {part}, metrics {metrics}: starting (load {load_average()})")
                result = runs[part](args, Path(tmp))
                result["metrics"] = metrics
                report["results"].append(result)
    report["load_after"] = load_average()
    print(json.dumps(report, indent=2) if args.json else text(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
