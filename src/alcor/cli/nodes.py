"""``alcor nodes load FILE``: the region's nodes from a JSON or YAML file, through the REST API.

The file holds a list of nodes, or ``{"nodes": [...]}``; a node is what ``POST /v2.0/nodes``
takes (``name``, ``underlay_ip``, and optionally ``mac_address``, ``description``,
``admin_state_up``). The load is idempotent: the file is the truth for the nodes it names.

1. The existing nodes are listed once (``GET /v2.0/nodes`` with ``fields``).
2. A name that does not exist yet is created, in bulk POSTs of ``--chunk`` nodes (each chunk
   all or nothing, as every bulk create).
3. A name that exists is left alone when the attributes the file gives are what it has, and
   updated (``PUT``, only those attributes) when they differ. Nodes the file does not name are
   never touched: a load adds and corrects, it does not delete.

So running it again after a failure (or with the same file) creates only what is missing.
Progress goes to stderr; the summary line to stdout. Exit status 0, 1 when the controller
refused something (what and why on stderr; the chunks before it stay created), 2 for a file
that cannot be loaded.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import sys
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from alcor.cli import logs
from alcor.cli.progress import Progress

DEFAULT_URL = "http://127.0.0.1:9696"
COMPARED = ("underlay_ip", "mac_address", "description", "admin_state_up")


class LoadError(Exception):
    """The file cannot be loaded (exit status 2)."""


class Refused(Exception):
    """The controller answered an error (exit status 1)."""


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    nodes = commands.add_parser("nodes", help="the region's nodes (hosts)")
    actions = nodes.add_subparsers(dest="nodes_command", required=True)
    load = actions.add_parser(
        "load",
        help="create nodes from a JSON or YAML file, in bulk; idempotent",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    load.add_argument("file", type=Path, metavar="FILE", help="JSON or YAML (by its suffix)")
    load.add_argument(
        "--controller-url", default=DEFAULT_URL, metavar="URL", help=f"({DEFAULT_URL})"
    )
    load.add_argument(
        "--chunk", type=_positive, default=1000, metavar="N", help="nodes per POST (1000)"
    )
    load.add_argument(
        "--token", default="", metavar="TOKEN", help="X-Auth-Token (with --auth-strategy keystone)"
    )
    load.add_argument("--quiet", action="store_true", help="no progress bar")
    logs.add_options(load, level="warning")


# --- the file --------------------------------------------------------------------------------


def read_nodes(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_bytes()
    except OSError as error:
        raise LoadError(f"cannot read {path}: {error.strerror}") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            document = yaml.load(text, Loader=loader)  # a safe loader: plain data only
        else:
            document = json.loads(text)
    except (ValueError, yaml.YAMLError) as error:
        raise LoadError(f"{path} is not valid {_format(path)}: {error}") from None
    if isinstance(document, dict) and set(document) == {"nodes"}:
        document = document["nodes"]
    if not isinstance(document, list):
        raise LoadError(f'{path}: expected a list of nodes or {{"nodes": [...]}}')
    names: set[str] = set()
    for index, node in enumerate(document):
        if not isinstance(node, dict) or not isinstance(node.get("name"), str):
            raise LoadError(f"{path}: node #{index + 1} is not an object with a name")
        if node["name"] in names:
            raise LoadError(f"{path}: node name {node['name']!r} appears twice")
        names.add(node["name"])
    return document


def _format(path: Path) -> str:
    return "YAML" if path.suffix.lower() in (".yaml", ".yml") else "JSON"


def _normal(field: str, value: Any) -> Any:
    """A value as the controller shows it, to compare what the file says with what exists."""
    if not isinstance(value, str):
        return value
    if field == "underlay_ip":
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            return value
    if field == "mac_address":
        return value.strip().lower().replace("-", ":")
    return value


def changes_for(wanted: dict[str, Any], existing: dict[str, Any]) -> dict[str, Any]:
    """The attributes of ``wanted`` that differ from the existing node's."""
    return {
        field: wanted[field]
        for field in COMPARED
        if field in wanted and _normal(field, wanted[field]) != existing.get(field)
    }


# --- the API ---------------------------------------------------------------------------------


class Api:
    """A keep-alive HTTP client of the controller's Neutron API (the standard library's)."""

    def __init__(self, url: str, token: str, *, timeout: float = 300.0) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LoadError(f"--controller-url: expected http(s)://HOST:PORT, got {url!r}")
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        self._connection = kind(parts.hostname, parts.port, timeout=timeout)
        self._base = parts.path.rstrip("/") + "/v2.0"
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            self._headers["X-Auth-Token"] = token

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        try:
            self._connection.request(method, self._base + path, body=data, headers=self._headers)
            response = self._connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as error:
            self._connection.close()
            raise Refused(f"{method} {path}: {error}") from None
        if response.status >= 400:
            raise Refused(f"{method} {path}: {response.status} {_error_text(payload)}")
        return json.loads(payload) if payload else None

    def close(self) -> None:
        self._connection.close()


def _error_text(payload: bytes) -> str:
    try:
        error = json.loads(payload)["NeutronError"]
        return f"{error['type']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return payload.decode(errors="replace")[:300]


def _chunks(items: Sequence[dict[str, Any]], size: int) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load(args: argparse.Namespace) -> tuple[int, int, int]:
    """(created, updated, unchanged)."""
    wanted = read_nodes(args.file)
    api = Api(args.controller_url, args.token)
    try:
        fields = "&".join(f"fields={f}" for f in ("id", "name", *COMPARED))
        existing = {n["name"]: n for n in api.call("GET", f"/nodes?{fields}")["nodes"]}
        new = [node for node in wanted if node["name"] not in existing]
        updates = [
            (existing[node["name"]]["id"], changes)
            for node in wanted
            if node["name"] in existing and (changes := changes_for(node, existing[node["name"]]))
        ]
        progress = Progress(len(wanted), label="nodes", enabled=not args.quiet)
        progress.advance(len(wanted) - len(new) - len(updates))  # unchanged
        for chunk in _chunks(new, args.chunk):
            try:
                api.call("POST", "/nodes", {"nodes": list(chunk)})
            except Refused as refused:
                raise Refused(f"creating nodes from {chunk[0]['name']!r}: {refused}") from None
            progress.advance(len(chunk))
        for node_id, changes in updates:
            api.call("PUT", f"/nodes/{node_id}", {"node": changes})
            progress.advance(1)
        progress.close()
    finally:
        api.close()
    return len(new), len(updates), len(wanted) - len(new) - len(updates)


def main(args: argparse.Namespace) -> int:
    started = time.monotonic()
    try:
        created, updated, unchanged = load(args)
    except LoadError as error:
        print(f"alcor nodes load: {error}", file=sys.stderr)
        return 2
    except Refused as error:
        print(f"alcor nodes load: the controller refused: {error}", file=sys.stderr)
        return 1
    elapsed = time.monotonic() - started
    total = created + updated + unchanged
    print(
        f"{total} nodes: {created} created, {updated} updated, {unchanged} unchanged "
        f"in {elapsed:.1f} s ({total / max(elapsed, 1e-9):,.0f} nodes/s)"
    )
    return 0
