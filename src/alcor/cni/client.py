"""The plugin's side of the node's CNI daemon (``daemon``): one invocation handed over its
unix socket. What runs once per pod imports this, ``json`` and ``socket``, nothing heavier."""

from __future__ import annotations

import json
import socket
from typing import Any


def ask(path: str, environ: dict[str, str], stdin: str) -> dict[str, Any] | None:
    """The daemon's answer to this invocation; None when no daemon listens at ``path`` (the
    plugin then does the work itself)."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            client.connect(path)
        except OSError:
            return None
        client.sendall(json.dumps({"environ": environ, "stdin": stdin}).encode() + b"\n")
        with client.makefile("rb") as answers:
            line = answers.readline()
    finally:
        client.close()
    if not line:
        raise OSError(f"the CNI daemon at {path} closed the connection without an answer")
    found: dict[str, Any] = json.loads(line)
    return found
