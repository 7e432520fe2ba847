"""Starting and stopping the lab's long-running processes (the controller, the agents).

A process started attached is the caller's child until the caller ``stop``s it, which waits for
it (tests start them so and leave no zombie). A process started ``detach``ed gets a session of
its own, no terminal and its output in its log, so it outlives the command that started it
(``alcor demo``): when that command exits, the kernel gives it to the nearest ancestor that is
a subreaper (``PR_SET_CHILD_SUBREAPER``), else PID 1, which reaps it when it ends. Another
process stops it later by its pid (``stop_pid``), after checking on the pid's command line that
it is still that process.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

STOP_WAIT = 10.0


def start(command: list[str], *, log: Path, detach: bool = False) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
        )


def stop(process: subprocess.Popen[bytes], *, kill: bool = False, wait: float = STOP_WAIT) -> None:
    """SIGTERM (SIGKILL if ``kill``), then SIGKILL after ``wait`` seconds; waits for it."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    try:
        process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def running(pid: int, *, marks: tuple[str, ...]) -> bool:
    """Whether ``pid`` runs (a zombie does not) with each of ``marks`` in its command line."""
    try:
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    # a zombie's command line is empty
    return bool(command_line) and all(mark.encode() in command_line for mark in marks)


def stop_pid(pid: int, *, marks: tuple[str, ...], wait: float = STOP_WAIT) -> bool:
    """Stop a process that is not our child: SIGTERM, then SIGKILL after ``wait`` seconds.
    Only if it still has ``marks`` in its command line (a pid can be reused). Whether it ran."""
    if not running(pid, marks=marks):
        return False
    for sig, patience in ((signal.SIGTERM, wait), (signal.SIGKILL, wait)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            if not running(pid, marks=marks):
                return True
            time.sleep(0.05)
    return True


def find(marks: tuple[str, ...]) -> list[int]:
    """The running processes with ``marks`` in their command line (not this one)."""
    found = []
    for entry in Path("/proc").iterdir():
        pid = int(entry.name) if entry.name.isdigit() else 0
        if pid and pid != os.getpid() and running(pid, marks=marks):
            found.append(pid)
    return sorted(found)


# The agents' DHCP daemons outlive their agents by design (an agent restart must not interrupt
# DHCP), so whoever removes simulated hosts stops them too. They are found by their files,
# under the agents' default --state-dir root and the host's id.
AGENT_STATE = "/run/alcor-agent"
DAEMONS = ("dnsmasq", "busybox", "udhcpc", "radvd", "dhclient")


def daemons(prefix: str) -> list[int]:
    """The live DHCP daemons (servers and clients) of the hosts whose id begins with
    ``prefix``."""
    mark = f"{AGENT_STATE}/{prefix}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            words = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        program = os.path.basename(words[0]).decode(errors="replace")
        if program in DAEMONS and any(mark in word for word in words):
            found.append(int(entry.name))
    return sorted(found)


def stop_daemons(prefix: str) -> list[int]:
    """Stop the DHCP daemons of the hosts whose id begins with ``prefix`` and remove those
    hosts' agent state; the pids stopped."""
    if not prefix:
        raise ValueError("an empty prefix would stop every host's daemons")
    mark = f"{AGENT_STATE}/{prefix}"
    stopped = [pid for pid in daemons(prefix) if stop_pid(pid, marks=(mark,), wait=2.0)]
    for folder in Path(AGENT_STATE).glob(f"{prefix}*"):
        shutil.rmtree(folder, ignore_errors=True)
    return stopped
