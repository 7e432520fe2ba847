"""Running the commands a lab is made with, and whether this machine can run one."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping

from alcor.lab import errors

# what the agents (linux driver), the namespaces and the pings need
TOOLS = ("ip", "bridge", "nft", "nsenter", "sysctl", "ping")


def run(
    *argv: str, check: bool = True, timeout: float = 10.0, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``argv``'s outcome, output captured as text; ``CommandFailed`` when it fails and
    ``check``. ``env``: its whole environment (default: this process's)."""
    done = subprocess.run(
        argv, capture_output=True, text=True, check=False, timeout=timeout, env=env
    )
    if check and done.returncode != 0:
        raise errors.CommandFailed(done.returncode, argv, done.stdout, done.stderr)
    return done


def unusable(
    tools: Iterable[str] = TOOLS,
    *,
    euid: Callable[[], int] = os.geteuid,
    which: Callable[[str], str | None] = shutil.which,
) -> str:
    """Why a lab cannot run here ('' when it can)."""
    if euid() != 0:
        return "needs root (network namespaces)"
    missing = [tool for tool in tools if which(tool) is None]
    if missing:
        packages = "iproute2 nftables util-linux procps iputils-ping"
        return f"needs {', '.join(missing)} (apt-get install {packages})"
    return ""
