"""What serving /metrics costs the API and the goal state, measured side by side.

``bench/api.py --metrics off,on`` and ``bench/goalstate.py --metrics off,on`` run their whole
work once per setting, one after the other, so whatever else the machine does meanwhile falls on
one setting and not the other: the same build's serial rates moved by 6%, and its latency p99s
by a third, between runs there. This bench starts both at once, each a controller (``--sync
full``) with an ``alcor sim`` of ``--hosts`` hosts on its southbound, one pair with
``--metrics-bind`` and scraped every second and one without, grows a VPC on each to
``--grow`` ports bound round robin to the hosts, and then alternates short rounds of the same
work on each: serial creates of ports bound to the hosts (each one goal state to every host of
the VPC, acked), then serial deletes of them, with one keep-alive client (the standard
library's). It prints each round's rate and the CPU each port cost the controller and the sim,
their medians, and metrics on as a share of off.

    .venv/bin/python bench/metrics_ab.py                   # 10 hosts, 1,000 ports, 10 rounds
    .venv/bin/python bench/metrics_ab.py --hosts 0         # the API alone, no southbound work
    .venv/bin/python bench/metrics_ab.py --grow 10000 --rounds 20 --ports 500
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import api as bench_api  # noqa: E402
from bench import goalstate as bench_goalstate  # noqa: E402
from tests.servers import ServerProcess  # noqa: E402

SETTINGS = ("off", "on")
PHASES = ("create", "delete")
UNDERLAY = {"off": "10.131.0.0", "on": "10.132.0.0"}
SETTLE = 120.0  # seconds the hosts may take to connect, or to catch up after the growth


class Side:
    """One controller of the pair with its sim, client and VPC, and what its rounds measured."""

    def __init__(
        self, server: ServerProcess, sim: bench_goalstate.Sim | None, *, hosts: int, grow: int
    ) -> None:
        self.server = server
        self.sim = sim
        self.hosts = [host.name for host in sim.hosts] if sim is not None else []
        self.api = bench_api.Api(server.url)  # httpx: it connects again after an idle while
        if self.hosts:
            bench_goalstate.wait_for(
                "hosts",
                lambda: bench_goalstate.summary(self.api)["connected"] >= hosts,
                timeout=SETTLE,
            )
        self.vpc = bench_goalstate.vpcs(self.api, 1, prefix="ab-", cidr="10.0.0.0/16")[0]
        self.made = 0
        bodies = [self._body() for _ in range(grow)]
        self.api.create_many(bench_api.PORTS, bodies, bench_goalstate.BULK)
        if self.hosts:
            bench_goalstate.wait_for(
                "the hosts to catch up",
                lambda: bench_goalstate.caught_up(self.api, hosts),
                timeout=SETTLE,
            )
        self.rates: dict[str, list[float]] = {phase: [] for phase in PHASES}
        self.cpu: dict[str, dict[str, list[float]]] = {
            phase: {"controller": [], "sim": []} for phase in PHASES
        }

    def round(self, ports: int) -> None:
        """Its rounds' client: http.client, connected anew (the other side's round was idle
        time for this one's keep-alive connection)."""
        lean = bench_api.Api(self.server.url, lean=True)
        try:
            created = self._timed("create", ports, lambda _: self._create(lean))
            self._timed("delete", ports, lambda i: self._delete(lean, created[i]))
        finally:
            lean.close()

    def _body(self) -> bench_goalstate.Body:
        self.made += 1
        host = self.hosts[self.made % len(self.hosts)] if self.hosts else ""
        return bench_goalstate.port_body(self.vpc, host, f"ab{self.made}")

    def _create(self, api: bench_api.Api) -> str:
        return api.create(bench_api.PORTS, self._body())

    def _delete(self, api: bench_api.Api, port: str) -> str:
        api.exchange("DELETE", f"/ports/{port}", expect=204)
        return port

    def _timed(self, phase: str, count: int, step: Callable[[int], str]) -> list[str]:
        before = self._cpu()
        started = time.perf_counter()
        done = [step(i) for i in range(count)]
        self.rates[phase].append(count / (time.perf_counter() - started))
        for process, used in self._cpu().items():
            self.cpu[phase][process].append((used - before[process]) / count * 1e6)
        return done

    def _cpu(self) -> dict[str, float]:
        server = self.server.process.pid if self.server.process is not None else 0
        return {
            "controller": bench_api.cpu_seconds(server),
            "sim": bench_api.cpu_seconds(self.sim.pid) if self.sim is not None else 0.0,
        }


@contextmanager
def pair(folder: Path, *, hosts: int, grow: int) -> Iterator[dict[str, Side]]:
    """Both sides, the one with metrics scraped every second while the block runs."""
    with ExitStack() as stack:
        sides: dict[str, Side] = {}
        scraped: list[str] = []
        for setting in SETTINGS:
            on = setting == "on"
            options, address = bench_api.metrics_options(on)
            scraped.append(address)
            server = ServerProcess(folder / f"{setting}.db", "--sync", "full", *options)
            stack.callback(server.stop)
            server.start(timeout=SETTLE)
            sim = None
            if hosts:
                sim = bench_goalstate.Sim(
                    prefix=f"{setting}-",
                    count=hosts,
                    underlay_base=UNDERLAY[setting],
                    directory=folder,
                )
                stack.enter_context(bench_goalstate.nodes_then_sims([server], [sim], metrics=on))
            sides[setting] = Side(server, sim, hosts=hosts, grow=grow)
            stack.callback(sides[setting].api.close)
        stack.enter_context(bench_api.scraping(scraped))
        yield sides


def report(sides: dict[str, Side]) -> None:
    for phase in PHASES:
        medians: dict[str, dict[str, float]] = {}
        for setting in SETTINGS:
            side = sides[setting]
            rates = side.rates[phase]
            medians[setting] = {"rate": statistics.median(rates)} | {
                process: statistics.median(used) for process, used in side.cpu[phase].items()
            }
            print(
                f"serial {phase}, metrics {setting}: ports/s {[round(r) for r in rates]}, median "
                f"{medians[setting]['rate']:.1f}; CPU µs a port, medians: controller "
                f"{medians[setting]['controller']:.0f}, sim {medians[setting]['sim']:.0f}"
            )
        on, off = medians["on"], medians["off"]
        shares = [
            f"{name} {on[name] / off[name]:.1%}"
            for name in ("rate", "controller", "sim")
            if off[name]
        ]
        print(f"serial {phase}, metrics on as a share of off: {', '.join(shares)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10, help="simulated hosts a side (10)")
    parser.add_argument("--grow", type=int, default=1000, help="ports in the VPC first (1000)")
    parser.add_argument("--rounds", type=int, default=10, help="rounds on each side (10)")
    parser.add_argument("--ports", type=int, default=300, help="ports a round (300)")
    args = parser.parse_args()
    print("$", shlex.join([".venv/bin/python", "bench/metrics_ab.py", *sys.argv[1:]]))
    print("machine:", bench_api.machine(), "load:", bench_goalstate.load_average())
    with (
        tempfile.TemporaryDirectory() as folder,
        pair(Path(folder), hosts=args.hosts, grow=args.grow) as sides,
    ):
        for n in range(args.rounds):
            for setting in SETTINGS if n % 2 == 0 else tuple(reversed(SETTINGS)):
                sides[setting].round(args.ports)
    report(sides)


if __name__ == "__main__":
    main()
