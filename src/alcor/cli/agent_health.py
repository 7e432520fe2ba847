"""``alcor agent-health``: whether a host agent is alive and connected, judged from its status
file (``alcor agent --status-file``), for an exec probe (a Kubernetes DaemonSet's) or a script.

Exit status 0 when the file was updated within ``--max-age`` seconds and every host in it is
connected to a controller; 1 otherwise, with one line on stderr saying why. With
``--fresh-only`` only the file's age counts (a liveness probe: an agent waiting for a
controller that is away is alive, and restarting it would not help); with ``--ready``, every
host must also have applied a goal state since the agent started and hold no resource failed
to program (what the agent's ``/readyz`` on ``--metrics-bind`` answers, from the same facts).
The agent rewrites the file every ``--status-interval`` seconds (1) whatever its connection, so
a stale file means a process that stopped or hangs.

``python -m alcor.cli.agent_health`` takes the same options and imports none of the rest of
``alcor`` (a probe that runs every few seconds need not load the controller: ``alcor`` itself
takes about 1.5 s to start).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

DEFAULT_MAX_AGE = 15.0


DESCRIPTION = (
    "Judge a host agent by its status file (alcor agent --status-file): exit 0 when the file "
    "was updated within --max-age seconds and every host in it is connected to a controller, "
    "else 1 with one line saying why."
)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "agent-health",
        help="exit 0 if a host agent's status file is fresh and its hosts connected (a probe)",
        description=DESCRIPTION,
    )
    _add_arguments(check)


def parser() -> argparse.ArgumentParser:
    """The options alone, for ``python -m alcor.cli.agent_health``."""
    alone = argparse.ArgumentParser(prog="alcor agent-health", description=DESCRIPTION)
    _add_arguments(alone)
    return alone


def _add_arguments(check: argparse.ArgumentParser) -> None:
    check.add_argument("--status-file", type=Path, required=True, metavar="PATH")
    check.add_argument(
        "--max-age",
        type=_seconds,
        default=DEFAULT_MAX_AGE,
        metavar="SECONDS",
        help=f"the oldest update that counts as alive ({DEFAULT_MAX_AGE:g})",
    )
    check.add_argument(
        "--fresh-only",
        action="store_true",
        help="judge only the file's age, not the connections (for a liveness probe)",
    )
    check.add_argument(
        "--ready",
        action="store_true",
        help="also require a goal state applied and no resource failed (as /readyz)",
    )
    check.set_defaults(log_level="warning")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def verdict(
    document: Any, *, now: float, max_age: float, fresh_only: bool = False, ready: bool = False
) -> str:
    """Why the agent whose status document this is is not healthy ('' when it is); ``ready``:
    nor ready (every host applied a goal state, and holds no failed resource)."""
    if not isinstance(document, dict):
        return "not a status document (expected a JSON object)"
    updated, hosts = document.get("updated"), document.get("hosts")
    if not isinstance(updated, int | float) or not isinstance(hosts, dict):
        return "not a status document (no 'updated' time or 'hosts')"
    age = now - updated
    if age > max_age:
        return f"stale: last updated {age:.0f} s ago (more than {max_age:g} s)"
    if fresh_only:
        return ""
    if not hosts:
        return "no host in the status file"
    down = sorted(
        str(host)
        for host, status in hosts.items()
        if not (isinstance(status, dict) and status.get("connected") is True)
    )
    if down:
        first = hosts[down[0]] if isinstance(hosts[down[0]], dict) else {}
        error = str(first.get("last_error") or "no error reported yet").splitlines()[0]
        return f"not connected to a controller: {_shown(down)} (last error: {error})"
    if not ready:
        return ""
    waiting = sorted(str(host) for host, status in hosts.items() if not status.get("goal_states"))
    if waiting:
        return f"no goal state applied yet: {_shown(waiting)}"
    failing = sorted(str(host) for host, status in hosts.items() if status.get("failed"))
    if failing:
        failed = hosts[failing[0]]["failed"]
        first = failed[0] if isinstance(failed, list) and isinstance(failed[0], dict) else {}
        what = f"{first.get('kind', '?')} {first.get('id', '?')}: {first.get('message', '')}"
        return f"resources failed to program on {_shown(failing)} (first: {what.splitlines()[0]})"
    return ""


def _shown(hosts: list[str]) -> str:
    return ", ".join(hosts[:5]) + (f" and {len(hosts) - 5} more" if len(hosts) > 5 else "")


def main(args: argparse.Namespace) -> int:
    path: Path = args.status_file
    try:
        document = msgspec.json.decode(path.read_bytes())
    except FileNotFoundError:
        reason = f"no status file {path} (is the agent running with --status-file?)"
    except OSError as error:
        reason = f"cannot read {path}: {error.strerror or error}"
    except msgspec.DecodeError as error:
        reason = f"{path} is not JSON: {error}"
    else:
        reason = verdict(
            document,
            now=time.time(),
            max_age=args.max_age,
            fresh_only=args.fresh_only,
            ready=args.ready,
        )
    if reason:
        print(f"alcor agent-health: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(parser().parse_args()))
