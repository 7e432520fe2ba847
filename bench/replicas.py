"""Write throughput of the API by store and by number of API processes: ``make bench-replicas``.

Runs each configuration on a fresh database, one after the other, in one run on this machine:

    SQLite, 1 API process          its file on disk in a temporary directory, ``--sync full``
    PostgreSQL, N API processes    for each N of ``--processes`` (1 and 3 by default): a fresh
                                   database on one private cluster started here (``initdb`` in a
                                   temporary directory, its own loopback port; fsync and
                                   synchronous_commit on, PostgreSQL's defaults)

Every API process runs with ``--southbound off`` (API processes of a shared store serve no
agents) and is started one at a time (the first migrates the schema). Ports, all on one network
with a /16 subnet made through the first process (``--network-per-process``: one network for
each process's clients, to tell apart what sharing a network costs):

    warm-up     ``--warmup`` ports through each process, one at a time (counted in the check)
    concurrent  ``--concurrent`` single-port POSTs by ``--clients`` threads, each with its own
                keep-alive client; client i talks to process i mod N, as a load balancer spreads
                connections over its backends
    bulk        ``--bulk`` ports in POSTs of ``--bulk-size``, one thread per process, each sending
                every N-th POST to its own process
    concurrent  ``--concurrent-full`` single-port POSTs as before, on the network now holding
      (full)    every port made so far: whether a create's cost depends on the network's size

Every phase is timed by the wall clock from the moment every thread is ready to the last answer;
the bodies are encoded before and the answers decoded after. p50/p99 are per request.

**The check.** A run whose ports are wrong must not be reported as fast: every POST must be
answered 201 with as many ports as it sent, no two ports made may share an id, an address in a
subnet or a MAC on a network (as in Neutron, a MAC may repeat on another network), each has one
address, and a listing of the networks through every process must hold exactly the ports made,
no more, no fewer, and no address or MAC twice either. Any server log line with ERROR or a
Traceback fails the run too. A failed check raises: no table is printed.

It prints a table (or ``--json``) with the exact command, the machine, the PostgreSQL server and
the load average before and after. Every process and the cluster started here are stopped at the
end, on failure and on Ctrl-C or SIGTERM as well.

    .venv/bin/python bench/replicas.py                          # what `make bench-replicas` runs
    .venv/bin/python bench/replicas.py --runs 3                 # median of 3 runs, interleaved
    .venv/bin/python bench/replicas.py --processes 1,2,3 --no-sqlite --json
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import msgspec

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import api as bench_api  # noqa: E402
from bench import goalstate as bench_goalstate  # noqa: E402
from tests import databases  # noqa: E402
from tests.servers import ServerProcess  # noqa: E402

SQLITE, POSTGRESQL = "sqlite", "postgresql"
STORE_NAMES = {SQLITE: "SQLite", POSTGRESQL: "PostgreSQL"}
Port = dict[str, Any]
LISTED = "fields=id&fields=network_id&fields=mac_address&fields=fixed_ips"


@dataclass(frozen=True)
class Target:
    """An API process and the network its clients make ports on."""

    url: str
    network_id: str


class Broken(RuntimeError):
    """The ports made are not what was asked for: the run's figures mean nothing."""


@dataclass(frozen=True)
class Setup:
    """One configuration: a store and how many API processes write to it."""

    store: str
    processes: int

    @property
    def label(self) -> str:
        plural = "es" if self.processes > 1 else ""
        return f"{STORE_NAMES[self.store]}, {self.processes} process{plural}"


# --- sending ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """What a phase's threads got: the wall-clock seconds, each answer and each exchange's
    seconds."""

    seconds: float
    answers: list[bytes]
    latencies: list[float]


def send_at_once(jobs: Sequence[tuple[str, Sequence[bytes]]]) -> Sent:
    """One thread per job, each POSTing its bodies to /v2.0/ports of its URL one after the other
    on its own keep-alive client, all threads started together. Any answer but 201 fails."""
    apis = [bench_api.Api(url) for url, _ in jobs]
    answers: list[list[bytes]] = [[] for _ in jobs]
    latencies: list[list[float]] = [[] for _ in jobs]
    failures: list[BaseException] = []
    start = threading.Barrier(len(jobs) + 1)

    def sender(index: int) -> None:
        api, (_, bodies) = apis[index], jobs[index]
        start.wait()
        try:
            for content in bodies:
                answer, elapsed = api.exchange("POST", "/ports", content, 201)
                answers[index].append(answer)
                latencies[index].append(elapsed)
        except BaseException as error:
            failures.append(error)

    try:
        for api in apis:  # every connection open before the clock starts
            api.call("GET", "/networks?limit=1")
        threads = [
            threading.Thread(target=sender, args=(i,), daemon=True) for i in range(len(jobs))
        ]
        for thread in threads:
            thread.start()
        start.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
    finally:
        for api in apis:
            api.close()
    if failures:
        raise Broken(f"{len(failures)} sender(s) failed, first: {failures[0]}")
    return Sent(
        seconds,
        [answer for mine in answers for answer in mine],
        [latency for mine in latencies for latency in mine],
    )


def shares(count: int, parts: int) -> list[range]:
    """``range(count)`` cut into ``parts`` consecutive pieces as even as can be."""
    sizes = [count // parts + (1 if i < count % parts else 0) for i in range(parts)]
    firsts = [sum(sizes[:i]) for i in range(parts)]
    return [range(first, first + size) for first, size in zip(firsts, sizes, strict=True)]


def concurrent(
    targets: Sequence[Target], *, count: int, clients: int, name: str, before: int
) -> tuple[bench_api.Phase, list[Port]]:
    """``count`` single-port POSTs by ``clients`` threads, client i to process i mod N (and
    that process's network), the networks already holding ``before`` ports."""
    jobs = [
        (
            targets[client % len(targets)].url,
            [
                msgspec.json.encode(
                    {
                        "port": bench_api.port(
                            targets[client % len(targets)].network_id, f"{name}-{i}"
                        )
                    }
                )
                for i in mine
            ],
        )
        for client, mine in enumerate(shares(count, clients))
    ]
    sent = send_at_once(jobs)
    ports = [msgspec.json.decode(answer)["port"] for answer in sent.answers]
    label = f"concurrent create ({clients} clients), {before:,} ports before"
    phase = bench_api.Phase(
        name, label, "ports", len(ports), sent.seconds, len(sent.latencies), sent.latencies
    )
    return phase, ports


def bulk(targets: Sequence[Target], *, count: int, size: int) -> tuple[bench_api.Phase, list[Port]]:
    """``count`` ports in POSTs of ``size``, one thread per process sending every N-th POST
    (to that process's network)."""
    posts = [range(first, min(first + size, count)) for first in range(0, count, size)]
    jobs = [
        (
            target.url,
            [
                msgspec.json.encode(
                    {"ports": [bench_api.port(target.network_id, f"b{i}") for i in post]}
                )
                for post in posts[number :: len(targets)]
            ],
        )
        for number, target in enumerate(targets)
        if posts[number :: len(targets)]
    ]
    sent = send_at_once(jobs)
    ports: list[Port] = []
    for answer, post in zip(sent.answers, (p for _, bodies in jobs for p in bodies), strict=True):
        made = msgspec.json.decode(answer)["ports"]
        asked = len(msgspec.json.decode(post)["ports"])
        if len(made) != asked:
            raise Broken(f"a bulk POST of {asked} ports answered {len(made)}")
        ports += made
    senders = f"{len(jobs)} sender" + ("s" if len(jobs) > 1 else "")
    label = f"bulk create ({size}/POST, {senders})"
    phase = bench_api.Phase(
        "bulk", label, "ports", len(ports), sent.seconds, len(sent.latencies), sent.latencies
    )
    return phase, ports


# --- the check -------------------------------------------------------------------------------


def duplicates(values: Sequence[str]) -> list[str]:
    return sorted(value for value, seen in Counter(values).items() if seen > 1)


def taken_twice(ports: Sequence[Port]) -> list[str]:
    """What several of the ports hold: an id, a MAC on one network, an address in one subnet
    (a MAC may repeat on another network, as in Neutron)."""
    found: list[str] = []
    for what, values in (
        ("ids", [port["id"] for port in ports]),
        ("MACs", [f"{port['network_id']} {port['mac_address']}" for port in ports]),
        (
            "IP addresses",
            [f"{ip['subnet_id']} {ip['ip_address']}" for port in ports for ip in port["fixed_ips"]],
        ),
    ):
        if twice := duplicates(values):
            found.append(f"{len(twice)} {what} held by several ports, e.g. {twice[:2]}")
    return found


def check(
    apis: Sequence[bench_api.Api], network_ids: Sequence[str], made: Sequence[Port]
) -> dict[str, int]:
    """What was made is right (see the module's docstring); raises ``Broken`` if not."""
    problems = [f"answered: {problem}" for problem in taken_twice(made)]
    if unaddressed := [port["id"] for port in made if len(port["fixed_ips"]) != 1]:
        problems.append(f"{len(unaddressed)} ports without exactly one address")
    ids = sorted(port["id"] for port in made)
    for number, api in enumerate(apis):
        listed = [
            port
            for network_id in network_ids
            for port in api.call("GET", f"/ports?network_id={network_id}&{LISTED}")["ports"]
        ]
        if sorted(port["id"] for port in listed) != ids:
            problems.append(f"process {number} lists {len(listed)} ports, {len(made)} made")
        problems += [f"process {number} lists {problem}" for problem in taken_twice(listed)]
    if problems:
        raise Broken("; ".join(problems))
    return {"ports": len(made), "listed_through": len(apis)}


# --- processes -------------------------------------------------------------------------------


@contextlib.contextmanager
def api_processes(
    setup: Setup, *, db_url: str, directory: Path, sync: str
) -> Iterator[list[ServerProcess]]:
    """``setup.processes`` API processes on the store, started one at a time (the first
    migrates the schema), all stopped at the end; a logged error fails the run."""
    extra = ("--sync", sync) if setup.store == SQLITE else ()
    started: list[ServerProcess] = []
    try:
        for number in range(setup.processes):
            log = directory / f"{setup.store}-{setup.processes}-api{number}.db"
            server = ServerProcess(log, *extra, db_url=db_url, southbound="off")
            started.append(server)
            server.start()
        yield started
    finally:
        for server in started:
            server.stop()
    errors = [server.errors_logged() for server in started]
    if any(errors):
        raise Broken("API processes logged errors:\n" + "\n".join(e for e in errors if e))


@contextlib.contextmanager
def private_cluster(needed: bool) -> Iterator[databases.PostgresCluster | None]:
    if not needed:
        yield None
        return
    cluster = databases.PostgresCluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def postgres_facts(cluster: databases.PostgresCluster) -> dict[str, str]:
    settings = ("server_version", "fsync", "synchronous_commit", "shared_buffers")
    facts = {name: cluster.sql(f"SHOW {name}").strip() for name in settings}
    facts["filesystem"] = bench_api.filesystem_of(cluster.root)
    return facts


def networks(api: bench_api.Api, urls: Sequence[str], args: argparse.Namespace) -> list[Target]:
    """A network with a subnet of ``--cidr``'s size for every process, made through the first
    process: the same one, or with ``--network-per-process`` one each (the next CIDRs)."""
    base = ipaddress.ip_network(args.cidr)
    count = len(urls) if args.network_per_process else 1
    made: list[str] = []
    for number in range(count):
        network_id = api.create(bench_api.NETWORKS, {"name": f"bench-replicas-{number}"})
        first = int(base.network_address) + number * base.num_addresses
        cidr = str(ipaddress.ip_network((first, base.prefixlen)))
        api.create(bench_api.SUBNETS, {"network_id": network_id, "ip_version": 4, "cidr": cidr})
        made.append(network_id)
    return [Target(url, made[number % count]) for number, url in enumerate(urls)]


def phases_on(
    targets: Sequence[Target], args: argparse.Namespace, made: list[Port]
) -> list[bench_api.Phase]:
    """The measured phases, in order; the ports they make are added to ``made``."""
    phases: list[bench_api.Phase] = []
    for name, count in (
        ("concurrent", args.concurrent),
        ("bulk", args.bulk),
        ("concurrent-full", args.concurrent_full),
    ):
        if not count:
            continue
        if name == "bulk":
            phase, ports = bulk(targets, count=count, size=args.bulk_size)
        else:
            phase, ports = concurrent(
                targets, count=count, clients=args.clients, name=name, before=len(made)
            )
        phases.append(phase)
        made += ports
    return phases


def measure(
    setup: Setup, *, cluster: databases.PostgresCluster | None, args: argparse.Namespace, run: int
) -> dict[str, Any]:
    """One configuration on a fresh database: its phases and its check."""
    with tempfile.TemporaryDirectory(prefix="alcor-bench-replicas-") as folder:
        directory = Path(folder)
        if setup.store == SQLITE:
            db_url = f"sqlite:///{directory / 'alcor.db'}"
        else:
            assert cluster is not None
            db_url = cluster.create_database(f"bench_{run}_{setup.processes}")
        with api_processes(setup, db_url=db_url, directory=directory, sync=args.sync) as servers:
            apis = [bench_api.Api(server.url) for server in servers]
            try:
                targets = networks(apis[0], [server.url for server in servers], args)
                made: list[Port] = [
                    api.call("POST", "/ports", {"port": bench_api.port(t.network_id, "w")}, 201)[
                        "port"
                    ]
                    for api, t in zip(apis, targets, strict=True)
                    for _ in range(args.warmup)
                ]
                phases = phases_on(targets, args, made)
                checked = check(apis, sorted({t.network_id for t in targets}), made)
            finally:
                for api in apis:
                    api.close()
    return {
        "store": setup.store,
        "processes": setup.processes,
        "label": setup.label,
        "run": run,
        "phases": [phase_summary(phase) for phase in phases],
        "check": checked,
    }


def phase_summary(phase: bench_api.Phase) -> dict[str, Any]:
    return {
        "phase": phase.name,
        "label": phase.label,
        "count": phase.count,
        "requests": phase.requests,
        "seconds": round(phase.seconds, 4),
        "per_s": round(phase.per_second, 1),
        "p50_ms": bench_api._rounded(phase.latency_ms(0.50)),
        "p99_ms": bench_api._rounded(phase.latency_ms(0.99)),
    }


# --- the report ------------------------------------------------------------------------------


def setups(args: argparse.Namespace) -> list[Setup]:
    found = [Setup(SQLITE, 1)] if args.sqlite else []
    return found + [Setup(POSTGRESQL, n) for n in args.processes]


def medians(measured: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per configuration and phase: the median run's figures by ports/s (the lower middle one of
    an even number) and the spread."""
    rows: list[dict[str, Any]] = []
    keys = dict.fromkeys((m["label"], p["phase"]) for m in measured for p in m["phases"])
    for label, name in keys:
        runs = [
            (m, p)
            for m in measured
            for p in m["phases"]
            if (m["label"], p["phase"]) == (label, name)
        ]
        runs.sort(key=lambda pair: pair[1]["per_s"])
        owner, median = runs[(len(runs) - 1) // 2]
        rates = [p["per_s"] for _, p in runs]
        rows.append(
            {
                "store": owner["store"],
                "processes": owner["processes"],
                "config": label,
                **median,
                "runs": len(runs),
                "min_per_s": min(rates),
                "max_per_s": max(rates),
            }
        )
    baseline = {row["phase"]: row["per_s"] for row in reversed(rows)}  # each phase's first row
    for row in rows:
        row["vs_first"] = round(row["per_s"] / baseline[row["phase"]], 2)
    return rows


def run(args: argparse.Namespace) -> dict[str, Any]:
    chosen = setups(args)
    report: dict[str, Any] = bench_goalstate.header(args)
    measured: list[dict[str, Any]] = []
    with private_cluster(any(s.store == POSTGRESQL for s in chosen)) as cluster:
        if cluster is not None:
            report["postgresql"] = postgres_facts(cluster)
        for number in range(args.runs):
            for setup in chosen:
                say(f"run {number + 1}/{args.runs}: {setup.label}")
                measured.append(measure(setup, cluster=cluster, args=args, run=number))
    report["sqlite_filesystem"] = bench_api.filesystem_of(Path(tempfile.gettempdir()))
    report["load_after"] = bench_goalstate.load_average()
    report["runs"] = measured
    report["results"] = medians(measured)
    return report


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def table(report: dict[str, Any]) -> str:
    first = report["results"][0]["config"]
    header = ["configuration", "phase", "ports", "s", "ports/s", "p50 ms", "p99 ms", f"x {first}"]
    several = report["parameters"]["runs"] > 1
    if several:
        header.append("runs: min-max ports/s")
    rows = []
    for r in report["results"]:
        row = [
            r["config"],
            r["label"],
            f"{r['count']:,}",
            f"{r['seconds']:.2f}",
            bench_api._cell(r["per_s"]),
            bench_api._cell(r["p50_ms"]),
            bench_api._cell(r["p99_ms"]),
            f"{r['vs_first']:.2f}",
        ]
        if several:
            row.append(f"{r['min_per_s']:,.0f}-{r['max_per_s']:,.0f}")
        rows.append(row)
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        left = (cells[0].ljust(widths[0]), cells[1].ljust(widths[1]))
        rest = (cell.rjust(width) for cell, width in zip(cells[2:], widths[2:], strict=True))
        return "  ".join((*left, *rest))

    m, p = report["machine"], report["parameters"]
    pg = report.get("postgresql")
    lines = [
        f"command:  {report['command']}",
        f"machine:  {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, "
        f"SQLite {m['sqlite']}, Linux {m['kernel']}",
        f"load:     {report['load_before']} before, {report['load_after']} after (1, 5, 15 min)",
        f"sqlite:   --sync {p['sync']}, on {report['sqlite_filesystem']}",
    ]
    if pg is not None:
        lines.append(
            f"postgres: {pg['server_version']} (private cluster), fsync {pg['fsync']}, "
            f"synchronous_commit {pg['synchronous_commit']}, shared_buffers "
            f"{pg['shared_buffers']}, on {pg['filesystem']}"
        )
    lines += [
        "",
        line(header),
        line(["-" * w for w in widths]),
        *(line(row) for row in rows),
        "",
        f"Every API process with --southbound off; {p['warmup']} warm-up ports through each first.",
        "Ports on "
        + ("a network of each process's own." if p["network_per_process"] else "one network."),
        "concurrent: client i to process i mod N. bulk: one thread per process, every N-th POST.",
        "  The second concurrent phase runs after the bulk one, on the networks it filled.",
        "  Wall clock, client included (bodies encoded before, answers decoded after);",
        "  p50/p99: per request." + (f" Median run of {p['runs']} by ports/s." if several else ""),
        "Checked: every port made once, no IP or MAC twice (per subnet, per network), every",
        "  process lists exactly them.",
    ]
    return "\n".join(lines)


def positive_counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if any(count < 1 for count in counts):
        raise argparse.ArgumentTypeError("process counts must be positive")
    return counts


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Write throughput of the API by store (SQLite, PostgreSQL) and by number "
        "of API processes on one PostgreSQL database.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--concurrent", type=int, default=3000, help="ports created by --clients")
    p.add_argument("--clients", type=int, default=16, help="concurrent clients (threads)")
    p.add_argument("--bulk", type=int, default=10_000, help="ports created in bulk POSTs")
    p.add_argument(
        "--concurrent-full",
        type=int,
        default=300,
        help="ports created by --clients again after the bulk POSTs, on the fuller network",
    )
    p.add_argument("--bulk-size", type=int, default=1000, help="ports per bulk POST")
    p.add_argument("--warmup", type=int, default=20, help="ports through each process first")
    p.add_argument(
        "--processes",
        type=positive_counts,
        default=[1, 3],
        help="API process counts on PostgreSQL, comma-separated (empty: no PostgreSQL)",
    )
    p.add_argument(
        "--sqlite",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="measure SQLite with 1 process too",
    )
    p.add_argument("--sync", choices=("full", "normal"), default="full", help="SQLite's --sync")
    p.add_argument("--runs", type=int, default=1, help="runs of every configuration, interleaved")
    p.add_argument("--cidr", default="10.200.0.0/16", help="the subnet's CIDR")
    p.add_argument(
        "--network-per-process",
        action="store_true",
        help="each process's clients make ports on a network of its own (the next CIDRs)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object, not a table")
    return p


def stop_on_sigterm(signum: int, frame: object) -> NoReturn:
    raise SystemExit(128 + signum)  # unwinds like Ctrl-C: every process and the cluster stop


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    counts = (args.concurrent, args.bulk, args.concurrent_full, args.warmup)
    if min(args.clients, args.bulk_size, args.runs) < 1 or min(counts) < 0:
        parser().error("--clients, --bulk-size and --runs must be positive, counts not negative")
    if not setups(args):
        parser().error("nothing to measure: --no-sqlite and no --processes")
    if args.processes and (why := databases.unavailable()):
        parser().error(f"PostgreSQL: {why} (or measure SQLite only: --processes '')")
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    report = run(args)
    print(json.dumps(report, indent=2) if args.json else table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
