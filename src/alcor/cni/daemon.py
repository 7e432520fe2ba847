"""The node's CNI daemon (``alcor cni-daemon``): the plugin's work done in one long-lived
process, as Cilium and Kube-OVN do it, so that what runs once per pod is only a short client.

The plugin (``handoff``) hands its invocation over the daemon's unix socket (root only, mode
0600), and the daemon runs it exactly as the plugin would in its own process (``main.run``),
in a thread of its own, with connections to the controller kept open between
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

from alcor.cni import handoff, main, node_ports
from alcor.cni.controller import Controller, Recent

MAX_REQUEST = 1 << 20  # bytes: a configuration with a large prevResult still fits
log = logging.getLogger(__name__)


Key = tuple[str, str, str]  # (API, credentials file, state directory)
WATCH_PAUSE = 0.01  # seconds between two looks at the ports ADDs wait for
WATCH_BATCH = 50  # ports a look asks about at most (the URL stays short)


class Pool:
    """Open controllers, per (API, credentials file, state directory): taken by one
    invocation at a time, given back after; one ``Watcher`` for each, one ``Recent``
    (what their ADDs looked up lately) and one ``node_ports.Known`` (the node ports found in
    place, for the daemon's lifetime)."""

    def __init__(self) -> None:
        self._idle: dict[Key, queue.SimpleQueue[Controller]] = {}
        self._recent: dict[Key, Recent] = {}
        self._watchers: dict[Key, Watcher] = {}
        self._known: dict[Key, node_ports.Known] = {}
        self._lock = threading.Lock()

    def known(self, api: str, *, credentials: str, state_dir: str) -> node_ports.Known:
        with self._lock:
            return self._known.setdefault((api, credentials, state_dir), node_ports.Known())

    def watcher(self, api: str, *, credentials: str, state_dir: str) -> Watcher:
        key = (api, credentials, state_dir)
        with self._lock:
            found = self._watchers.get(key)
            if found is None:
                controller = Controller(api, credentials=credentials, state_dir=state_dir)
                found = self._watchers[key] = Watcher(controller)
            return found

    @contextlib.contextmanager
    def controller(self, api: str, *, credentials: str, state_dir: str) -> Iterator[Controller]:
        key = (api, credentials, state_dir)
        with self._lock:
            idle = self._idle.setdefault(key, queue.SimpleQueue())
            recent = self._recent.setdefault(key, Recent())
        try:
            found = idle.get_nowait()
        except queue.Empty:
            found = Controller(api, credentials=credentials, state_dir=state_dir, recent=recent)
        try:
            yield found
        except BaseException:
            found.close()  # its connection may be mid-request
            raise
        idle.put(found)


class Watcher:
    """Waits for ports to be ACTIVE for all the ADDs at once: one thread looks at every port
    waited for in one request (``GET /v2.0/ports?id=..&fields=status``) every 10 ms, where each
    ADD polling its own port would cost the controller a request per ADD per look."""

    def __init__(self, controller: Controller) -> None:
        self._controller = controller
        self._waiting: dict[str, threading.Event] = {}
        self._changed = threading.Condition()
        threading.Thread(target=self._run, name="watcher", daemon=True).start()

    def wait(self, port_id: str, timeout: float) -> bool:
        event = threading.Event()
        with self._changed:
            self._waiting[port_id] = event
            self._changed.notify()
        try:
            return event.wait(timeout)
        finally:
            with self._changed:
                self._waiting.pop(port_id, None)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._waiting))
                ids = list(self._waiting)[:WATCH_BATCH]
            try:
                found = self._controller.get("/v2.0/ports", id=ids, fields=["id", "status"])[
                    "ports"
                ]
            except Exception as error:  # the ADDs waiting time out, saying what they saw
                log.warning("cannot look at the ports' status: %s", error)
                time.sleep(WATCH_PAUSE * 10)
                continue
            with self._changed:
                for port in found:
                    if port["status"] == "ACTIVE" and port["id"] in self._waiting:
                        self._waiting[port["id"]].set()
            time.sleep(WATCH_PAUSE)


class _Handler(socketserver.StreamRequestHandler):
    server: Daemon

    def handle(self) -> None:
        data = self.rfile.read(MAX_REQUEST)
        try:
            environ, stdin = handoff.parsed(data)
        except (ValueError, UnicodeDecodeError):
            return  # not our client: no answer
        if _named_socket(stdin) != handoff.socket_of(stdin):
            self.wfile.write(handoff.DECLINED + b"\n")  # the plugin may have misread its socket
            return
        out = io.StringIO()
        started = time.perf_counter()
        status = main.run(environ, io.StringIO(stdin), out, pool=self.server.pool)
        took = (time.perf_counter() - started) * 1e3
        command, container = environ.get("CNI_COMMAND"), environ.get("CNI_CONTAINERID", "-")
        if status:
            log.warning("%s %s failed in %.0f ms: %s", command, container, took, out.getvalue())
        else:
            log.info("%s %s in %.0f ms", command, container, took)
        self.wfile.write(b"%d\n" % status + out.getvalue().encode())


def _named_socket(configuration: str) -> str | None:
    """The socket the configuration names, parsed whole (None if it is not a JSON object: the
    plugin's own parsing then says what is wrong with it)."""
    try:
        found = json.loads(configuration)
    except ValueError:
        return None
    if not isinstance(found, dict):
        return None
    named = found.get("daemon_socket", handoff.DAEMON_SOCKET)
    return named if isinstance(named, str) else None


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
