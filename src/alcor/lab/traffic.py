"""Real packets between namespaces: pings, many at once, and TCP and UDP servers and clients
(socat)."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
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


class Pinging:
    """A ping that runs until stopped, one echo request every ``interval`` seconds, each
    sequence number reported as answered or not (``ping -O`` says so when it sends the next),
    so a loss is counted in packets, not in time."""

    def __init__(self, ns: str, ip: str, *, interval: float = 0.05) -> None:
        command = ["ip", "netns", "exec", ns, "ping", "-n", "-O", "-i", str(interval), ip]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1
        )
        self.answered: set[int] = set()
        self.unanswered: set[int] = set()  # "no answer yet" (a late answer still counts)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            found = _SEQUENCE.search(line)
            if found:
                seen = self.unanswered if "no answer" in line else self.answered
                seen.add(int(found[1]))

    def last(self) -> int:
        """The highest sequence number reported so far (0: none)."""
        return max(self.answered | self.unanswered, default=0)

    def answered_after(self, sequence: int) -> int:
        return sum(1 for seen in set(self.answered) if seen > sequence)

    def lost(self) -> list[int]:
        return sorted(self.unanswered - self.answered)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=10)
        self._reader.join(timeout=10)


_SEQUENCE = re.compile(r"icmp_seq=(\d+)")


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
