"""The linux data plane, end to end: ``make bench-dataplane`` (root; issue 5's benchmark).

Starts its own ``alcor server`` (southbound on a unix socket) and a lab of simulated hosts
(``tests/system/lab.py``: network namespaces on an underlay bridge, each running ``alcor agent
--driver linux --endpoint-mode netns``). Hosts without an agent, for ports that are only
neighbors, are nodes made through the API (``/v2.0/nodes``) with made-up underlay addresses.
Three parts, each selected with ``--parts``:

1  neighbors  a network with N ports on --far-hosts remote nodes (bulk POSTs), then one port
              bound to the lab host ``one``: the host joins the network and must program the
              port and N neighbors (a VXLAN FDB and an ARP entry each) and the default
              group's address set of N + 1 members (``--bare``: no security groups, neighbors
              only). Measured: API create -> port ACTIVE (polled), and the agent's own time for
              it (the acks' ``programming_micros`` as the controller shows them, and the phases
              of the status file). Checked: the kernel of ``one`` holds N entries of each kind.
              Then the port is deleted (the host leaves the network), timed until the host
              acknowledged it, the kernel checked empty, and it starts again, --repeat times.
2  plug       M ports bound to the lab host ``plug`` in one bulk POST: POST -> all ACTIVE,
              endpoints per second. Checked: M endpoint namespaces, each with its address on
              eth0, and the first pings the last.
3  ping       endpoints on ``p1`` and ``p2``; K times: a ping runs in p1's endpoint towards an
              address no port has yet (``ping -i 0.005``; in its namespace ARP is retried every
              5 ms and never given up, so the reply follows the entries without a wait), then a
              port with that address is created on p2. Measured from the POST: the API's
              answer, ACTIVE (polled), and the first echo reply (``ping -D`` timestamps).

ACTIVE is polled every --poll-ms by GET (one port, or the network's ports in 2), so its
resolution is one poll. Every name the lab makes carries its random tag and is removed on the
way out, also on failure or Ctrl-C; traffic goes only to addresses inside those namespaces.

    .venv/bin/python bench/dataplane.py                 # all parts, defaults (~2 minutes)
    .venv/bin/python bench/dataplane.py --parts 1 --neighbors 1000 --repeat 1
    .venv/bin/python bench/dataplane.py --parts 23 --endpoints 400 --pings 100 --json
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import re
import signal
import subprocess
import sys
import tempfile
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
from bench import goalstate as bench_goalstate  # noqa: E402
from tests.servers import ServerProcess  # noqa: E402
from tests.system import lab as labs  # noqa: E402

from alcor.lab import certificates  # noqa: E402

ALCOR_S = 230.0  # Alcor's agent: one port plus 10,000 neighbors (issue 5)
TARGET_PROGRAM_S = 0.5  # (1) target for the same
TARGET_PLUG_PER_S = 200.0  # (2) target
NOTES_PLUG_PER_S = "328-355"  # dataplane-notes §6: `ip -batch`, 200 endpoints, bare
NOTES_ENTRIES_PER_S = "83k-110k"  # dataplane-notes §6: `bridge -batch` / `ip -batch`
FAR_BASE = ipaddress.ip_address("10.254.0.1")  # the made-up underlay of the agentless nodes
BULK = 1000
ACTIVE, ERROR = "ACTIVE", "ERROR"

latency = bench_goalstate.latency
say = bench_goalstate.say


# --- the lab and the API ---------------------------------------------------------------------


@contextlib.contextmanager
def lab_running(directory: Path) -> Iterator[labs.Lab]:
    """A controller (its southbound with mutual TLS, as the agents need) and an empty lab;
    everything stopped and removed on the way out."""
    pki = certificates.Pki(directory / "pki").init()
    server = ServerProcess(
        directory / "alcor.db", *pki.server_args(), southbound=f"unix:{directory}/sb.sock"
    )
    server.start()
    try:
        lab = labs.Lab(server, directory, pki=pki)
        try:
            yield lab
        finally:
            lab.close()
            left = lab.namespaces()
            if left:
                print(f"namespaces left behind: {left}", file=sys.stderr)
    finally:
        server.stop()
        errors = server.errors_logged()
        if errors:
            print(f"server logged errors:\n{errors[:4000]}", file=sys.stderr)


def far_nodes(api: bench_api.Api, tag: str, count: int) -> list[str]:
    """``count`` nodes with no agent (their ports are neighbors only); their names."""
    names = [f"{tag}-far{i}" for i in range(count)]
    bodies: list[bench_api.Body] = [
        {"name": name, "underlay_ip": str(FAR_BASE + i)} for i, name in enumerate(names)
    ]
    api.create_many(bench_goalstate.NODES, bodies, BULK)
    return names


@dataclass(frozen=True)
class Vpc:
    """A project of its own (so its default group holds only its ports), a network, a subnet."""

    project: str
    network: str
    subnet: str


def vpc(lab: labs.Lab, name: str, cidr: str) -> Vpc:
    project = f"{lab.tag}-{name}"
    network = lab.network(project=project)
    return Vpc(project, network, lab.subnet(network, cidr, project=project))


def port_body(where: Vpc, host: str, ip: str = "", *, bare: bool = False) -> bench_api.Body:
    """A VM's port on ``host`` (``ip``: its address, else the API's choice); ``bare``: no
    security groups, port security off."""
    body: bench_api.Body = {
        "project_id": where.project,
        "network_id": where.network,
        "binding:host_id": host,
        "device_owner": "compute:nova",
    }
    if ip:
        body["fixed_ips"] = [{"subnet_id": where.subnet, "ip_address": ip}]
    if bare:
        body |= {"security_groups": [], "port_security_enabled": False}
    return body


def status(api: bench_api.Api, port_id: str) -> str:
    return str(api.call("GET", f"/ports/{port_id}?fields=status")["port"]["status"])


def wait_status(api: bench_api.Api, port_id: str, *, poll: float, timeout: float) -> float:
    """Poll until the port is ACTIVE; when (perf_counter) the answer that showed it arrived."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        found = status(api, port_id)
        if found == ACTIVE:
            return time.perf_counter()
        if found == ERROR:
            raise RuntimeError(f"port {port_id} is ERROR: {api.call('GET', f'/ports/{port_id}')}")
        time.sleep(poll)
    raise TimeoutError(f"port {port_id} not ACTIVE after {timeout:.0f} s")


def host_report(api: bench_api.Api, host: labs.Host) -> dict[str, Any]:
    found: dict[str, Any] = api.call("GET", f"/goalstate/hosts/{host.id}")["host"]
    return found


def wait_acked(
    api: bench_api.Api, host: labs.Host, since: int, *, poll: float, timeout: float
) -> float:
    """Poll until the host was given a revision after ``since`` and acknowledged all it was
    given; when (perf_counter) the answer that showed it arrived."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        report = host_report(api, host)
        if report["desired_revision"] > since and not report["lag"]:
            return time.perf_counter()
        time.sleep(poll)
    raise TimeoutError(f"{host.id} did not acknowledge after {timeout:.0f} s")


def settle(lab: labs.Lab, api: bench_api.Api, timeout: float) -> None:
    """Every lab host has acknowledged everything, twice 0.2 s apart at the same revision."""

    def settled() -> bool:
        revision = lab.revision()
        reports = [host_report(api, h) for h in lab.hosts.values()]
        if not all(r["connected"] and not r["lag"] for r in reports):
            return False
        time.sleep(0.2)
        return lab.revision() == revision

    labs.eventually(settled, timeout=timeout, what="the lab hosts to settle")


def model(host: labs.Host) -> dict[str, Any]:
    return dict(host.status().get("model", {}))


def applied(found: dict[str, Any]) -> dict[str, Any]:
    """The status file's model once the driver has finished a goal state (its timings are
    filled phase by phase while it works), else {}."""
    return found if "total" in found.get("timings", {}) else {}


# --- 1: one port and N neighbors ------------------------------------------------------------


def kernel_entries(host: labs.Host) -> dict[str, int]:
    """What the host's kernel holds on its VXLAN devices: forwarding entries towards other
    hosts (``self``, with a ``dst``) and permanent ARP/ND entries (the bridges need no entry
    per neighbor: only the VXLAN port floods unknown unicast)."""
    fdb = labs.run("ip", "netns", "exec", host.ns, "bridge", "fdb", "show", timeout=60).stdout
    neigh = labs.run("ip", "-n", host.ns, "neigh", "show", "nud", "permanent", timeout=60).stdout
    vxlan = sum(" dev alvx-" in line and " dst " in line for line in fdb.splitlines())
    arp = sum(" dev alvx-" in line for line in neigh.splitlines())
    return {"vxlan_fdb": vxlan, "neighbors": arp}


def part_neighbors(lab: labs.Lab, api: bench_api.Api, args: argparse.Namespace) -> dict[str, Any]:
    (one,) = lab.add_hosts("one")
    far = far_nodes(api, lab.tag + "-n", args.far_hosts)
    where = vpc(lab, "neighbors", "10.64.0.0/16")
    say(f"1: {args.neighbors:,} ports on {len(far)} nodes without agents")
    bodies = [port_body(where, far[i % len(far)], bare=args.bare) for i in range(args.neighbors)]
    _, posts = api.create_many(bench_api.PORTS, bodies, BULK)
    settle(lab, api, args.timeout)
    runs = [one_port(lab, api, one, where, args) for _ in range(args.repeat)]
    return {
        "part": "1",
        "neighbors": args.neighbors,
        "far_hosts": len(far),
        "bare": args.bare,
        "bulk_s": round(sum(posts), 2),
        "runs": runs,
    }


def one_port(
    lab: labs.Lab, api: bench_api.Api, one: labs.Host, where: Vpc, args: argparse.Namespace
) -> dict[str, Any]:
    """Create the port on ``one``, time it to ACTIVE, check the kernel; delete it, check again."""
    load = bench_goalstate.load_average()
    before = host_report(api, one)
    started = time.perf_counter()
    port_id = api.create(bench_api.PORTS, port_body(where, one.id, bare=args.bare))
    answered = time.perf_counter()
    active = wait_status(api, port_id, poll=args.poll_ms / 1000, timeout=args.timeout)
    settle(lab, api, args.timeout)
    after = host_report(api, one)
    held = labs.eventually(
        lambda: (m := model(one)).get("neighbors", 0) >= args.neighbors and applied(m),
        timeout=args.timeout,
        what="the status file to show the neighbors",
    )
    entries = kernel_entries(one)
    short = {kind: n for kind, n in entries.items() if n < args.neighbors}
    if short:
        raise RuntimeError(f"the kernel of {one.id} holds fewer than {args.neighbors}: {entries}")
    say(f"1: ACTIVE after {active - started:.3f} s; kernel {entries}")
    started_delete = time.perf_counter()
    api.call("DELETE", f"/ports/{port_id}", expect=204)
    since = after["desired_revision"]
    removed = wait_acked(api, one, since, poll=args.poll_ms / 1000, timeout=args.timeout)
    settle(lab, api, args.timeout)
    left = kernel_entries(one)
    if any(left.values()):
        raise RuntimeError(f"{one.id} kept entries after its port was deleted: {left}")
    return {
        "load": load,
        "api_ms": round((answered - started) * 1000, 1),
        "active_s": round(active - started, 3),
        "agent_ms": after["last_programming_ms"],
        "phases": {k: round(v, 4) for k, v in held.get("timings", {}).items()},
        "goal_states": after["messages_sent"] - before["messages_sent"],
        "entries": after["entries_sent"] - before["entries_sent"],
        "snapshots": after["snapshots_sent"] - before["snapshots_sent"],
        "kernel": entries,
        "delete_acked_s": round(removed - started_delete, 3),
        "delete_agent_ms": host_report(api, one)["last_programming_ms"],
    }


# --- 2: endpoints plugged per second --------------------------------------------------------


def part_plug(lab: labs.Lab, api: bench_api.Api, args: argparse.Namespace) -> dict[str, Any]:
    (plug,) = lab.add_hosts("plug")
    where = vpc(lab, "plug", "10.65.0.0/16")
    load = bench_goalstate.load_average()
    bodies = [port_body(where, plug.id) for _ in range(args.endpoints)]
    say(f"2: {args.endpoints} ports on {plug.id} in one POST")
    before = host_report(api, plug)
    started = time.perf_counter()
    body = msgspec.json.encode({"ports": bodies})
    answer, post = api.exchange("POST", "/ports", body, 201)
    ports = msgspec.json.decode(answer)["ports"]
    ids = {p["id"] for p in ports}
    done = all_active(api, where.network, ids, poll=args.poll_ms / 1000, timeout=args.timeout)
    seconds = done - started
    held = labs.eventually(
        lambda: len((m := model(plug)).get("endpoints", {})) >= len(ids) and applied(m),
        timeout=args.timeout,
        what="the status file to show the endpoints",
    )
    after = host_report(api, plug)
    checked = check_endpoints(lab, plug, ports)
    say(f"2: {len(ids)} ACTIVE after {seconds:.3f} s ({len(ids) / seconds:.0f}/s); {checked}")
    return {
        "part": "2",
        "load": load,
        "endpoints": len(ids),
        "post_s": round(post, 3),
        "active_s": round(seconds, 3),
        "per_s": round(len(ids) / seconds, 1),
        "agent_ms": after["last_programming_ms"],
        "goal_states": after["messages_sent"] - before["messages_sent"],
        "entries": after["entries_sent"] - before["entries_sent"],
        "phases": {k: round(v, 4) for k, v in held["timings"].items()},
        "checked": checked,
    }


def all_active(
    api: bench_api.Api, network: str, ids: set[str], *, poll: float, timeout: float
) -> float:
    """When (perf_counter) an answer first showed every port of ``ids`` ACTIVE."""
    path = f"/ports?network_id={network}&fields=id&fields=status"
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        ports = api.call("GET", path)["ports"]
        statuses = {p["id"]: p["status"] for p in ports if p["id"] in ids}
        if all(statuses.get(i) == ACTIVE for i in ids):
            return time.perf_counter()
        failed = [i for i, s in statuses.items() if s == ERROR]
        if failed:
            raise RuntimeError(f"ports in ERROR: {failed[:5]}")
        time.sleep(poll)
    raise TimeoutError(f"ports not ACTIVE after {timeout:.0f} s")


def check_endpoints(lab: labs.Lab, host: labs.Host, ports: Sequence[dict[str, Any]]) -> str:
    """Every port has its namespace with its address on eth0, and the first pings the last."""
    made = {ns for ns in lab.namespaces() if ns.startswith(host.prefix + "ep-")}
    for port in ports:
        ns = host.endpoint(port["id"])
        if ns not in made:
            raise RuntimeError(f"no namespace {ns}")
        ip = port["fixed_ips"][0]["ip_address"]
        shown = labs.run("ip", "-n", ns, "-br", "addr", "show", "dev", "eth0").stdout
        if f" {ip}/" not in shown:
            raise RuntimeError(f"{ns} lacks {ip}: {shown}")
    first, last = ports[0], ports[-1]
    if not lab.ping(host.endpoint(first["id"]), last["fixed_ips"][0]["ip_address"]):
        raise RuntimeError("the first endpoint does not ping the last")
    return f"{len(made)} namespaces with their addresses, first pings last"


# --- 3: API call to first ping ---------------------------------------------------------------

REPLY = re.compile(r"^\[(\d+\.\d+)\] \d+ bytes from ")


def part_ping(lab: labs.Lab, api: bench_api.Api, args: argparse.Namespace) -> dict[str, Any]:
    p1, p2 = lab.add_hosts("p1", "p2")
    where = vpc(lab, "ping", "10.66.0.0/16")
    group = lab.group({"protocol": None}, project=where.project)  # ingress open
    source = lab.port(where.subnet, "10.66.0.10", p1, groups=[group], project=where.project)
    lab.port(where.subnet, "10.66.0.20", p2, groups=[group], project=where.project)  # p2 joins
    pinger = p1.endpoint(source)
    # ARP retried every 5 ms and never given up (a failed resolution would end the ping)
    arp = ("net.ipv4.neigh.eth0.retrans_time_ms=5", "net.ipv4.neigh.eth0.mcast_solicit=100000")
    labs.run("ip", "netns", "exec", pinger, "sysctl", "-qw", *arp)
    load = bench_goalstate.load_average()
    say(f"3: {args.pings} endpoints on {p2.id}, each pinged from {p1.id} from the POST on")
    samples = [
        first_ping(lab, api, where, p2, pinger, f"10.66.1.{i + 1}", [group], args)
        for i in range(args.pings)
    ]
    return {
        "part": "3",
        "load": load,
        "pings": len(samples),
        "api": latency([s[0] for s in samples]),
        "active": latency([s[1] for s in samples]),
        "first_ping": latency([s[2] for s in samples]),
        "agent": latency([s[3] for s in samples]),
    }


def first_ping(
    lab: labs.Lab,
    api: bench_api.Api,
    where: Vpc,
    host: labs.Host,
    pinger: str,
    ip: str,
    groups: list[str],
    args: argparse.Namespace,
) -> tuple[float, float, float, float]:
    """(API answer, ACTIVE, first echo reply), seconds after the POST was sent, and the
    agent's programming time of the goal state that made the port ACTIVE."""
    command = ["ip", "netns", "exec", pinger, "ping", "-D", "-n", "-c", "1", "-i", "0.005"]
    command += ["-w", str(int(args.timeout)), ip]
    ping = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lab.processes.append(ping)
    time.sleep(0.05)  # pinging (unanswered) before the port exists
    body = port_body(where, host.id, ip) | {"security_groups": groups}
    started_wall, started = time.time(), time.perf_counter()
    port_id = api.create(bench_api.PORTS, body)
    answered = time.perf_counter() - started
    active = wait_status(api, port_id, poll=args.poll_ms / 1000, timeout=args.timeout) - started
    out, _ = ping.communicate(timeout=args.timeout + 5)
    replies = [float(m.group(1)) for m in map(REPLY.match, out.splitlines()) if m]
    if ping.returncode != 0 or not replies:
        raise RuntimeError(f"no reply from {ip} in {pinger}: {out[-500:]}")
    reply = replies[0] - started_wall
    if reply <= 0:
        raise RuntimeError(f"{ip} answered before its port was created ({reply:.3f} s)")
    agent = host_report(api, host)["last_programming_ms"] / 1000
    return answered, active, reply, agent


# --- the report ------------------------------------------------------------------------------


def _ms(figures: dict[str, Any]) -> str:
    return f"{figures['p50_ms']} / {figures['p99_ms']} / {figures['max_ms']}"


def text_1(part: dict[str, Any]) -> list[str]:
    lines = [
        f"1) one port + {part['neighbors']:,} neighbors ({part['far_hosts']} remote nodes; "
        f"{part['neighbors']:,} ports bulk-created in {part['bulk_s']} s; "
        + ("no security groups)" if part["bare"] else "all in the default group)"),
        "   run  load            API ms  ACTIVE s  agent ms  phases (s)"
        "                                   goal states/entries  kernel vxlan/arp"
        "  delete: acked s, agent ms",
    ]
    for i, r in enumerate(part["runs"], 1):
        phases = " ".join(f"{k}={v}" for k, v in r["phases"].items() if k != "operations")
        k = r["kernel"]
        lines.append(
            f"   {i:<4} {r['load']:<15} {r['api_ms']:>6}  {r['active_s']:>8}  {r['agent_ms']:>8}"
            f"  {phases} ops={r['phases'].get('operations')}  {r['goal_states']}/{r['entries']:,}"
            f"  {k['vxlan_fdb']:,}/{k['neighbors']:,}"
            f"  {r['delete_acked_s']}, {r['delete_agent_ms']}"
        )
    lines.append(
        f"   for 10,000: target <= {TARGET_PROGRAM_S} s, Alcor's agent {ALCOR_S:.0f} s; the notes' "
        f"batch rate "
        f"{NOTES_ENTRIES_PER_S} entries/s"
    )
    return lines


def text_2(part: dict[str, Any]) -> list[str]:
    phases = " ".join(f"{k}={v}" for k, v in part["phases"].items())
    return [
        f"2) {part['endpoints']} endpoints on one host in one bulk POST (load {part['load']})",
        f"   POST answered {part['post_s']} s, all ACTIVE {part['active_s']} s: "
        f"**{part['per_s']} endpoints/s** ({part['goal_states']} goal states, "
        f"{part['entries']} entries; the last one's agent {part['agent_ms']} ms: {phases})",
        f"   checked: {part['checked']}",
        f"   target >= {TARGET_PLUG_PER_S:.0f}/s; the notes' bare `ip -batch` {NOTES_PLUG_PER_S}/s",
    ]


def text_3(part: dict[str, Any]) -> list[str]:
    return [
        f"3) API call -> first ping of a new endpoint, {part['pings']} times (load {part['load']})",
        f"   p50 / p99 / max ms: API answer {_ms(part['api'])}; ACTIVE {_ms(part['active'])}; "
        f"first echo reply {_ms(part['first_ping'])}; the agent's apply (acks' "
        f"programming time) {_ms(part['agent'])}",
    ]


def text(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"command:  {report['command']}",
        f"machine:  {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, Linux {m['kernel']}; "
        f"load {report['load_before']} before, {report['load_after']} after",
    ]
    for part in report["results"]:
        lines += ["", *{"1": text_1, "2": text_2, "3": text_3}[part["part"]](part)]
    return "\n".join(lines)


# --- the command -----------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="The linux data plane: one port and N neighbors, endpoints plugged per "
        "second, API call to first ping. Needs root.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--parts", default="123", help="which parts to run: any of 1, 2, 3")
    p.add_argument("--neighbors", type=int, default=10_000, help="1: ports on other hosts")
    p.add_argument("--far-hosts", type=int, default=100, help="1: nodes they are spread over")
    p.add_argument("--repeat", type=int, default=3, help="1: create/delete rounds")
    p.add_argument(
        "--bare",
        action="store_true",
        help="1: ports without security groups (no address set: neighbors only)",
    )
    p.add_argument("--endpoints", type=int, default=200, help="2: ports in the bulk POST")
    p.add_argument("--pings", type=int, default=50, help="3: endpoints created and pinged")
    p.add_argument("--poll-ms", type=float, default=2.0, help="pause between ACTIVE polls")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds for anything to settle")
    p.add_argument("--json", action="store_true", help="print one JSON object, not text")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if set(args.parts) - set("123") or not args.parts:
        parser().error("--parts: digits among 1, 2, 3")
    if args.pings > 250:
        parser().error("--pings: at most 250 (one /24 of addresses)")
    why = labs.unusable()
    if why:
        print(f"bench/dataplane.py: {why}; nothing run", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on the way out
    report: dict[str, Any] = {**bench_goalstate.header(args), "results": []}
    runs = {"1": part_neighbors, "2": part_plug, "3": part_ping}
    with (
        tempfile.TemporaryDirectory(prefix="alcor-dataplane-") as tmp,
        lab_running(Path(tmp)) as lab,
    ):
        api = bench_api.Api(lab.server.url)
        try:
            for part in sorted(args.parts):
                say(f"part {part}: starting (load {bench_goalstate.load_average()})")
                report["results"].append(runs[part](lab, api, args))
        finally:
            api.close()
    report["load_after"] = bench_goalstate.load_average()
    print(json.dumps(report, indent=2) if args.json else text(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
