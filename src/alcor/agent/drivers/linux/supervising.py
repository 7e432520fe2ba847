"""The processes the linux driver keeps running in its namespaces (a network's DHCP server, an
endpoint's DHCP client), behind ``Supervisor``; ``Processes`` runs them, ``InMemory`` is the
fake.

A ``Daemon`` is a value: its name (its folder under the agent's state directory, which holds
its pidfile ``pid``, its ``log`` and the files it reads), the namespace it runs in, its command
line and those files. ``ensure`` makes the running process match it:

- a process found by the pidfile whose command line and network namespace are the ones wanted
  is kept (an agent restarted over running daemons interrupts nothing); if only its files
  changed it is told to reread them (``SIGHUP``: dnsmasq rereads its hosts and options files)
  or, for a daemon that cannot reread, started again;
- anything else of ours found there (another command line: a subnet added; another namespace:
  the namespace was made again) is stopped and the daemon started.

A daemon is started with ``ip netns exec NS ARGV...`` and must put itself in the background
(dnsmasq does; ``udhcpc -b`` does once it has a lease or gave up its first tries), so
``ensure`` returns when it is up, with why it could not start ('' when it could). ``stop``
ends the process (SIGTERM, then SIGKILL) and removes the folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from typing import Protocol

import msgspec

PIDFILE = "pid"
LOG = "log"
START_TIMEOUT = 30.0  # seconds a daemon may take to put itself in the background
STOP_TIMEOUT = 3.0
NETNS_DIR = "/run/netns"


class File(msgspec.Struct, frozen=True):
    name: str
    text: str
    mode: int = 0o644


class Daemon(msgspec.Struct, frozen=True, kw_only=True):
    name: str  # its folder under the state directory: "<kind>/<id>"
    netns: str
    argv: tuple[str, ...]
    files: tuple[File, ...] = ()
    rereads: bool = False  # files changed: SIGHUP (True) or a restart (False)


class Supervisor(Protocol):
    async def ensure(self, daemon: Daemon) -> str:
        """Make ``daemon`` run as it says; '' or why it could not."""
        ...

    async def stop(self, name: str) -> None:
        """End the daemon called ``name`` (if it runs) and remove its folder."""
        ...

    def names(self) -> list[str]:
        """The daemons that have a folder (running or not)."""
        ...

    def read(self, name: str, file: str) -> str:
        """A file of a daemon's folder ('' when there is none)."""
        ...


class Processes:
    """Daemons as processes, with their folders under ``root`` (the agent's state directory).
    dnsmasq drops its privileges (to ``nobody``) and rereads its files as that user, so the
    folders are made world-readable."""

    def __init__(self, root: str) -> None:
        self.root = root

    def folder(self, name: str) -> str:
        return os.path.join(self.root, name)

    async def ensure(self, daemon: Daemon) -> str:
        folder = self.folder(daemon.name)
        os.makedirs(folder, mode=0o755, exist_ok=True)
        os.chmod(folder, 0o755)
        changed = _write(folder, daemon.files)
        pid = _pid(folder)
        held = _cmdline(pid)
        if held == daemon.argv and _in_netns(pid, daemon.netns):
            if not changed:
                return ""
            if daemon.rereads:
                os.kill(pid, signal.SIGHUP)
                return ""
        if held and any(folder in word for word in held):  # ours, but not what is wanted
            await _end(pid)
        return await self._start(daemon, folder)

    async def _start(self, daemon: Daemon, folder: str) -> str:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(folder, PIDFILE))
        log_path = os.path.join(folder, LOG)
        with open(log_path, "ab") as log:
            try:
                process = await asyncio.create_subprocess_exec(
                    "ip", "netns", "exec", daemon.netns, *daemon.argv,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )  # fmt: skip
            except FileNotFoundError:
                return "ip is not installed"
        try:
            code = await asyncio.wait_for(process.wait(), START_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
            return f"{daemon.argv[0]} did not start within {START_TIMEOUT:.0f} s"
        if code == 0:
            return ""
        return _last_line(log_path) or f"{daemon.argv[0]} exited with {code}"

    async def stop(self, name: str) -> None:
        folder = self.folder(name)
        pid = _pid(folder)
        if any(folder in word for word in _cmdline(pid)):
            await _end(pid)
        shutil.rmtree(folder, ignore_errors=True)

    def names(self) -> list[str]:
        found = []
        for kind in _listing(self.root):
            found += [f"{kind}/{name}" for name in _listing(os.path.join(self.root, kind))]
        return sorted(found)

    def read(self, name: str, file: str) -> str:
        try:
            with open(os.path.join(self.folder(name), file)) as opened:
                return opened.read()
        except OSError:
            return ""


def _listing(path: str) -> list[str]:
    try:
        return sorted(entry.name for entry in os.scandir(path) if entry.is_dir())
    except FileNotFoundError:
        return []


def _write(folder: str, files: tuple[File, ...]) -> bool:
    """Write the files that differ (each replaced at once); whether any did."""
    changed = False
    for file in files:
        path = os.path.join(folder, file.name)
        try:
            with open(path) as opened:
                if opened.read() == file.text:
                    continue
        except OSError:
            pass
        temporary = path + ".new"
        with open(temporary, "w") as opened:
            opened.write(file.text)
        os.chmod(temporary, file.mode)
        os.replace(temporary, path)
        changed = True
    return changed


def _pid(folder: str) -> int:
    try:
        with open(os.path.join(folder, PIDFILE)) as opened:
            return int(opened.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def _cmdline(pid: int) -> tuple[str, ...]:
    """A live process's command line (() for none, a zombie, or pid 0)."""
    if pid <= 0:
        return ()
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as opened:
            words = opened.read().split(b"\0")
    except OSError:
        return ()
    return tuple(word.decode(errors="replace") for word in words if word)


def _in_netns(pid: int, netns: str) -> bool:
    try:
        held = os.stat(f"/proc/{pid}/ns/net")
        wanted = os.stat(os.path.join(NETNS_DIR, netns))
    except OSError:
        return False
    return (held.st_dev, held.st_ino) == (wanted.st_dev, wanted.st_ino)


async def _end(pid: int) -> None:
    for sent, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, STOP_TIMEOUT)):
        try:
            os.kill(pid, sent)
        except ProcessLookupError:
            return
        deadline = asyncio.get_running_loop().time() + wait
        while _cmdline(pid) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)
        if not _cmdline(pid):
            return


def _last_line(path: str) -> str:
    try:
        with open(path, errors="replace") as opened:
            lines = [line.strip() for line in opened if line.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


# --- the fake ------------------------------------------------------------------------------------


class InMemory:
    """Daemons as a dictionary, for tests: what runs, and what was started, reread, stopped.
    ``fail`` makes starting a daemon (by name) fail with that message."""

    def __init__(self) -> None:
        self.running: dict[str, Daemon] = {}
        self.started: list[str] = []
        self.reread: list[str] = []
        self.stopped: list[str] = []
        self.fail: dict[str, str] = {}
        self.files: dict[tuple[str, str], str] = {}

    async def ensure(self, daemon: Daemon) -> str:
        held = self.running.get(daemon.name)
        if held == daemon:
            return ""
        same = held is not None and (held.argv, held.netns) == (daemon.argv, daemon.netns)
        if same and daemon.rereads:
            self.running[daemon.name] = daemon
            self.reread.append(daemon.name)
            return ""
        if daemon.name in self.fail:
            self.running.pop(daemon.name, None)
            return self.fail[daemon.name]
        self.running[daemon.name] = daemon
        self.started.append(daemon.name)
        return ""

    async def stop(self, name: str) -> None:
        if self.running.pop(name, None) is not None:
            self.stopped.append(name)
        self.files = {key: text for key, text in self.files.items() if key[0] != name}

    def names(self) -> list[str]:
        return sorted(self.running)

    def read(self, name: str, file: str) -> str:
        return self.files.get((name, file), "")
