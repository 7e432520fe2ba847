"""The agent's local admin endpoint (``alcor agent --admin-socket PATH``): read-only answers on
a unix socket, for ``alcor trace PORT --agent`` run on the host.

JSON lines: a client sends one request line and reads one answer line.

    {"port": "<id>"}  ->  {"host", "revision", "store_id", "connected", "controller",
                           "entries": {key: entry}, "failures": [...], "dataplane": {...}}

``entries`` are what the agent holds in its applied goal state of that port (its ``port:``,
``neighbor:`` and ``member:<group>/`` entries, as protobuf JSON), ``failures`` what its driver
failed of them, and ``dataplane`` what the driver reports it programmed for the port (its
``model()``, every part keyed by the port: the endpoint, its rules, ...). A request that is not
an object with a ``port`` gets ``{"error": "..."}``.

The socket is made mode 0600 (the umask is tightened while it is bound, so it is never open to
others) in a directory of mode 0700, and a peer whose uid is neither root nor the agent's is
answered nothing: the goal state names every neighbor of the host's networks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import struct
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from alcor.agent import drivers, stream
from alcor.v1 import keys

DEFAULT_PATH = "/run/alcor-agent/admin.sock"
_REQUEST_LIMIT = 64 * 1024


def answer(agent: stream.Agent, port_id: str) -> dict[str, Any]:
    """What the agent holds and programmed of one port."""
    held = {
        key: json_format.MessageToDict(entry)
        for key, entry in agent.state.live().items()
        if key in (f"port:{port_id}", f"neighbor:{port_id}")
        or (key.startswith("member:") and key.endswith(f"/{port_id}"))
    }
    failures = [
        {"kind": keys.KIND_NAMES[status.kind], "id": status.id, "message": status.message}
        for status in agent.failures.statuses()
        if port_id in status.id
    ]
    dataplane: dict[str, Any] = {}
    if isinstance(agent.driver, drivers.Inspectable):
        for part, value in agent.driver.model().items():
            if isinstance(value, dict) and port_id in value:
                dataplane[part] = value[port_id]
    return {
        "host": agent.settings.host_id,
        "port_id": port_id,
        "revision": agent.state.revision,
        "store_id": agent.state.store_id,
        "connected": agent.status.connected,
        "controller": agent.status.controller,
        "entries": held,
        "failures": failures,
        "dataplane": dataplane,
    }


def _peer_allowed(writer: asyncio.StreamWriter) -> bool:
    sock = writer.get_extra_info("socket")
    if sock is None:
        return False
    credentials = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return uid in (0, os.getuid())


async def _serve_one(
    agent: stream.Agent, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        if not _peer_allowed(writer):
            return
        line = await reader.readline()
        try:
            request = json.loads(line[:_REQUEST_LIMIT])
            port_id = request["port"]
            if not isinstance(port_id, str):
                raise TypeError
            found = answer(agent, port_id)
        except (ValueError, KeyError, TypeError):
            found = {"error": 'expected one line: {"port": "<id>"}'}
        writer.write(json.dumps(found).encode() + b"\n")
        await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def serve(agent: stream.Agent, path: str) -> asyncio.Server:
    """Listen on ``path`` (made 0600; a stale socket there is replaced)."""
    where = Path(path)
    where.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        if where.is_socket():
            where.unlink()
    previous = os.umask(0o177)
    try:
        server = await asyncio.start_unix_server(
            lambda r, w: _serve_one(agent, r, w), path=str(where)
        )
    finally:
        os.umask(previous)
    os.chmod(where, 0o600)
    return server


def ask(path: str, port_id: str, *, timeout: float = 10.0) -> dict[str, Any]:
    """The agent's answer for one port (``OSError`` when it cannot be reached)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(timeout)
        client.connect(path)
        client.sendall(json.dumps({"port": port_id}).encode() + b"\n")
        with client.makefile("rb") as answers:
            line = answers.readline()
    if not line:
        raise OSError(f"the agent at {path} answered nothing")
    found: dict[str, Any] = json.loads(line)
    return found
