"""Why ``alcor server`` cannot start, in one line that names the file or address.

The server takes its HTTP socket, checks that the southbound's address is free, then opens the
store, then starts the southbound. What stops it there (an address in use, a database file that
is not one, another application's database, a store of a newer alcor, a directory it cannot
write in, a URL it cannot read) becomes ``CannotStart`` with one line of text; ``main`` prints
it to stderr as argparse prints a bad option, and exits with status 2, with no traceback.
"""

from __future__ import annotations

import errno
import os
import re
import socket
from pathlib import Path

import sqlalchemy as sa

from alcor.store import migrations
from alcor.store.committing import SqlStore, driver_url

EXIT_STATUS = 2


class CannotStart(Exception):
    """The one line saying why the server cannot start."""


def listening_socket(host: str, port: int, *, option: str = "--bind") -> socket.socket:
    """A TCP socket bound to ``host:port`` (not yet listening), or ``CannotStart``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        where = _address(host, port)
        raise CannotStart(f"cannot listen on {where} ({option}): {_why(error)}") from None
    return sock


def check_southbound(address: str, *, option: str = "--southbound") -> None:
    """Refuse a southbound address (``HOST:PORT`` or ``unix:PATH``) the gRPC server would fail
    to bind, before it tries (and prints its own error lines). Binding stays the proof: a race
    lost to another process is still refused, by ``southbound_failed``."""
    if address.startswith("unix:"):
        directory = Path(address.removeprefix("unix:")).parent
        if not directory.is_dir():
            raise CannotStart(f"cannot listen on {address} ({option}): no directory {directory}")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise CannotStart(
                f"cannot listen on {address} ({option}): directory {directory} is not writable"
            )
        return
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        return  # not an address to bind ahead; the gRPC server says what it makes of it
    listening_socket(host.strip("[]"), int(port), option=option).close()


def southbound_failed(address: str, error: BaseException) -> CannotStart:
    return CannotStart(f"cannot listen on {address} (--southbound): {error}")


_PASSWORD = re.compile(r"(//[^:/@]*:)[^@]*@")  # the password of a URL too broken to parse


def open_store(url: str, *, synchronous: str) -> SqlStore:
    """The store at ``url``, migrated to this code's schema, or ``CannotStart``."""
    try:
        return SqlStore(url, synchronous=synchronous)
    except migrations.SchemaMismatch as error:
        raise CannotStart(f"database {shown_database(url)}: {error}") from None
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as error:
        shown = _PASSWORD.sub(r"\1***@", url)
        raise CannotStart(f"--db {shown!r} is not a database URL alcor can open: {error}") from None
    except ImportError as error:
        raise CannotStart(
            f"--db {shown_database(url)}: its database driver is not installed ({error.name})"
        ) from None
    except sa.exc.DBAPIError as error:
        raise CannotStart(f"database {shown_database(url)}: {_db_reason(url, error)}") from None


def _db_reason(url: str, error: sa.exc.DBAPIError) -> str:
    reason = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else "failed"
    if reason == "file is not a database":
        return "not an SQLite database (a corrupt file, or a file of another kind)"
    if reason == "database disk image is malformed":
        return "the database is corrupt (database disk image is malformed)"
    if reason == "unable to open database file":
        return _unopenable(url)
    if reason == "attempt to write a readonly database":
        return "the file or its directory is read-only"
    return reason


def _unopenable(url: str) -> str:
    """Why SQLite could not open or create the file, as far as the file system tells."""
    database = _sqlite_path(url)
    if database is None:
        return "unable to open the database file"
    directory = database.parent
    if not directory.exists():
        return f"no directory {directory}"
    if not directory.is_dir():
        return f"{directory} is not a directory"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"directory {directory} is not writable"
    if database.is_dir():
        return "it is a directory"
    return "unable to open the database file"


def _sqlite_path(url: str) -> Path | None:
    try:
        parsed = sa.engine.make_url(driver_url(url))
    except (sa.exc.ArgumentError, ValueError):
        return None
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).absolute()


def shown_database(url: str) -> str:
    """The file of an SQLite URL, else the URL without its password (fit for a log line)."""
    path = _sqlite_path(url)
    if path is not None:
        return str(path)
    try:
        return sa.engine.make_url(driver_url(url)).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return "(an unreadable URL)"


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _why(error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return "address already in use"
    if error.errno == errno.EADDRNOTAVAIL:
        return "not an address of this machine"
    if error.errno == errno.EACCES:
        return "permission denied (a port below 1024 needs privileges)"
    if isinstance(error, socket.gaierror):
        return f"cannot resolve the host ({error.strerror})"
    return error.strerror or str(error)
