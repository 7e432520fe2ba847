"""Running the real ``alcor server`` for tests: a child process on a free loopback port with its
own SQLite file (or the PostgreSQL database ``db_url`` names; ``db_path`` then only places its
log), reached over real HTTP. Tests that kill it (crash tests) use it directly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from alcor.lab.controllers import free_port
from alcor.model import quotas as quota_model
from alcor.store.committing import driver_url

# Quotas off, as in the reference Neutron's test kit: tests of other features make more than
# Neutron's default limits allow. Quota tests pass ``quotas=()`` to keep Neutron's defaults.
UNLIMITED_QUOTAS: tuple[str, ...] = tuple(
    arg for resource in quota_model.RESOURCES for arg in ("--quota", f"{resource}=-1")
)


class ServerProcess:
    """One ``alcor server`` child. ``start`` waits until it answers; ``kill`` is kill -9.
    Its agents' streams are served on ``southbound`` (a free loopback port unless given)."""

    def __init__(
        self,
        db_path: Path,
        *extra: str,
        port: int | None = None,
        southbound: str | None = None,
        quotas: tuple[str, ...] = UNLIMITED_QUOTAS,
        db_url: str | None = None,
    ) -> None:
        self.db_path = db_path
        self.db_url = db_url or f"sqlite:///{db_path}"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.southbound = southbound or f"127.0.0.1:{free_port()}"
        self.extra = (*quotas, *extra)
        self.log_path = db_path.with_suffix(".log")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> ServerProcess:
        command = [
            sys.executable,
            "-m",
            "alcor.cli.main",
            "server",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--db",
            self.db_url,
            "--southbound",
            self.southbound,
            "--log-level",
            "warning",
            *self.extra,
        ]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()}")
            try:
                httpx.get(self.url + "/", timeout=1.0)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not start: {self.log_path.read_text()}")

    def kill(self) -> None:
        """kill -9: no chance to flush or clean up, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def query(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Rows of one SELECT on the server's store (either dialect; ``:name`` parameters)."""
        engine = sa.create_engine(driver_url(self.db_url), poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as connection:
                return [tuple(row) for row in connection.execute(sa.text(sql), params)]
        finally:
            engine.dispose()

    def errors_logged(self) -> str:
        text = self.log_path.read_text() if self.log_path.exists() else ""
        return "\n".join(
            line for line in text.splitlines() if "Traceback" in line or "ERROR" in line
        )
