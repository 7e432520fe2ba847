"""QoS on 1,000 ports of one host: what the agent's linux driver costs to program a QoS change
(root; issue 15's benchmark, target <= 1 s).

The script runs itself again inside a network namespace of its own (``qosb-<tag>``, removed on
the way out, also on failure), where it makes --ports veth pairs whose host ends are named as
Nova names taps (the driver's ``--endpoint-mode tap``: the devices are there, the driver attaches
them to their network's bridge). A ``LinuxDriver`` over the real kernel (``executing.Processes``)
is fed goal states as the controller would send them, through ``HostState`` as the agent applies
them; each step is timed around ``driver.apply`` (planning, the ip/tc/nft processes, everything
but the gRPC stream) and the kernel is checked after it:

1  set     every port's policy (its entry names it) and the policy (egress and ingress limits and
           a DSCP mark): an IFB device, three qdiscs, a filter and a map element per port
2  rate    the policy's rates changed (one ``qos_policy`` entry): two qdiscs per port replaced
3  mark    the policy's DSCP mark changed: one map element per port
4  clear   the ports name no policy (--ports port entries): all of it removed

    sudo make bench-qos                               # 1,000 ports
    sudo .venv/bin/python bench/qos.py
    sudo .venv/bin/python bench/qos.py --ports 200 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from alcor.agent.drivers.linux import executing, layouts, names, shaping, supervising  # noqa: E402
from alcor.agent.drivers.linux.driver import LinuxDriver  # noqa: E402
from alcor.agent.state import HostState  # noqa: E402
from alcor.v1 import southbound_pb2 as pb  # noqa: E402

TARGET_S = 1.0
NETWORK = "00000000-0000-4000-8000-0000000000aa"
POLICY = "00000000-0000-4000-8000-0000000000bb"


def port_id(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-000000000000"


class Host:
    """The driver over this namespace's kernel, and the goal state it was given."""

    def __init__(self, ports: int, state_dir: str) -> None:
        settings = layouts.HostSettings(
            host_id="qos-bench", underlay_ip="192.0.2.1", endpoint_mode="tap", state_dir=state_dir
        )
        self.driver = LinuxDriver(settings, executing.Processes(), supervising.Processes(state_dir))
        self.state = HostState()
        self.revision = 0
        self.ports = [port_id(n) for n in range(ports)]

    def apply(self, *entries: pb.Entry) -> float:
        self.revision += 1
        for entry in entries:
            entry.revision = self.revision
        changes = self.state.apply(pb.GoalState(revision=self.revision, entries=list(entries)))
        started = time.perf_counter()
        failed = asyncio.run(self.driver.apply(changes, self.state))
        took = time.perf_counter() - started
        if failed:
            raise SystemExit(f"failed: {failed[:3]}")
        return took

    def port(self, pid: str, policy: str) -> pb.Entry:
        return pb.Entry(
            port=pb.Port(
                id=pid,
                network_id=NETWORK,
                mac_address="fa:16:3e:" + ":".join(pid[i : i + 2] for i in (2, 4, 6)),
                admin_state_up=True,
                port_security_enabled=False,
                qos_policy_id=policy,
            )
        )


def policy(kbps: int, mark: int) -> pb.Entry:
    return pb.Entry(
        qos_policy=pb.QosPolicy(
            id=POLICY,
            egress_kbps=kbps,
            egress_burst_kb=kbps // 10,
            ingress_kbps=kbps // 2,
            ingress_burst_kb=kbps // 20,
            marks=True,
            dscp_mark=mark,
        )
    )


def run(command: str) -> str:
    return subprocess.run(command, shell=True, check=True, capture_output=True, text=True).stdout


def count(command: str) -> int:
    """The lines ``command`` prints (a grep that finds nothing: 0)."""
    return len([line for line in run(command + " || true").splitlines() if line.strip()])


def inside(arguments: argparse.Namespace) -> dict[str, Any]:
    host = Host(arguments.ports, arguments.state_dir)
    lines = [f"link add {names.tap(p)} type veth peer name p{n}" for n, p in enumerate(host.ports)]
    subprocess.run(["ip", "-batch", "-"], input="\n".join(lines) + "\n", text=True, check=True)
    network = pb.Entry(network=pb.Network(id=NETWORK, network_type="vxlan", segmentation_id=4242,
                                          mtu=1450, admin_state_up=True))  # fmt: skip
    plugged = host.apply(network, *(host.port(p, "") for p in host.ports))
    results: dict[str, Any] = {"ports": arguments.ports, "plug_s": plugged}
    results["set_s"] = host.apply(policy(20000, 26), *(host.port(p, POLICY) for p in host.ports))
    assert count("ip -o link show type ifb") == arguments.ports
    assert count("tc qdisc show | grep 'tbf.*rate 20Mbit'") == arguments.ports
    assert count("tc qdisc show | grep 'tbf.*rate 10Mbit'") == arguments.ports
    results["rate_s"] = host.apply(policy(30000, 26))
    assert count("tc qdisc show | grep 'tbf.*rate 30Mbit'") == arguments.ports
    results["mark_s"] = host.apply(policy(30000, 46))
    marks = run(f"nft list map bridge {shaping.TABLE} {shaping.MARKS}")
    assert marks.count("jump dscp-46") == arguments.ports, marks[:400]
    results["clear_s"] = host.apply(*(host.port(p, "") for p in host.ports))
    assert count("ip -o link show type ifb") == 0
    assert count("tc qdisc show | grep tbf") == 0
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--state-dir", default="", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.inside:
        print(json.dumps(inside(arguments)))
        return
    ns = f"qosb-{secrets.token_hex(3)}"
    state_dir = f"/tmp/{ns}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        done = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, __file__, "--inside",
             f"--ports={arguments.ports}", f"--state-dir={state_dir}"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
        subprocess.run(["rm", "-rf", state_dir], check=False)
    results = json.loads(done.stdout.strip().splitlines()[-1])
    if arguments.json:
        print(json.dumps(results))
        return
    print(f"QoS on {results['ports']} ports of one host (target <= {TARGET_S} s a change)")
    for step, what in (
        ("plug_s", "ports attached, no QoS (for scale)"),
        ("set_s", "1 set: policy named by every port (IFB, qdiscs, filter, mark)"),
        ("rate_s", "2 rate: the policy's rates changed"),
        ("mark_s", "3 mark: the policy's DSCP mark changed"),
        ("clear_s", "4 clear: no port names a policy"),
    ):
        print(f"  {what:<62} {results[step]:7.3f} s")


if __name__ == "__main__":
    main()
