"""``alcor ports [--host H] [--status S] [--network N]``: ports with their status and, for
every port that is not ``ACTIVE``, why: the message its host's agent failed it with (the host
reports' failing resources, ``GET /v2.0/goalstate/hosts``), or that it is bound to no host, to
a host that is away or lost, or to one that has not acknowledged it yet (with the host's lag).
A router's port names the router's failure on any host holding it."""

from __future__ import annotations

import argparse
from typing import Any

from rich import box
from rich.table import Table

from alcor.cli import operator_api

STYLE = {"ACTIVE": "green", "DOWN": "yellow", "ERROR": "red", "BUILD": "yellow"}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ports = commands.add_parser("ports", help="ports with their status and why")
    ports.add_argument("--host", metavar="H", help="bound to this host")
    ports.add_argument("--status", metavar="S", help="ACTIVE, DOWN, ERROR, ...")
    ports.add_argument("--network", metavar="ID", help="on this network")
    operator_api.add_options(ports)


def reason(port: dict[str, Any], reports: dict[str, dict[str, Any]]) -> str:
    """Why the port is not ACTIVE ('' when it is)."""
    if port["status"] == "ACTIVE":
        return ""
    host = port.get("binding:host_id") or ""
    router = port["device_owner"].startswith("network:router") and port["device_id"]
    failing = [  # a router's failure on any host holding it; an endpoint's on its host
        f"{report['host']}: {failure['message']}"
        for report in (reports.values() if router else [reports.get(host, {"failures": []})])
        for failure in report["failures"]
        if failure["id"] in (port["id"], router)
    ]
    if failing:
        return "; ".join(failing)
    if not host:
        return "bound to no host"
    report = reports.get(host)
    if report is None:
        return f"host {host} has not connected"
    if report["lost"]:
        return f"host {host} is lost (silent since {report['last_heartbeat'] or 'start'})"
    if not report["connected"]:
        return f"host {host} disconnected at {report['disconnected_since']}"
    if report["lag"]:
        return f"host {host} has not acknowledged it yet (lag {report['lag']})"
    return ""


def rows(api: operator_api.Api, args: argparse.Namespace) -> list[dict[str, Any]]:
    params: dict[str, str] = {}
    if args.host:
        params["binding:host_id"] = args.host
    if args.status:
        params["status"] = args.status.upper()
    if args.network:
        params["network_id"] = args.network
    ports = api.get("/ports", params)["ports"]
    reports = {r["host"]: r for r in api.get("/goalstate/hosts")["hosts"]}
    return [
        {
            "id": port["id"],
            "name": port["name"],
            "network_id": port["network_id"],
            "host": port.get("binding:host_id") or "",
            "device_owner": port["device_owner"],
            "addresses": [ip["ip_address"] for ip in port["fixed_ips"]],
            "status": port["status"],
            "reason": reason(port, reports),
        }
        for port in ports
    ]


def table(found: list[dict[str, Any]]) -> Table:
    shown = Table(title="ports", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("ID", "NAME", "NETWORK", "HOST", "ADDRESSES", "STATUS"):
        shown.add_column(column, no_wrap=True)
    shown.add_column("REASON", min_width=20)
    for port in found:
        style = STYLE.get(port["status"], "white")
        shown.add_row(
            port["id"],
            port["name"],
            port["network_id"],
            port["host"],
            " ".join(port["addresses"]),
            f"[{style}]{port['status']}[/]",
            port["reason"],
        )
    return shown


def main(args: argparse.Namespace) -> int:
    return operator_api.show(args, command="ports", fetch=rows, table=table)
