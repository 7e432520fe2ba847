"""``alcor``: run the controller (``alcor server``) and, later, agents and tools.

Configuration is parsed once here into frozen settings and handed down; nothing below reads the
command line or the environment.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
from collections.abc import Sequence

import uvicorn

from alcor.api.app import create_app
from alcor.services.allocation import Allocations
from alcor.services.controller import Controller
from alcor.services.resources import Context, Settings
from alcor.store.committing import SqlStore, utc_now

log = logging.getLogger("alcor")


def _bind(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _range(text: str) -> tuple[int, int]:
    first, _, last = text.partition(":")
    try:
        return int(first), int(last)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected FIRST:LAST, got {text!r}") from None


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="alcor", description="Alcor virtual-networking control plane"
    )
    commands = top.add_subparsers(dest="command", required=True)
    server = commands.add_parser("server", help="run the controller (Neutron API on HTTP)")
    server.add_argument(
        "--bind", type=_bind, default=("127.0.0.1", 9696), help="HOST:PORT (127.0.0.1:9696)"
    )
    server.add_argument(
        "--db", default="sqlite:///alcor.db", help="SQLAlchemy URL (sqlite:///alcor.db)"
    )
    server.add_argument(
        "--sync",
        choices=("full", "normal"),
        default="full",
        help="SQLite durability: full fsyncs every commit (default); normal may lose the last "
        "commits on power loss, never on a process crash",
    )
    server.add_argument(
        "--default-project", default="admin", help="project of unauthenticated requests"
    )
    server.add_argument("--mac-base", default="fa:16:3e:00:00:00")
    server.add_argument("--vni-range", type=_range, default=(1000, 16_777_215), help="FIRST:LAST")
    server.add_argument(
        "--log-level", default="info", choices=("debug", "info", "warning", "error")
    )
    return top


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        default_project=args.default_project, mac_base=args.mac_base, segment_range=args.vni_range
    )


def build_controller(store: SqlStore, settings: Settings) -> Controller:
    allocations = Allocations(
        mac_base=settings.mac_base, segment_range=settings.segment_range, rng=random.Random()
    )
    return Controller(Context(store=store, allocations=allocations, settings=settings, now=utc_now))


async def serve(args: argparse.Namespace) -> None:
    store = SqlStore(args.db, synchronous=args.sync.upper())
    controller = build_controller(store, settings_from(args))
    host, port = args.bind
    config = uvicorn.Config(
        create_app(controller),
        host=host,
        port=port,
        loop="none",
        http="httptools",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        date_header=False,
        log_level=args.log_level,
        lifespan="off",
    )
    log.info("alcor server on http://%s:%d, store %s", host, port, args.db)
    try:
        await uvicorn.Server(config).serve()
    finally:
        await store.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    if args.command == "server":
        import uvloop

        uvloop.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
