"""Firewall groups (``fwaas_v2``): ``make bench-firewalls``. Two parts, each selected with
``--parts``:

a  program  (root) the cost on one host of a firewall policy of R rules (1,000) on a router's
            interfaces: the agent's table (``agent/drivers/linux/firewalls``) rendered from
            the goal-state entry, then loaded as the agent loads it (one ``nft -f``
            transaction: declare, delete, define) into a namespace of the bench's own, first
            whole, then after one rule inserted at the top (what ``insert_rule`` costs a
            host). Target: at most 0.2 s for the 1,000 rules.
b  spread   the goal-state latency of an ACL change across H simulated hosts (100, ``alcor
            sim``, recording agents): a router on a network with a port on every host (so every
            host holds the router), a firewall group on its interface with a policy of P rules;
            then ``insert_rule`` N times, each timed from the request until every host
            acknowledged it (``GET /v2.0/goalstate/hosts``: no host lagging, polled every 5
            ms), and ``remove_rule`` likewise.

    .venv/bin/python bench/firewalls.py                 # both parts (a needs root)
    .venv/bin/python bench/firewalls.py --parts b --hosts 100 --changes 20
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import api as bench_api  # noqa: E402
from bench import goalstate as bench_goalstate  # noqa: E402

from alcor.agent.drivers.linux import firewalls  # noqa: E402
from alcor.v1 import southbound_pb2 as pb  # noqa: E402

TARGET_S = 0.2
FIREWALL_RULES = bench_api.Kind("/fwaas/firewall_rules", "firewall_rule", "firewall_rules")


def rule(index: int) -> pb.FirewallRule:
    """The index-th rule of a realistic mix: sources by /24, TCP and UDP ports, some ICMP."""
    protocol = ("tcp", "udp", "icmp")[index % 3]
    ported = protocol != "icmp"
    return pb.FirewallRule(
        id=f"r{index}",
        protocol=protocol,
        ip_version=4,
        source_ip_address=f"10.{index // 250 % 250}.{index % 250}.0/24",
        destination_port_min=1000 + index if ported else 0,
        destination_port_max=1000 + index if ported else 0,
        action=("allow", "deny", "reject")[index % 3],
    )


def group(rules: list[pb.FirewallRule]) -> pb.FirewallGroup:
    return pb.FirewallGroup(
        id="bench-group/bench-router",
        router_id="bench-router",
        interface_port_ids=["p1", "p2"],
        admin_state_up=True,
        filters_ingress=True,
        filters_egress=True,
        ingress_rules=rules,
        egress_rules=rules[:10],
    )


def load(ns: str, entry: pb.FirewallGroup) -> tuple[float, float]:
    """The seconds to render the table and to load it as the agent does."""
    started = time.perf_counter()
    text = firewalls.table_text(entry, ["qr-p1", "qr-p2"])
    rendered = time.perf_counter()
    name = firewalls.table(entry.id)
    transaction = f"table {name}\ndelete table {name}\n{text}"
    subprocess.run(
        ["ip", "netns", "exec", ns, "nft", "-f", "-"], input=transaction, text=True, check=True
    )
    return rendered - started, time.perf_counter() - rendered


def part_a(args: argparse.Namespace) -> dict[str, Any]:
    ns = f"bench-fw-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        rules = [rule(i) for i in range(args.rules)]
        whole, inserted = [], []
        for attempt in range(args.repeat):
            subprocess.run(["ip", "netns", "exec", ns, "nft", "flush", "ruleset"], check=True)
            whole.append(load(ns, group(rules)))
            inserted.append(load(ns, group([rule(args.rules + attempt), *rules])))
        listed = subprocess.run(
            ["ip", "netns", "exec", ns, "nft", "list", "ruleset"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    total = [r + w for r, w in whole]
    return {
        "rules": args.rules,
        "chain_lines_in_kernel": listed.count("\n\t\t"),
        "whole_s": _spread(total),
        "render_s": _spread([r for r, _ in whole]),
        "nft_s": _spread([w for _, w in whole]),
        "insert_one_s": _spread([r + w for r, w in inserted]),
        "target_s": TARGET_S,
        "within_target": statistics.median(total) <= TARGET_S,
    }


def _spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 4),
        "max": round(ordered[-1], 4),
    }


def part_b(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    sims = bench_goalstate.sims_for(
        args.hosts, processes=args.sims, prefix="fw", base="10.200.0.1", directory=directory
    )
    hosts = [host.name for sim in sims for host in sim.hosts]
    with (
        bench_goalstate.controller(args, directory) as servers,
        bench_goalstate.nodes_then_sims(servers, sims),
    ):
        api = bench_api.Api(servers[0].url)
        try:
            return _spread_changes(api, hosts, args)
        finally:
            api.close()


def _spread_changes(
    api: bench_api.Api, hosts: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    network = api.create(bench_api.NETWORKS, {"name": "fw"})
    subnet = api.create(
        bench_api.SUBNETS, {"network_id": network, "cidr": "10.60.0.0/16", "ip_version": 4}
    )
    router = api.create(bench_api.ROUTERS, {"name": "fw"})
    interface = api.call("PUT", f"/routers/{router}/add_router_interface", {"subnet_id": subnet})
    ports: list[bench_api.Body] = [
        {"network_id": network, "binding:host_id": host, "device_owner": "compute:bench"}
        for host in hosts
    ]
    api.create_many(bench_api.PORTS, ports, bench_goalstate.BULK)
    bodies: list[bench_api.Body] = [
        {"protocol": "tcp", "destination_port": str(1000 + i), "action": "deny"}
        for i in range(args.policy_rules + args.changes)
    ]
    rule_ids, _ = api.create_many(FIREWALL_RULES, bodies, bench_goalstate.BULK)
    held, extra = rule_ids[: args.policy_rules], rule_ids[args.policy_rules :]
    policy = api.call(
        "POST", "/fwaas/firewall_policies", {"firewall_policy": {"firewall_rules": held}}, 201
    )["firewall_policy"]["id"]
    body = {"ports": [interface["port_id"]], "ingress_firewall_policy_id": policy}
    api.call("POST", "/fwaas/firewall_groups", {"firewall_group": body}, 201)
    settle = bench_goalstate.wait_for(
        "every host to hold the group",
        lambda: bench_goalstate.settled(api, len(hosts)),
        timeout=600,
    )
    timings: dict[str, list[float]] = {"insert_rule": [], "remove_rule": []}
    for action in ("insert_rule", "remove_rule"):
        for rule_id in extra:
            before = bench_goalstate.summary(api)["revision"]
            started = time.perf_counter()
            api.call(
                "PUT", f"/fwaas/firewall_policies/{policy}/{action}", {"firewall_rule_id": rule_id}
            )
            while not (
                bench_goalstate.summary(api)["revision"] > before
                and bench_goalstate.caught_up(api, len(hosts))
            ):
                time.sleep(0.005)
            timings[action].append(time.perf_counter() - started)
    return {
        "hosts": len(hosts),
        "policy_rules": args.policy_rules,
        "changes": args.changes,
        "first_settle_s": round(settle, 2),
        **{f"{action}_ms": bench_goalstate.latency(values) for action, values in timings.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="ab")
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--sims", type=int, default=2, help="alcor sim processes")
    parser.add_argument("--policy-rules", type=int, default=100)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--sync", default="full")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report: dict[str, Any] = bench_goalstate.header(args)
    if "a" in args.parts:
        report["a_program"] = part_a(args)
    if "b" in args.parts:
        with tempfile.TemporaryDirectory(prefix="bench-fw-") as directory:
            report["b_spread"] = part_b(args, Path(directory))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
