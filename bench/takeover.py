"""Takeover by a southbound replica: ``make bench-takeover``.

One ``--role api`` process and two ``--role southbound`` processes (``--southbound-lease``) on
one store: a private PostgreSQL cluster started here (``initdb`` in a temporary directory, its
own loopback port), or with ``--store sqlite`` one file. ``--ports`` ports in VPCs of
``--vpc-ports`` ports on ``--vpc-hosts`` hosts each (as bench/goalstate.py's part c) are loaded
by bulk POSTs before ``--hosts`` simulated hosts (``alcor sim`` processes, every host given
both southbound addresses) connect. Once every host is connected, acked and on the same replica
as a lease before, the replica that serves the most hosts is killed with SIGKILL, and measured:

    takeover    seconds from the kill until every host it served has acknowledged a goal state
                from the other replica (the sims' status files, written every
                ``--status-interval``: that is the resolution); its lease bounds the wait for
                the others to count it dead, plus a third of it for them to read that
    snapshots   goal states sent as snapshots to the moved hosts meanwhile (0 expected: they
                resume from their revision with a delta)

    .venv/bin/python bench/takeover.py --quick     # 50 hosts, 500 ports: a smoke run
    .venv/bin/python bench/takeover.py             # the issue's 10,000 hosts, 100,000 ports

Every process and the cluster started here are stopped at the end, on failure and on Ctrl-C or
SIGTERM too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import api as bench_api  # noqa: E402
from bench import goalstate  # noqa: E402
from tests import databases  # noqa: E402
from tests.servers import ServerProcess  # noqa: E402


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def store(kind: str, directory: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'alcor.db'}"
        return
    cluster = databases.PostgresCluster()
    try:
        yield cluster.start().create_database("bench_takeover")
    finally:
        cluster.stop()


@contextlib.contextmanager
def started(server: ServerProcess) -> Iterator[ServerProcess]:
    server.start(timeout=300)
    try:
        yield server
    finally:
        server.stop()
        errors = server.errors_logged()
        if errors:
            say(f"{server.log_path.name} logged errors:\n{errors[:4000]}")


def hosts_now(sims: Sequence[goalstate.Sim]) -> dict[str, dict[str, Any]]:
    """Every host's line of the sims' status files, as last written."""
    found: dict[str, dict[str, Any]] = {}
    for sim in sims:
        with contextlib.suppress(OSError, ValueError, KeyError):
            found |= json.loads(sim.status_path.read_text())["hosts"]
    return found


def wait_for(what: str, done: Any, *, timeout: float, every: float) -> float:
    started_at = time.perf_counter()
    while not done():
        if time.perf_counter() - started_at > timeout:
            raise TimeoutError(f"{what}: not after {timeout:.0f} s")
        time.sleep(every)
    return time.perf_counter() - started_at


def measure(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    sims = goalstate.sims_for(
        args.hosts, processes=args.sims, prefix="t", base="10.64.0.0", directory=directory
    )
    hosts = [host for sim in sims for host in sim.hosts]
    lease = ("--southbound-lease", str(args.lease))
    found: dict[str, Any] = {"hosts": args.hosts, "ports": args.ports, "lease_s": args.lease}
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(store(args.store, directory))
        api_process = stack.enter_context(
            started(ServerProcess(directory / "api.db", db_url=url, role="api"))
        )
        replicas = [
            stack.enter_context(
                started(ServerProcess(directory / f"{n}.db", *lease, db_url=url, role="southbound"))
            )
            for n in ("first", "second")
        ]
        api = bench_api.Api(api_process.url)
        stack.callback(api.close)
        loading = argparse.Namespace(
            c_ports=args.ports, c_vpc_ports=args.vpc_ports, c_vpc_hosts=args.vpc_hosts
        )
        found["load_s"] = round(goalstate.load_scale(api, hosts, loading), 1)
        addresses = ",".join(replica.southbound for replica in replicas)
        for sim in sims:
            sim.start(addresses, status_interval=args.status_interval)
            stack.callback(sim.stop)

        def settled() -> bool:
            """Every host connected and acked, on the same controller as a lease ago (hosts
            redirected to their owners when the second replica came have moved)."""
            now = hosts_now(sims)
            ready = len(now) == len(hosts) and all(
                h["connected"] and h["acks"] for h in now.values()
            )
            if ready and seen.get("controllers") == {n: h["controller"] for n, h in now.items()}:
                return True
            seen["controllers"] = {n: h["controller"] for n, h in now.items()}
            return False

        seen: dict[str, dict[str, str]] = {}
        found["connect_s"] = round(
            wait_for("every host settled", settled, timeout=args.timeout, every=args.lease), 1
        )
        before = hosts_now(sims)
        served = {
            r.southbound: [n for n, h in before.items() if h["controller"] == r.southbound]
            for r in replicas
        }
        killed, survivor = sorted(replicas, key=lambda r: -len(served[r.southbound]))
        moved = served[killed.southbound]
        found["served"] = {"killed": len(moved), "survivor": len(served[survivor.southbound])}
        say(f"takeover: killing the replica serving {len(moved)} of {len(hosts)} hosts")
        killed.kill()
        killed_at = time.perf_counter()

        def taken_over() -> bool:
            now = hosts_now(sims)
            return all(
                now[n]["controller"] == survivor.southbound
                and now[n]["connected"]
                and now[n]["acks"] > before[n]["acks"]
                for n in moved
            )

        wait_for("the killed replica's hosts", taken_over, timeout=args.timeout, every=0.05)
        found["takeover_s"] = round(time.perf_counter() - killed_at, 2)
        after = hosts_now(sims)
        found["snapshots"] = sum(after[n]["snapshots"] - before[n]["snapshots"] for n in moved)
        found["resolution_s"] = args.status_interval
    return found


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Takeover of a killed southbound replica's hosts by the other.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="50 hosts, 500 ports: a smoke run")
    p.add_argument("--store", choices=("postgresql", "sqlite"), default="postgresql")
    p.add_argument("--hosts", type=int, default=10_000)
    p.add_argument("--ports", type=int, default=100_000)
    p.add_argument("--vpc-ports", type=int, default=100, help="ports in each VPC")
    p.add_argument("--vpc-hosts", type=int, default=10, help="hosts a VPC's ports go to")
    p.add_argument("--sims", type=int, default=4, help="alcor sim processes")
    p.add_argument("--lease", type=float, default=6.0, help="--southbound-lease, seconds")
    p.add_argument("--status-interval", type=float, default=0.5, help="the sims', seconds")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds for each phase")
    p.add_argument("--dir", default=None, help="where the temporary files go ($TMPDIR)")
    p.add_argument("--json", action="store_true", help="print one JSON object, not a line")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.quick:
        args.hosts, args.ports, args.sims, args.vpc_ports = 50, 500, 1, 50
    if args.store == "postgresql" and (why := databases.unavailable()):
        say(f"PostgreSQL: {why}; try --store sqlite")
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the children on the way out
    parent = Path(args.dir).resolve() if args.dir else None
    report: dict[str, Any] = {
        "command": bench_api.command_line(),
        "machine": bench_api.machine(),
        "load_before": goalstate.load_average(),
        "store": args.store,
    }
    with tempfile.TemporaryDirectory(prefix="alcor-takeover-", dir=parent) as tmp:
        report["result"] = measure(args, Path(tmp))
    report["load_after"] = goalstate.load_average()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        r = report["result"]
        print(
            f"{args.store}: {r['hosts']:,} hosts, {r['ports']:,} ports, lease {r['lease_s']:g} s: "
            f"{r['served']['killed']:,} hosts of the killed replica acked on the other after "
            f"{r['takeover_s']:.2f} s (resolution {r['resolution_s']:g} s), "
            f"{r['snapshots']} snapshots; load {report['load_before']} -> {report['load_after']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
