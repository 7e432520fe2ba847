"""The node's CNI daemon (``alcor cni-daemon``): the plugin's work done in one long-lived
process, as Cilium and Kube-OVN do it, so that what runs once per pod is only a short client.

The plugin (``main``) hands its invocation over the daemon's unix socket (root only, mode
0600): one JSON line ``{"environ": {CNI_*}, "stdin": TEXT}`` in, one line ``{"status": N,
"stdout": TEXT}`` out, and the daemon runs it exactly as the plugin would in its own process
(``main.run``), in a thread of its own, with connections to the controller kept open between
invocations (a pool per API and credentials). It runs in the node's network namespace and
sees the runtime's namespaces (``/run/netns`` or ``/proc``) as the plugin would. When it is not
there, the plugin does the work itself: nothing depends on it but speed.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import queue
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alcor.cni import main
from alcor.cni.controller import Controller

MAX_REQUEST = 1 << 20  # bytes: a configuration with a large prevResult still fits
log = logging.getLogger(__name__)


class Pool:
    """Open controllers, per (API, credentials file, state directory): taken by one
    invocation at a time, given back after."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, str, str], queue.SimpleQueue[Controller]] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def controller(self, api: str, *, credentials: str, state_dir: str) -> Iterator[Controller]:
        key = (api, credentials, state_dir)
        with self._lock:
            idle = self._idle.setdefault(key, queue.SimpleQueue())
        try:
            found = idle.get_nowait()
        except queue.Empty:
            found = Controller(api, credentials=credentials, state_dir=state_dir)
        try:
            yield found
        except BaseException:
            found.close()  # its connection may be mid-request
            raise
        idle.put(found)


class _Handler(socketserver.StreamRequestHandler):
    server: Daemon

    def handle(self) -> None:
        line = self.rfile.readline(MAX_REQUEST)
        try:
            request = json.loads(line)
            environ = {str(k): str(v) for k, v in request["environ"].items()}
            stdin = str(request["stdin"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return  # not our client: no answer
        out = io.StringIO()
        started = time.perf_counter()
        status = main.run(environ, io.StringIO(stdin), out, pool=self.server.pool)
        took = (time.perf_counter() - started) * 1e3
        command, container = environ.get("CNI_COMMAND"), environ.get("CNI_CONTAINERID", "-")
        if status:
            log.warning("%s %s failed in %.0f ms: %s", command, container, took, out.getvalue())
        else:
            log.info("%s %s in %.0f ms", command, container, took)
        answer = {"status": status, "stdout": out.getvalue()}
        self.wfile.write(json.dumps(answer).encode() + b"\n")


class Daemon(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, path: Path) -> None:
        self.pool = Pool()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        umask = os.umask(0o177)  # the socket is born 0600: root's alone
        try:
            super().__init__(str(path), _Handler)
        finally:
            os.umask(umask)


def ask(path: str, environ: dict[str, str], stdin: str) -> dict[str, Any] | None:
    """The daemon's answer to this invocation; None when no daemon listens at ``path`` (the
    plugin then does the work itself)."""
    import socket

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
