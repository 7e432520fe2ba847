"""``alcor hosts``: every host as the controller sees it, one row each: its state
(``connected``: its agent's stream is open; ``up``: its node is up, the stream closed within the
grace; ``down``), underlay address, driver and agent version, the southbound process serving it,
desired and acknowledged revision and their difference (lag), last heartbeat, and the entries its
agent failed to program with the agent's message. From ``GET /v2.0/nodes`` and
``GET /v2.0/goalstate/hosts`` (admin)."""

from __future__ import annotations

import argparse
from typing import Any

from rich import box
from rich.table import Table

from alcor.cli import operator_api

CONNECTED = "connected"


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    hosts = commands.add_parser("hosts", help="the hosts: state, revisions, lag, failures")
    hosts.add_argument("--host", action="append", default=[], metavar="H", help="only these")
    operator_api.add_options(hosts)


def state_of(report: dict[str, Any] | None, node: dict[str, Any] | None) -> str:
    if report is not None and report["connected"] and not report["lost"]:
        return CONNECTED
    if node is not None and node.get("state") == "up" and not (report or {}).get("lost"):
        return "up"
    return "down"


def rows(api: operator_api.Api, args: argparse.Namespace) -> list[dict[str, Any]]:
    only: list[str] = args.host
    nodes = {n["name"]: n for n in api.get("/nodes")["nodes"]}
    reports = {r["host"]: r for r in api.get("/goalstate/hosts")["hosts"]}
    names = sorted(set(nodes) | set(reports))
    if only:
        names = [name for name in names if name in only]
    found = []
    for name in names:
        node, report = nodes.get(name), reports.get(name)
        shown = report or {}
        found.append(
            {
                "host": name,
                "state": state_of(report, node),
                "underlay_ip": node["underlay_ip"] if node is not None else "",
                "driver": shown.get("driver", ""),
                "agent_version": shown.get("agent_version", ""),
                "controller": shown.get("controller", ""),
                "desired_revision": shown.get("desired_revision", 0),
                "acknowledged_revision": shown.get("acknowledged_revision", 0),
                "lag": shown.get("lag", 0),
                "last_heartbeat": shown.get("last_heartbeat"),
                "ports": shown.get("ports", 0),
                "failures": shown.get("failures", []),
            }
        )
    return found


def table(found: list[dict[str, Any]]) -> Table:
    shown = Table(title="hosts", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("HOST", "STATE", "UNDERLAY", "DRIVER", "AGENT", "CONTROLLER"):
        shown.add_column(column, no_wrap=True)
    for column in ("ACKED/DESIRED", "LAG", "PORTS"):
        shown.add_column(column, justify="right", no_wrap=True)
    shown.add_column("HEARTBEAT", no_wrap=True)
    shown.add_column("FAILING", min_width=20)
    style = {CONNECTED: "green", "up": "yellow", "down": "red"}
    for host in found:
        failing = "\n".join(f"{f['kind']} {f['id']}: {f['message']}" for f in host["failures"])
        shown.add_row(
            host["host"],
            f"[{style[host['state']]}]{host['state']}[/]",
            host["underlay_ip"],
            host["driver"],
            host["agent_version"],
            host["controller"],
            f"{host['acknowledged_revision']}/{host['desired_revision']}",
            str(host["lag"]),
            str(host["ports"]),
            (host["last_heartbeat"] or "-").partition("T")[2] or "-",
            failing,
        )
    return shown


def main(args: argparse.Namespace) -> int:
    return operator_api.show(args, command="hosts", fetch=rows, table=table)
