"""Real packets between namespaces: pings, many at once, and TCP and UDP servers and clients
(socat)."""

from __future__ import annotations

import subprocess
import time

from alcor.lab import commands

Pair = tuple[str, str]  # (namespace, address)


def ping_command(ns: str, ip: str, *, count: int = 1, wait: float = 1.0) -> list[str]:
    return ["ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", str(count), "-W", str(wait), ip]


def ping(ns: str, ip: str, *, count: int = 1, wait: float = 1.0) -> bool:
    done = commands.run(
        *ping_command(ns, ip, count=count, wait=wait), check=False, timeout=count * wait + 10
    )
    return done.returncode == 0


def start_ping(ns: str, ip: str, *, wait: float) -> subprocess.Popen[bytes]:
    command = ping_command(ns, ip, wait=wait)
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def pings(pairs: list[Pair], *, wait: float = 1.0) -> dict[Pair, bool]:
    """Many pings at once: (namespace, address) -> answered. A pair that gets no answer is tried
    once more (a loaded machine may be slow), so a False is two lost pings."""
    answered: dict[Pair, bool] = {}
    for attempt in (wait, 2 * wait):
        todo = [pair for pair in pairs if not answered.get(pair)]
        started = {pair: start_ping(*pair, wait=attempt) for pair in todo}
        answered.update(
            {pair: process.wait(timeout=attempt + 10) == 0 for pair, process in started.items()}
        )
    return answered


def serve(ns: str, port: int, answer: str, *, protocol: str = "tcp") -> subprocess.Popen[bytes]:
    """A TCP (or UDP) server in ``ns`` that says ``answer`` to whoever connects (to each
    datagram); the caller stops it."""
    listen = "TCP-LISTEN" if protocol == "tcp" else "UDP-RECVFROM"
    process = subprocess.Popen(
        ["ip", "netns", "exec", ns, "socat", f"{listen}:{port},fork,reuseaddr",
         f"SYSTEM:echo {answer}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(0.1)
    return process


def _attempt(ns: str, ip: str, port: int, *, source: str = "") -> subprocess.CompletedProcess[str]:
    bind = f",bind={source}" if source else ""
    return commands.run(
        "ip", "netns", "exec", ns, "socat", "-T", "2", "-",
        f"TCP:{ip}:{port},connect-timeout=1{bind}",
        check=False, timeout=10,
    )  # fmt: skip


def connect(ns: str, ip: str, port: int, *, source: str = "") -> str:
    """What the server at ip:port says to a client in ``ns`` ('' if it cannot connect)."""
    done = _attempt(ns, ip, port, source=source)
    return done.stdout.strip() if done.returncode == 0 else ""


def refusal(ns: str, ip: str, port: int) -> str:
    """How a TCP connection from ``ns`` to ip:port fails, as its client sees it: ``refused``
    (something answered no: an ICMP unreachable or a reset), ``timeout`` (nothing answered),
    '' when it connected; else what the client said."""
    done = _attempt(ns, ip, port)
    said = done.stderr.lower()
    if done.returncode == 0:
        return ""
    if "refused" in said or "unreachable" in said:
        return "refused"
    if "timed out" in said:
        return "timeout"
    return done.stderr.strip()


def ask_udp(ns: str, ip: str, port: int) -> str:
    """What the UDP server at ip:port answers a datagram from ``ns`` ('' if nothing comes)."""
    done = subprocess.run(
        ["ip", "netns", "exec", ns, "socat", "-T", "2", "-", f"UDP:{ip}:{port}"],
        input="hello\n", capture_output=True, text=True, check=False, timeout=10,
    )  # fmt: skip
    return done.stdout.strip() if done.returncode == 0 else ""
