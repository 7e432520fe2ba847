"""From a write in one process to its host's ack through another: what the store's wake-ups cost.

Two ``alcor server`` processes on one store (an SQLite file in a fresh temporary directory, or
the PostgreSQL database ``--db`` names): the first serves the southbound (one ``alcor sim`` of
``--hosts`` hosts), the second only the API (``--southbound off``). Ports are created one at a
time, alternately through the first process (its own commit feed brings them to the
southbound) and through the second (the store's wake-up does: NOTIFY, or SQLite's
data_version), each on a random host; after each create the first process's API is polled
(``GET /v2.0/ports/ID?fields=status``, every --poll-ms) until the port is ACTIVE. A port's time
is from the create's answer to the poll that first showed it ACTIVE (its resolution is one poll
cycle). The southbound's safety poll is set far beyond the run, so only the wake-up can bring it
the second process's commits.

Status goes the other way: once the first process shows the port ACTIVE, the second process's
API (which serves no hosts: it reads the status rows the first writes, ``services.status_mirror``)
is polled the same way; that time (``status rows``) is one status write plus the second's
wake-up and read of the rows.

    .venv/bin/python bench/wakeup.py                         # SQLite, 300 ports
    .venv/bin/python bench/wakeup.py --db postgresql://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import api as bench_api  # noqa: E402
from bench import goalstate  # noqa: E402
from tests.servers import ServerProcess  # noqa: E402

NEVER = "86400"  # seconds: the southbound's safety poll, beyond any run


def until_active(api: bench_api.Api, port_id: str, *, every: float, timeout: float) -> float:
    """Poll until the port is ACTIVE; when that answer arrived."""
    started = time.perf_counter()
    while True:
        status = api.call("GET", f"/ports/{port_id}?fields=status")["port"]["status"]
        if status == goalstate.ACTIVE:
            return time.perf_counter()
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"port {port_id} is {status} after {timeout:.0f} s")
        time.sleep(every)


def run(args: argparse.Namespace, directory: Path) -> dict[str, dict[str, object]]:
    db_url = args.db or f"sqlite:///{directory / 'alcor.db'}"
    serving = ServerProcess(
        directory / "serving.db", "--change-log-poll", NEVER, db_url=db_url
    ).start(timeout=120)
    writing = ServerProcess(directory / "writing.db", db_url=db_url, southbound="off")
    sim = goalstate.Sim(
        prefix="wake-", count=args.hosts, underlay_base="10.250.0.1", directory=directory
    )
    times: dict[str, list[float]] = {"own feed": [], "wake-up": [], "status rows": []}
    try:
        writing.start(timeout=120)
        apis = {"own feed": bench_api.Api(serving.url), "wake-up": bench_api.Api(writing.url)}
        shown = apis["own feed"]
        with goalstate.nodes_then_sims(serving, [sim]):
            vpc = goalstate.vpcs(shown, 1, prefix="wake", cidr="10.0.0.0/16")[0]
            goalstate.wait_for(
                "hosts connected", lambda: goalstate.caught_up(shown, args.hosts), timeout=120
            )
            rng = random.Random(args.seed)
            for i in range(args.ports):
                path = "own feed" if i % 2 == 0 else "wake-up"
                host = rng.choice(sim.hosts).name
                body = goalstate.port_body(vpc, host, f"w{i}")
                port_id = str(apis[path].call("POST", "/ports", {"port": body}, 201)["port"]["id"])
                answered = time.perf_counter()
                active = until_active(shown, port_id, every=args.poll_ms / 1000, timeout=60)
                times[path].append(active - answered)
                other = until_active(
                    apis["wake-up"], port_id, every=args.poll_ms / 1000, timeout=60
                )
                times["status rows"].append(other - active)
        for api in apis.values():
            api.close()
    finally:
        writing.stop()
        serving.stop()
    return {path: goalstate.latency(seconds) for path, seconds in times.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", default=None, help="a PostgreSQL URL (default: an SQLite file)")
    p.add_argument("--ports", type=int, default=300, help="ports created, half through each")
    p.add_argument("--hosts", type=int, default=10)
    p.add_argument("--poll-ms", type=float, default=1.0, help="pause between ACTIVE polls")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="alcor-wakeup-") as folder:
        figures = run(args, Path(folder))
    print(f"create answered -> ACTIVE in the serving process, {args.ports} ports, one at a time")
    for path, figure in figures.items():
        if path != "status rows":
            print(f"  {path:9} {figure}")
    print("ACTIVE in the serving process -> ACTIVE in the other (the status rows)")
    print(f"  {figures['status rows']}")
    print(f"load average: {goalstate.load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
