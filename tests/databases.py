"""Databases for tests: SQLite files, and a private PostgreSQL cluster.

``PostgresCluster`` runs Debian's PostgreSQL server binaries (``initdb``, ``pg_ctl``) on a data
directory of its own, listening on a free loopback port and a unix socket in that directory, and
stops it at the end. As root it runs them as the ``postgres`` user (initdb refuses root). Each
test module gets a database of its own (``create_database``). Where PostgreSQL is not installed
``unavailable`` says why, and the tests that need it skip, except on CI (``CI`` set), where they
fail: CI installs it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from alcor.lab.controllers import free_port

SERVICE_USER = "postgres"


def _binaries() -> Path | None:
    """The newest installed server's bin folder (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major_version)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _major_version(initdb: str) -> int:
    try:
        return int(Path(initdb).parent.parent.name)
    except ValueError:
        return 0


def unavailable() -> str | None:
    """Why a private cluster cannot run here, or None."""
    if _binaries() is None:
        return "PostgreSQL is not installed (apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            return f"running as root needs the {SERVICE_USER!r} user (Debian's postgresql)"
    return None


def private_cluster() -> Iterator[PostgresCluster]:
    """A started cluster for a fixture, stopped after it; skips where PostgreSQL is not
    installed, except on CI, which installs it: there a missing server is a failure."""
    reason = unavailable()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL tests cannot run on CI: {reason}")
        pytest.skip(reason)
    cluster = PostgresCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


class PostgresCluster:
    """One private server: ``start``, ``create_database``, ``url``, ``stop``."""

    def __init__(self) -> None:
        bin_dir = _binaries()
        if bin_dir is None:
            raise RuntimeError(unavailable() or "PostgreSQL is not installed")
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="alcor-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_service_user = os.geteuid() == 0
        if self._as_service_user:
            entry = pwd.getpwnam(SERVICE_USER)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bin_dir / command[0]), *command[1:]]
        if self._as_service_user:
            argv = ["runuser", "-u", SERVICE_USER, "--", *argv]
        return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> PostgresCluster:
        """Start the server (made on first start; again on the same port after ``halt``)."""
        if not self.data.exists():
            self._run(
                "initdb", "-D", str(self.data), "-U", SERVICE_USER, "-A", "trust", "-E", "UTF8"
            )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c fsync=on -c max_connections=200"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options,
            "-w", "start",
        )  # fmt: skip
        return self

    def standby(self) -> PostgresCluster:
        """A streaming standby of this server (``pg_basebackup -R``), started on a port of its
        own; ``synchronous`` on this primary makes every commit wait for it."""
        replica = PostgresCluster()
        self._run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U", SERVICE_USER,
            "-D", str(replica.data), "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        return replica.start()

    def synchronous(self) -> None:
        """Acknowledge a commit only once a standby has it (``synchronous_commit`` is on)."""
        self.sql("ALTER SYSTEM SET synchronous_standby_names = '*'")
        self.sql("SELECT pg_reload_conf()")

    def promote(self) -> None:
        """Make this standby the primary (what Patroni or CloudNativePG do on failover)."""
        self._run("pg_ctl", "-D", str(self.data), "-w", "promote")

    def sql(self, statement: str, database: str = "postgres") -> str:
        return self._run(
            "psql", "-h", str(self.root), "-p", str(self.port), "-U", SERVICE_USER,
            "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", statement,
        ).stdout  # fmt: skip

    def create_database(self, name: str) -> str:
        """A new empty database; its SQLAlchemy URL."""
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SERVICE_USER}@127.0.0.1:{self.port}/{database}"

    def halt(self) -> None:
        """Stop the server at once, as a crash or a lost machine would; ``start`` brings it back."""
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self.root, ignore_errors=True)
