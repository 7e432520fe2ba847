"""``alcor-cni`` on one node: ``make bench-cni`` (root; issue 13's benchmark).

Starts its own ``alcor server`` (southbound on a unix socket, mutual TLS) and one simulated
node (``tests/system/lab.py``: a network namespace running ``alcor agent --driver linux
--endpoint-mode netns``) with a VM-style endpoint on the pods' network, the target of their
pings, and ``alcor cni-daemon`` (``--no-daemon``: none, each plugin process does the work
itself). The plugin, as nodes are given it (``python -m alcor.cni.bundle``: the compiled
handoff with the Python plugin beside it; ``--zipapp``: the Python plugin alone; ``--console``:
this virtualenv's console script), is run as a runtime runs it
(``alcor.lab.cni.invoke``: environment, stdin, stdout, under ``nsenter`` in the node's
namespace), each pod in a namespace of its own. It reaches the API through a relay into the
node's namespace (a unix socket and socat), as a node would through a local proxy.

1  burst   --burst pods ADDed at once (one plugin process each), --rounds times (DEL of all
           between rounds, also at once). Measured per pod: ADD invoked -> result printed (the
           port ACTIVE), and ADD invoked -> the pod's first answered ping of the VM (a ping
           started when its ADD returned, ``ping -i 0.01``). Targets: p50 <= 150 ms, p99 <=
           400 ms.
2  steady  --pods pods ADDed with --concurrency in flight at any time: pods per second
           (target >= 50/s), and the CPU each ADD cost, by process: the plugin (with nsenter:
           this process's children), the controller, the agent, the CNI daemon, the API
           relay (socat, which a node would not have); then all DELeted the same way.

    .venv/bin/python bench/cni.py                       # both parts, defaults (~1 minute)
    .venv/bin/python bench/cni.py --parts 2 --pods 400 --concurrency 20 --json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import dataplane as bench_dataplane  # noqa: E402
from bench import goalstate as bench_goalstate  # noqa: E402
from tests.system import lab as labs  # noqa: E402

from alcor.lab import cni  # noqa: E402

TARGET_P50_MS = 150.0
TARGET_P99_MS = 400.0
TARGET_PODS_PER_S = 50.0
VM_IP = "10.77.0.10"

latency = bench_goalstate.latency
say = bench_goalstate.say


class Node:
    """The lab, its node ``n1``, the pods' network with a VM on it, the plugin's config."""

    def __init__(self, lab: labs.Lab, *, timeout: float, daemon: bool, plugin: str) -> None:
        self.lab = lab
        self.plugin = plugin
        (self.host,) = lab.add_hosts("n1")
        self.network = lab.network()
        subnet = lab.subnet(self.network, "10.77.0.0/20")
        group = lab.group({"protocol": None})
        port = lab.port(subnet, VM_IP, self.host, groups=[group])
        self.vm = self.host.endpoint(port)
        self.config = {
            "cniVersion": "1.0.0",
            "name": "bench",
            "type": "alcor-cni",
            "network": self.network,
            "api": lab.api_in(self.host),
            "agent_status": str(self.host.status_path),
            "state_dir": str(lab.tmp / "cni-state"),
            "security_groups": [group],
            "active_timeout": timeout,
            "daemon_socket": lab.cni_daemon(self.host) if daemon else str(lab.tmp / "none.sock"),
        }
        self.made = 0

    def sandboxes(self, count: int) -> list[str]:
        names = [f"{self.lab.tag}-p{self.made + i}" for i in range(count)]
        self.made += count
        subprocess.run(
            ["ip", "-batch", "-"],
            input="".join(f"netns add {name}\n" for name in names),
            check=True,
            text=True,
        )
        return names

    def call(self, command: str, pod: str) -> tuple[float, cni.Outcome]:
        started = time.perf_counter()
        outcome = cni.invoke(
            command,
            self.config,
            node=self.host.ns,
            container=f"c-{pod}",
            netns=f"/run/netns/{pod}",
            args=f"K8S_POD_NAMESPACE=bench;K8S_POD_NAME={pod}",
            plugin=self.plugin,
        )
        if outcome.status != 0:
            raise RuntimeError(f"{command} of {pod} failed: {outcome.document} {outcome.stderr}")
        return time.perf_counter() - started, outcome

    def add_and_ping(self, pod: str) -> tuple[float, float]:
        """(ADD invoked -> result, ADD invoked -> first answer of the VM) in seconds."""
        started = time.perf_counter()
        took, _ = self.call("ADD", pod)
        subprocess.run(
            ["ip", "netns", "exec", pod, "ping", "-n", "-q", "-c", "1", "-i", "0.01", "-w", "5",
             VM_IP],
            check=True,
            capture_output=True,
        )  # fmt: skip
        return took, time.perf_counter() - started


def at_once(work: Callable[[str], Any], pods: Sequence[str], *, width: int) -> list[Any]:
    with ThreadPoolExecutor(max_workers=width) as pool:
        return list(pool.map(work, pods))


def part_burst(node: Node, args: argparse.Namespace) -> dict[str, Any]:
    results, pinged, deleted = [], [], []
    for _ in range(args.rounds):
        pods = node.sandboxes(args.burst)
        for took, ping in at_once(node.add_and_ping, pods, width=args.burst):
            results.append(took)
            pinged.append(ping)
        deleted += [took for took, _ in at_once(lambda p: node.call("DEL", p), pods, width=10)]
    return {
        "part": "1",
        "burst": args.burst,
        "rounds": args.rounds,
        "add_to_result": latency(results),
        "add_to_first_ping": latency(pinged),
        "del": latency(deleted),
    }


def part_steady(node: Node, args: argparse.Namespace) -> dict[str, Any]:
    pods = node.sandboxes(args.pods)
    before = cpu_seconds(node.lab.tmp)
    started = time.perf_counter()
    added = at_once(lambda p: node.call("ADD", p)[0], pods, width=args.concurrency)
    add_s = time.perf_counter() - started
    spent = {
        role: round((seconds - before.get(role, 0.0)) * 1e3 / args.pods, 1)
        for role, seconds in cpu_seconds(node.lab.tmp).items()
    }
    answered = sum(
        cni_ping(pod) for pod in pods[:: max(1, len(pods) // 10)]
    )  # a sample still reaches the VM
    started = time.perf_counter()
    at_once(lambda p: node.call("DEL", p), pods, width=args.concurrency)
    del_s = time.perf_counter() - started
    return {
        "part": "2",
        "pods": args.pods,
        "concurrency": args.concurrency,
        "adds_per_s": round(args.pods / add_s, 1),
        "add": latency(added),
        "cpu_ms_per_add": spent,
        "dels_per_s": round(args.pods / del_s, 1),
        "sampled_pods_pinging": answered,
    }


ROLES = {  # a word of a process's command line: the role it is counted as
    "server": "controller",
    "agent": "agent",
    "cni-daemon": "daemon",
    "socat": "relay",
}


def cpu_seconds(lab_directory: Path) -> dict[str, float]:
    """CPU seconds (user and system) so far, by role: the lab's processes (those whose command
    line names its directory) from /proc, and "plugin", what this process's children that have
    ended cost (the plugin processes under nsenter, and ip and ping)."""
    tick = os.sysconf("SC_CLK_TCK")
    spent = {"plugin": sum(os.times()[2:4])}
    for proc in Path("/proc").iterdir():
        try:
            words = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
            fields = (proc / "stat").read_text().rpartition(")")[2].split()
        except (OSError, ValueError):
            continue  # not a process, or one that ended
        if not any(str(lab_directory) in word for word in words):
            continue
        role = next((ROLES[word] for word in words if word in ROLES), None)
        if role is None and any(word.endswith("socat") for word in words):
            role = "relay"
        if role is not None:  # utime and stime: fields 14 and 15 of stat, after the name
            spent[role] = spent.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return spent


def cni_ping(pod: str) -> bool:
    done = subprocess.run(
        ["ip", "netns", "exec", pod, "ping", "-n", "-q", "-c", "1", "-W", "2", VM_IP],
        capture_output=True,
    )
    return done.returncode == 0


@contextlib.contextmanager
def node_running(directory: Path, *, timeout: float, daemon: bool, bundle: str) -> Iterator[Node]:
    """The lab's node; the plugin as ``alcor.cni.bundle`` makes it for nodes (``bundle``:
    "compiled" or "zipapp"), or "console", the console script of this virtualenv."""
    plugin = cni.PLUGIN
    if bundle != "console":
        plugin = str(directory / "alcor-cni")
        zipapp = ["--zipapp"] if bundle == "zipapp" else []
        subprocess.run([sys.executable, "-m", "alcor.cni.bundle", plugin, *zipapp], check=True)
        # its `env python3` finds the interpreter itself, as on a node (not a version
        # manager's shim, which costs more than the plugin)
        (directory / "bin").mkdir()
        (directory / "bin" / "python3").symlink_to(os.path.realpath(sys.executable))
        os.environ["PATH"] = f"{directory / 'bin'}:{os.environ['PATH']}"
    with bench_dataplane.lab_running(directory) as lab:
        yield Node(lab, timeout=timeout, daemon=daemon, plugin=plugin)


def text(report: dict[str, Any]) -> str:
    lines = [f"$ {report['command']}", f"machine: {report['machine']}"]
    for part in report["results"]:
        if part["part"] == "1":
            r, p = part["add_to_result"], part["add_to_first_ping"]
            lines += [
                f"1 burst: {part['burst']} pods at once x {part['rounds']} rounds",
                f"  ADD -> result (ACTIVE): p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, max "
                f"{r['max_ms']} ms (targets p50 <= {TARGET_P50_MS:g}, p99 <= "
                f"{TARGET_P99_MS:g})",
                f"  ADD -> first ping answered: p50 {p['p50_ms']} ms, p99 {p['p99_ms']} ms",
                f"  DEL: p50 {part['del']['p50_ms']} ms, p99 {part['del']['p99_ms']} ms",
            ]
        else:
            lines += [
                f"2 steady: {part['pods']} pods, {part['concurrency']} in flight",
                f"  {part['adds_per_s']} pods/s added (target >= {TARGET_PODS_PER_S:g}), ADD "
                f"p50 {part['add']['p50_ms']} ms p99 {part['add']['p99_ms']} ms",
                "  CPU per ADD: "
                + ", ".join(f"{role} {ms} ms" for role, ms in part["cpu_ms_per_add"].items()),
                f"  {part['dels_per_s']} pods/s deleted; sampled pods pinging the VM: "
                f"{part['sampled_pods_pinging']}",
            ]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="alcor-cni on one simulated node: ADD latency in bursts, pods per second. "
        "Needs root.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--parts", default="12", help="which parts to run: any of 1, 2")
    p.add_argument("--burst", type=int, default=10, help="1: pods added at once")
    p.add_argument("--rounds", type=int, default=5, help="1: bursts")
    p.add_argument("--pods", type=int, default=200, help="2: pods added")
    p.add_argument("--concurrency", type=int, default=10, help="2: ADDs in flight")
    p.add_argument("--timeout", type=float, default=60.0, help="the plugin's active_timeout")
    p.add_argument(
        "--no-daemon",
        action="store_true",
        help="no alcor cni-daemon on the node: each plugin process does the work itself",
    )
    plugins = p.add_mutually_exclusive_group()
    plugins.add_argument(
        "--zipapp",
        action="store_true",
        help="the Python plugin alone (alcor.cni.bundle --zipapp), not the compiled handoff",
    )
    plugins.add_argument(
        "--console",
        action="store_true",
        help="run the virtualenv's alcor-cni console script, not what nodes are given",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object, not text")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if set(args.parts) - set("12") or not args.parts:
        parser().error("--parts: digits among 1, 2")
    why = labs.unusable()
    if why:
        print(f"bench/cni.py: {why}; nothing run", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on the way out
    report: dict[str, Any] = {**bench_goalstate.header(args), "results": []}
    runs = {"1": part_burst, "2": part_steady}
    with (
        tempfile.TemporaryDirectory(prefix="alcor-cni-bench-") as tmp,
        node_running(
            Path(tmp),
            timeout=args.timeout,
            daemon=not args.no_daemon,
            bundle="console" if args.console else "zipapp" if args.zipapp else "compiled",
        ) as node,
    ):
        for part in sorted(args.parts):
            say(f"part {part}: starting (load {bench_goalstate.load_average()})")
            report["results"].append(runs[part](node, args))
    report["load_after"] = bench_goalstate.load_average()
    print(json.dumps(report, indent=2) if args.json else text(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
