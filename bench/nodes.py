"""The node manager at region scale (issue 4, bench (d)): ``make bench-nodes``.

Starts its own ``alcor server`` (SQLite file on disk in a fresh temporary directory, ``--sync
full``, ``--node-down-after`` 30 s), then:

    load      writes N nodes to a JSON file and runs ``alcor nodes load FILE`` (bulk POSTs of
              1,000): wall time and nodes/s; then the same file again (idempotent: every node
              unchanged) and its time
    connect   a heartbeat generator (a child process: its own CPU) opens one real gRPC stream
              per node over a few HTTP/2 connections, each saying Hello as its agent would; time
              until every node is connected and stored ``up``
    beat      every host sends a Heartbeat every --interval seconds (10), phases spread evenly:
              N / interval heartbeats a second. Over --window seconds: the controller's CPU (its
              /proc utime + stime) and resident memory, the heartbeats the generator sent, the
              store revision before and after (no write per heartbeat), and the latency of API
              requests meanwhile (GET /v2.0/agents/{id}, a bound port create), against the same
              requests with no heartbeats (measured before connecting)
    down      --silent hosts stop their heartbeats (their streams stay open): the time until the
              API shows them all down, and how many store writes that took; then they beat
              again: the time until they are all up
    unit      the southbound's own cost of one heartbeat, without gRPC: ``Hub.receive`` and the
              node watch, per heartbeat, in this process

    .venv/bin/python bench/nodes.py                       # 100,000 nodes: about 5 minutes
    .venv/bin/python bench/nodes.py --nodes 10000 --window 20 --json
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.servers import ServerProcess  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def host_name(i: int) -> str:
    return f"bn{i}"


def underlay(i: int) -> str:
    return f"10.{64 + i // 65536}.{i // 256 % 256}.{i % 256}"


# --- the controller from outside ---------------------------------------------------------------


class Api:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        for attempt in (1, 2):  # the server closes a keep-alive connection idle for 5 s
            try:
                self.connection.request(method, "/v2.0" + path, body=data, headers=headers)
                response = self.connection.getresponse()
                payload = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionError):
                self.connection.close()
                if attempt == 2:
                    raise
        if response.status != expect:
            raise RuntimeError(f"{method} {path}: {response.status} {payload[:300]!r}")
        return json.loads(payload) if payload else None

    def timed(self, method: str, path: str, body: Any = None, expect: int = 200) -> float:
        started = time.perf_counter()
        self.call(method, path, body, expect)
        return (time.perf_counter() - started) * 1000

    def revision(self) -> int:
        return int(self.call("GET", "/goalstate")["goalstate"]["revision"])

    def count(self, state: str, limit: int = 0) -> int:
        """How many nodes are in the state (at most ``limit``, when given)."""
        paging = f"&limit={limit}" if limit else ""
        found = self.call("GET", f"/nodes?state={state}&fields=id{paging}")["nodes"]
        return len(found)


class Usage:
    """A process's CPU seconds and resident memory, from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def rss_mb(self) -> float:
        pages = int(Path(f"/proc/{self.pid}/statm").read_text().split()[1])
        return pages * PAGE / 2**20


def quantiles(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
    }


def probe(api: Api, node_ids: Sequence[str], network_id: str, count: int) -> dict[str, Any]:
    """API latency: agent shows, and bound port creates (deleted afterwards, not timed)."""
    rng = random.Random(7)
    shows = [api.timed("GET", f"/agents/{rng.choice(node_ids)}") for _ in range(count)]
    creates, ports = [], []
    for i in range(count):
        body = {"port": {"network_id": network_id, "binding:host_id": host_name(i)}}
        started = time.perf_counter()
        ports.append(api.call("POST", "/ports", body, 201)["port"]["id"])
        creates.append((time.perf_counter() - started) * 1000)
    for port_id in ports:
        api.call("DELETE", f"/ports/{port_id}", expect=204)
    return {"agent_show": quantiles(shows), "port_create": quantiles(creates)}


def wait_until(check: Callable[[], bool], timeout: float, every: float = 0.5) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise RuntimeError("timed out")
        time.sleep(every)
    return time.monotonic() - started


# --- the heartbeat generator (a child process) -------------------------------------------------


async def generate(args: argparse.Namespace) -> None:
    """One stream per host over ``--channels`` connections; commands on stdin: ``silence K``
    (hosts 0..K-1 stop beating), ``resume``, ``stop``; status lines on stdout."""
    import grpc.aio

    from alcor.v1 import southbound_pb2 as pb
    from alcor.v1 import southbound_pb2_grpc as pb_grpc

    channels = [
        grpc.aio.insecure_channel(args.southbound, options=[("grpc.use_local_subchannel_pool", 1)])
        for _ in range(args.channels)
    ]
    stubs = [pb_grpc.SouthboundStub(channel) for channel in channels]
    calls: list[Any] = [None] * args.nodes
    gate = asyncio.Semaphore(args.opening)

    async def open_stream(i: int) -> None:
        hello = pb.Hello(host_id=host_name(i), underlay_ip=underlay(i), agent_version="bench")
        async with gate:
            for attempt in range(20):
                call = stubs[i % len(stubs)].Connect()
                try:
                    await call.write(pb.AgentMessage(hello=hello))
                    first = await call.read()
                    if first.HasField("goal_state"):
                        calls[i] = call
                        return
                except grpc.aio.AioRpcError:
                    await asyncio.sleep(0.1 * (attempt + 1))
            raise RuntimeError(f"host {i} could not connect")

    async def connect_all() -> None:
        started = time.monotonic()
        await asyncio.gather(*(open_stream(i) for i in range(args.nodes)))
        seconds = time.monotonic() - started
        print(json.dumps({"connected": args.nodes, "seconds": seconds}), flush=True)

    connecting = asyncio.create_task(connect_all())  # hosts beat as soon as they are connected
    beat = pb.AgentMessage(
        heartbeat=pb.Heartbeat(
            agent_version="bench", uptime_seconds=1, load1=0.1, resource_counts={"ports": 0}
        )
    )
    silent = 0
    sent = 0
    turn = 0
    tick = 0.05
    per_tick = args.nodes * tick / args.interval
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[str] = asyncio.Queue()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def read_commands() -> None:
        while line := await reader.readline():
            await commands.put(line.decode().strip())

    reading = asyncio.create_task(read_commands())
    cursor = 0.0
    next_tick = time.monotonic()
    while True:
        while not commands.empty():
            command = commands.get_nowait()
            if command == "stop":
                reading.cancel()
                connecting.cancel()
                print(json.dumps({"sent": sent}), flush=True)
                for call in calls:
                    if call is not None:
                        call.cancel()
                for channel in channels:
                    await channel.close()
                return
            if command.startswith("silence "):
                silent = int(command.split()[1])
            elif command == "resume":
                silent = 0
            elif command == "sent":
                print(json.dumps({"sent": sent}), flush=True)
        cursor += per_tick
        due = int(cursor)
        cursor -= due
        for _ in range(due):
            host = turn % args.nodes  # round the hosts in order: each once per interval
            turn += 1
            call = calls[host]
            if host >= silent and call is not None:
                await call.write(beat)
                sent += 1
        next_tick += tick
        await asyncio.sleep(max(0.0, next_tick - time.monotonic()))


class Generator:
    def __init__(self, args: argparse.Namespace, southbound: str) -> None:
        command = [
            sys.executable,
            __file__,
            "--generator",
            "--nodes",
            str(args.nodes),
            "--interval",
            str(args.interval),
            "--channels",
            str(args.channels),
            "--opening",
            str(args.opening),
            "--southbound",
            southbound,
        ]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.usage = Usage(self.process.pid)

    def say(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the generator ended")
        found: dict[str, Any] = json.loads(line)
        return found

    def stop(self) -> dict[str, Any]:
        self.say("stop")
        answer = self.answer()
        self.process.wait(timeout=60)
        return answer


# --- the southbound's own cost of a heartbeat ----------------------------------------------------


def unit_cost(nodes: int) -> dict[str, float]:
    from alcor.model import records
    from alcor.services import status
    from alcor.southbound.sessions import Delivery, Hub
    from alcor.southbound.watching import NodeWatch
    from alcor.store.interface import Change
    from alcor.v1 import southbound_pb2 as pb

    board = status.StatusBoard()
    hub = Hub(board=board, delivery=Delivery(), clock=time.monotonic)
    hub.store_id = "bench"
    watch = NodeWatch(board=board, manager=None, down_after=30.0)  # type: ignore[arg-type]
    for i in range(nodes):  # every node stored up, as in the steady state
        watch.changed(
            Change(
                revision=i + 1,
                resource_type="node",
                resource_id=str(i),
                operation="create",
                project_id="",
                record=records.Node(
                    id=str(i),
                    project_id="",
                    name=host_name(i),
                    underlay_ip="192.0.2.1",
                    state="up",
                    created_at="",
                    updated_at="",
                ),
                committed_at="",
            )
        )
    sessions = [hub.open(pb.Hello(host_id=host_name(i))) for i in range(nodes)]
    beat = pb.AgentMessage(heartbeat=pb.Heartbeat(agent_version="bench", resource_counts={"p": 0}))
    started = time.perf_counter()
    for session in sessions:
        hub.receive(session, beat)
        watch.heard(session.host)
    per_beat = (time.perf_counter() - started) / nodes
    started = time.perf_counter()
    watch.check()  # every node heard lately: the check of the steady state
    check = time.perf_counter() - started
    return {"heartbeat_us": round(per_beat * 1e6, 2), "check_ms": round(check * 1000, 2)}


# --- the run -------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    memory = Path("/proc/meminfo").read_text().split()[1]
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(int(memory) / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_before": os.getloadavg()[0],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "command": "python bench/nodes.py " + shlex.join(sys.argv[1:]),
        "machine": machine(),
        "nodes": args.nodes,
    }
    with tempfile.TemporaryDirectory(prefix="alcor-bench-nodes-") as scratch:
        directory = Path(scratch)
        server = ServerProcess(
            directory / "alcor.db", "--node-down-after", str(args.down_after)
        ).start()
        usage = Usage(server.process.pid if server.process else 0)
        try:
            report.update(phases(args, server, usage, directory))
        finally:
            server.stop()
    report["unit"] = unit_cost(min(args.nodes, 100_000))
    return report


def phases(
    args: argparse.Namespace, server: ServerProcess, usage: Usage, directory: Path
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    api = Api(server.url)
    nodes = [{"name": host_name(i), "underlay_ip": underlay(i)} for i in range(args.nodes)]
    path = directory / "nodes.json"
    path.write_text(json.dumps({"nodes": nodes}))
    load = [sys.executable, "-m", "alcor.cli.main", "nodes", "load", str(path), "--quiet"]
    load += ["--controller-url", server.url]
    for name in ("load", "reload"):
        started = time.monotonic()
        done = subprocess.run(load, capture_output=True, text=True, check=True)
        seconds = time.monotonic() - started
        found[name] = {
            "seconds": round(seconds, 2),
            "nodes_per_s": round(args.nodes / seconds),
            "said": done.stdout.strip(),
        }
    found["controller_rss_mb_after_load"] = round(usage.rss_mb())
    node_ids = [n["id"] for n in api.call("GET", "/nodes?fields=id&limit=2000")["nodes"]]
    network = api.call("POST", "/networks", {"network": {"name": "bench"}}, 201)["network"]
    subnet = {"subnet": {"network_id": network["id"], "cidr": "10.250.0.0/16"}}
    api.call("POST", "/subnets", subnet, 201)
    found["idle_latency"] = probe(api, node_ids, network["id"], args.probes)

    generator = Generator(args, server.southbound)
    try:
        connected = generator.answer()
        found["connect"] = {"seconds": round(connected["seconds"], 1)}
        found["connect"]["all_up_after_s"] = round(
            wait_until(lambda: api.count("down", limit=1) == 0, timeout=600), 1
        )
        time.sleep(args.interval)  # every host beat at least once: the steady state
        revision, cpu, wall = api.revision(), usage.cpu(), time.monotonic()
        generator.say("sent")
        sent_before = generator.answer()["sent"]
        generator_cpu = generator.usage.cpu()
        busy = probe(api, node_ids, network["id"], args.probes)
        time.sleep(max(0.0, args.window - (time.monotonic() - wall)))
        generator.say("sent")
        sent = generator.answer()["sent"] - sent_before
        elapsed = time.monotonic() - wall
        found["beat"] = {
            "window_s": round(elapsed, 1),
            "heartbeats_per_s": round(sent / elapsed),
            "controller_cpu_percent": round(100 * (usage.cpu() - cpu) / elapsed, 1),
            "generator_cpu_percent": round(
                100 * (generator.usage.cpu() - generator_cpu) / elapsed, 1
            ),
            "controller_rss_mb": round(usage.rss_mb()),
            "store_writes": api.revision() - revision - 2 * args.probes,  # less the probes' ports
            "latency": busy,
        }
        silent = min(args.silent, args.nodes)
        revision = api.revision()
        generator.say(f"silence {silent}")
        went = wait_until(lambda: api.count("down") >= silent, timeout=args.down_after * 4)
        writes = api.revision() - revision
        generator.say("resume")
        back = wait_until(lambda: api.count("down", limit=1) == 0, timeout=args.interval * 4)
        found["down"] = {
            "silent_hosts": silent,
            "all_down_after_s": round(went, 1),
            "store_writes": writes,
            "all_up_after_s": round(back, 1),
        }
    finally:
        found["generator"] = generator.stop()
    return found


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--nodes", type=int, default=100_000)
    p.add_argument("--interval", type=float, default=10.0, help="heartbeat interval (s)")
    p.add_argument("--window", type=float, default=60.0, help="steady-state measurement (s)")
    p.add_argument("--down-after", type=float, default=30.0, help="server's --node-down-after")
    p.add_argument("--silent", type=int, default=1000, help="hosts that stop beating")
    p.add_argument("--probes", type=int, default=200, help="API requests of each kind timed")
    p.add_argument("--channels", type=int, default=8, help="generator's HTTP/2 connections")
    p.add_argument("--opening", type=int, default=1000, help="streams opening at once")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--generator", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--southbound", default="", help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.generator:
        asyncio.run(generate(args))
        return 0
    report = run(args)
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
