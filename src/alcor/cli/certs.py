"""``alcor certs``: the southbound's small PKI, as PEM files in one folder (``--dir``).

    alcor certs init                                  # ca.pem, ca.key
    alcor certs issue --host-id H [--physical-network P ...]    # host-H.pem, host-H.key
    alcor certs issue --controller NAME --san 10.0.0.5 --san ctl.example   # controller-NAME.*

Private keys are written mode 0600, certificates 0644, each file replaced atomically (a
controller that follows its files never reads half of one). ``init`` keeps an existing CA
unless ``--force``. What a certificate holds: ``southbound.certificates``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path

from alcor.cli import logs
from alcor.southbound import certificates

DEFAULT_DIR = Path("alcor-pki")


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    certs = commands.add_parser("certs", help="the southbound's CA and certificates (mutual TLS)")
    actions = certs.add_subparsers(dest="certs_command", required=True)
    init = actions.add_parser("init", help="make the CA (ca.pem, ca.key)")
    init.add_argument("--name", default="alcor southbound CA", help="the CA's common name")
    init.add_argument("--force", action="store_true", help="replace an existing CA")
    _common(init, days=3650)
    issue = actions.add_parser("issue", help="issue a host's or a controller's certificate")
    who = issue.add_mutually_exclusive_group(required=True)
    who.add_argument("--host-id", metavar="H", help="a host agent's client certificate")
    who.add_argument("--controller", metavar="NAME", help="a controller's server certificate")
    issue.add_argument(
        "--san",
        action="append",
        default=[],
        metavar="NAME|IP",
        help="--controller: a DNS name or IP address its agents reach it by (repeatable; "
        "localhost for a unix socket)",
    )
    issue.add_argument(
        "--physical-network",
        action="append",
        default=[],
        metavar="P",
        help="--host-id: a physical network the host maps (repeatable): given to the node the "
        "controller registers for it",
    )
    _common(issue, days=365)


def _common(command: argparse.ArgumentParser, *, days: int) -> None:
    command.add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, metavar="DIR", help=f"({DEFAULT_DIR})"
    )
    command.add_argument(
        "--days",
        type=float,
        default=days,
        metavar="N",
        help=f"validity in days ({days}; negative: expired already, for tests)",
    )
    logs.add_options(command, level="warning")


def _write(path: Path, data: bytes, *, mode: int) -> None:
    """Replace ``path`` atomically with ``data``, created with ``mode``."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(descriptor, mode)  # whatever the umask
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)


def _save(directory: Path, stem: str, issued: certificates.Issued) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    _write(directory / f"{stem}.key", issued.key, mode=0o600)
    _write(directory / f"{stem}.pem", issued.certificate, mode=0o644)
    return directory / f"{stem}.pem"


def _ca(directory: Path) -> certificates.Issued:
    return certificates.Issued(
        key=(directory / certificates.CA_KEY_FILE).read_bytes(),
        certificate=(directory / certificates.CA_FILE).read_bytes(),
    )


def main(args: argparse.Namespace) -> int:
    now = datetime.datetime.now(datetime.UTC)
    directory: Path = args.dir
    named = getattr(args, "host_id", None) or getattr(args, "controller", None) or ""
    if "/" in named or named.startswith("."):
        print(f"alcor certs: {named!r} cannot name a file", file=sys.stderr)
        return 2
    try:
        if args.certs_command == "init":
            if (directory / certificates.CA_FILE).exists() and not args.force:
                print(f"alcor certs: {directory} has a CA already (--force replaces it)")
                return 0
            issued = certificates.new_ca(name=args.name, now=now, days=args.days)
            written = _save(directory, "ca", issued)
        elif args.host_id:
            issued = certificates.issue_host(
                _ca(directory),
                args.host_id,
                physical_networks=tuple(args.physical_network),
                now=now,
                days=args.days,
            )
            written = _save(directory, f"host-{args.host_id}", issued)
        else:
            issued = certificates.issue_controller(
                _ca(directory), args.controller, sans=tuple(args.san), now=now, days=args.days
            )
            written = _save(directory, f"controller-{args.controller}", issued)
    except (OSError, ValueError) as error:
        print(f"alcor certs: {error}", file=sys.stderr)
        return 2
    print(f"{written} and {written.with_suffix('.key')}")
    return 0
