"""``alcor trace PORT [--to PORT|IP] [--protocol P] [--port N] [--agent]``: why can A not reach
B, from the controller (``GET /v2.0/goalstate/trace/{port}``, admin; ``services.tracing`` says
what it computes): the port's record, host and status; every host that must hold something of
it (its neighbor entry, its groups' membership, its router legs) and whether it acknowledged
it; with ``--to``, the path and where it breaks. ``--agent`` also asks the agent of the host
it runs on, over its admin socket (``alcor agent --admin-socket``), what it holds and
programmed of the port. Exit status 0; 1 when the controller or the agent cannot answer."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from alcor.agent import admin_socket
from alcor.cli import operator_api


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    trace = commands.add_parser(
        "trace", help="who holds a port, and the path to another (where it breaks)"
    )
    trace.add_argument("port", metavar="PORT", help="a port id")
    trace.add_argument("--to", metavar="PORT|IP", help="a port id, or an address")
    trace.add_argument("--protocol", metavar="P", help="tcp, udp, icmp, ... (any)")
    trace.add_argument("--port", type=int, dest="port_number", metavar="N", help="with --protocol")
    trace.add_argument(
        "--agent",
        action="store_true",
        help="also ask this host's agent what it holds and programmed of the port",
    )
    trace.add_argument(
        "--agent-socket",
        default=admin_socket.DEFAULT_PATH,
        metavar="PATH",
        help=f"the agent's admin socket ({admin_socket.DEFAULT_PATH})",
    )
    operator_api.add_options(trace)


def fetch(api: operator_api.Api, args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if args.to:
        params["to"] = args.to
    if args.protocol:
        params["protocol"] = args.protocol
    if args.port_number is not None:
        params["port"] = args.port_number
    found: dict[str, Any] = api.get(f"/goalstate/trace/{args.port}", params)["trace"]
    return found


def _mark(good: bool) -> Text:
    return Text("yes", style="green") if good else Text("NO", style="bold red")


def holders_table(trace: dict[str, Any]) -> Table:
    shown = Table(title="who must hold it", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("HOST", "CONNECTED", "ACKED"):
        shown.add_column(column, no_wrap=True)
    shown.add_column("ENTRY", overflow="fold")
    shown.add_column("REVISION", no_wrap=True, justify="right")
    shown.add_column("ACKNOWLEDGED", no_wrap=True)
    shown.add_column("FAILING", overflow="fold")
    for holder in trace["holders"]:
        for index, held in enumerate(holder["entries"]):
            first = index == 0
            shown.add_row(
                holder["host"] if first else "",
                ("yes" if holder["connected"] else "no") if first else "",
                str(holder["acknowledged_revision"]) if first else "",
                held["key"],
                held["status"] or str(held["revision"]),
                _mark(held["acknowledged"]),
                "\n".join(holder["failures"]) if first else "",
            )
    return shown


def _endpoint_line(label: str, port: dict[str, Any]) -> str:
    return (
        f"{label} {port['id']} {port['name']!r} on network {port['network_id']}, "
        f"{' '.join(port['addresses']) or 'no address'}, host {port['host'] or '-'}, "
        f"{port['status']}, revision {port['revision']}"
    )


def path_lines(path: dict[str, Any]) -> list[Text]:
    lines = [Text(f"path to {path['to']} ({path['address'] or '?'}): {path['kind']}", "bold")]
    if path["destination"] is not None:
        lines.append(Text("  " + _endpoint_line("to", path["destination"])))
    if path["router_id"]:
        legs = ", ".join(f"{i['address']} on {i['network_id']}" for i in path["interfaces"])
        lines.append(Text(f"  via router {path['router_id']}" + (f": {legs}" if legs else "")))
    if path["floating_ip"]:
        lines.append(Text(f"  floating IP {path['floating_ip']}"))
    for allowance in (path["egress"], path["ingress"]):
        if allowance is None:
            continue
        if not allowance["port_security"]:
            verdict = "not filtered (port security off)"
        elif allowance["allowed"]:
            verdict = "allowed by rule(s) " + ", ".join(allowance["rules"])
        else:
            verdict = "REFUSED by group(s) " + ", ".join(allowance["groups"])
        lines.append(Text(f"  {allowance['direction']} of {allowance['port_id']}: {verdict}"))
    for found in path["breaks"]:
        lines.append(Text(f"  breaks ({found['kind']}): {found['reason']}", style="bold red"))
    if path["reachable"]:
        lines.append(Text("  reachable", style="bold green"))
    return lines


def render(trace: dict[str, Any], agent: dict[str, Any] | None) -> Group:
    parts: list[Any] = [Text(_endpoint_line("port", trace["port"]), style="bold")]
    parts.append(Text(f"controller goal state at revision {trace['revision']}"))
    parts.append(holders_table(trace))
    missing = trace["unacknowledged"]
    parts.append(
        Text("not acknowledged by: " + ", ".join(missing), style="bold red")
        if missing
        else Text("every host acknowledged it", style="green")
    )
    if trace.get("path") is not None:
        parts.extend(path_lines(trace["path"]))
    if agent is not None:
        parts.append(agent_table(agent))
    return Group(*parts)


def agent_table(agent: dict[str, Any]) -> Table:
    shown = Table(
        title=f"agent of {agent['host']} (revision {agent['revision']})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    shown.add_column("WHAT", overflow="fold")
    shown.add_column("HELD", overflow="fold")
    for key, entry in sorted(agent["entries"].items()):
        shown.add_row(key, json.dumps(entry, sort_keys=True))
    for part, value in sorted(agent["dataplane"].items()):
        shown.add_row(f"dataplane {part}", json.dumps(value, sort_keys=True))
    for failure in agent["failures"]:
        shown.add_row(f"failed {failure['kind']}:{failure['id']}", failure["message"])
    return shown


def main(args: argparse.Namespace) -> int:
    try:
        trace = fetch(operator_api.Api(args), args)
    except operator_api.Failed as error:
        return operator_api.failed("trace", error)
    agent = None
    if args.agent:
        try:
            agent = admin_socket.ask(args.agent_socket, args.port)
        except (OSError, ValueError) as error:
            return operator_api.failed(
                "trace", operator_api.Failed(f"the agent at {args.agent_socket}: {error}")
            )
    if args.json:
        operator_api.print_json({"trace": trace, **({"agent": agent} if args.agent else {})})
    else:
        Console().print(render(trace, agent))
    return 0
