"""Running the real ``alcor server`` for tests: a child process on a free loopback port with its
own SQLite file (or the PostgreSQL database ``db_url`` names; ``db_path`` then only places its
log), reached over real HTTP. Tests that kill it (crash tests) use it directly.

``Pki`` is a southbound CA in a folder with the controller's certificate and the hosts' (what
``alcor certs`` writes, issued in this process); a server given one runs its southbound with
mutual TLS."""

from __future__ import annotations

import datetime
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from alcor.agent import stream
from alcor.lab.controllers import free_port
from alcor.model import quotas as quota_model
from alcor.southbound import certificates
from alcor.store.committing import driver_url

# Quotas off, as in the reference Neutron's test kit: tests of other features make more than
# Neutron's default limits allow. Quota tests pass ``quotas=()`` to keep Neutron's defaults.
UNLIMITED_QUOTAS: tuple[str, ...] = tuple(
    arg for resource in quota_model.RESOURCES for arg in ("--quota", f"{resource}=-1")
)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class Pki:
    """A CA in ``folder`` (``ca.pem``), a controller certificate for 127.0.0.1 and localhost,
    and host certificates on demand."""

    def __init__(self, folder: Path, *, name: str = "test CA") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.ca = certificates.new_ca(name=name, now=_now(), days=1)
        self.ca_path = folder / "ca.pem"
        self.ca_path.write_bytes(self.ca.certificate)
        self.cert_path, self.key_path = self.write_controller(self.issue_controller())

    def issue_controller(self, *, days: float = 1) -> certificates.Issued:
        sans = ("127.0.0.1", "localhost")
        return certificates.issue_controller(
            self.ca, "controller", sans=sans, now=_now(), days=days
        )

    def write_controller(self, issued: certificates.Issued) -> tuple[Path, Path]:
        """The controller's files, each replaced at once (as ``alcor certs`` does)."""
        paths = (self.folder / "controller.pem", self.folder / "controller.key")
        for path, data in zip(paths, (issued.certificate, issued.key), strict=True):
            temporary = path.with_suffix(".new")
            temporary.write_bytes(data)
            temporary.replace(path)
        return paths

    def server_args(self) -> tuple[str, ...]:
        return (
            *("--southbound-tls-ca", str(self.ca_path)),
            *("--southbound-tls-cert", str(self.cert_path)),
            *("--southbound-tls-key", str(self.key_path)),
        )

    def host(
        self, host_id: str, *, days: float = 1, physical_networks: tuple[str, ...] = ()
    ) -> stream.ClientTls:
        issued = certificates.issue_host(
            self.ca, host_id, physical_networks=physical_networks, now=_now(), days=days
        )
        return stream.ClientTls(
            ca=self.ca.certificate, certificate=issued.certificate, key=issued.key
        )

    def host_files(self, host_id: str) -> tuple[str, ...]:
        """``alcor agent``'s TLS options for the host, its files written here."""
        tls = self.host(host_id)
        cert, key = self.folder / f"host-{host_id}.pem", self.folder / f"host-{host_id}.key"
        cert.write_bytes(tls.certificate)
        key.write_bytes(tls.key)
        key.chmod(0o600)
        return ("--tls-ca", str(self.ca_path), "--tls-cert", str(cert), "--tls-key", str(key))


class ServerProcess:
    """One ``alcor server`` child. ``start`` waits until it answers (on HTTP; a ``--role
    southbound`` process on its southbound address); ``kill`` is kill -9. Its agents' streams
    are served on ``southbound`` (a free loopback port unless given), with mutual TLS if given a
    ``pki``."""

    def __init__(
        self,
        db_path: Path,
        *extra: str,
        port: int | None = None,
        southbound: str | None = None,
        quotas: tuple[str, ...] = UNLIMITED_QUOTAS,
        db_url: str | None = None,
        pki: Pki | None = None,
        role: str = "all",
    ) -> None:
        self.pki = pki
        self.role = role
        self.db_path = db_path
        self.db_url = db_url or f"sqlite:///{db_path}"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.southbound = southbound or f"127.0.0.1:{free_port()}"
        self.extra = (
            *quotas,
            *(pki.server_args() if pki is not None else ()),
            *(("--role", role) if role != "all" else ()),
            *extra,
        )
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
            if self._answers():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not start: {self.log_path.read_text()}")

    def _answers(self) -> bool:
        if self.role == "southbound":
            host, _, port = self.southbound.rpartition(":")
            try:
                socket.create_connection((host, int(port)), timeout=1.0).close()
                return True
            except OSError:
                return False
        try:
            httpx.get(self.url + "/", timeout=1.0)
            return True
        except httpx.TransportError:
            return False

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
