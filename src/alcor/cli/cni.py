"""``alcor cni-daemon``: the node's CNI daemon, which does the work of ``alcor-cni``
invocations handed to it over a unix socket (``alcor.cni.daemon``; docs/kubernetes.md).

    alcor cni-daemon [--socket /run/alcor-cni/cni.sock]

It runs beside the agent, in the node's network namespace, as root; SIGTERM or SIGINT stop it
(the socket is removed), SIGUSR1 prints every thread's stack.
"""

from __future__ import annotations

import argparse
import faulthandler
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from alcor.cli import logs
from alcor.cni import daemon, handoff


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "cni-daemon", help="serve alcor-cni invocations on this node (a unix socket)"
    )
    serve.add_argument(
        "--socket",
        type=Path,
        default=Path(handoff.DAEMON_SOCKET),
        help="where the plugin finds it (the conflist's daemon_socket)",
    )
    logs.add_options(serve, level="info")


def main(args: argparse.Namespace) -> int:
    path: Path = args.socket
    try:
        server = daemon.Daemon(path)
    except OSError as error:
        print(f"alcor cni-daemon: cannot listen on {path}: {error}", file=sys.stderr)
        return 1

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    faulthandler.register(signal.SIGUSR1)  # every thread's stack to stderr, for a stuck one
    print(f"alcor cni-daemon: serving on {path}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        path.unlink(missing_ok=True)
    return 0
