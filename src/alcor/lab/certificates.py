"""A lab's southbound PKI, made as an operator makes one: ``alcor certs`` in a folder (the lab's
state directory, ``pki/``). The controller gets a server certificate for ``localhost`` (its
agents reach it over a unix socket), each host a certificate naming its host id and the
physical networks it maps, so the lab's controller and agents always run mutual TLS."""

from __future__ import annotations

import sys
from pathlib import Path

from alcor.lab import commands

CONTROLLER = "controller"


class Pki:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _certs(self, *args: str) -> None:
        command = (sys.executable, "-m", "alcor.cli.main", "certs", *args, "--dir", str(self))
        commands.run(*command, timeout=60.0)

    def __str__(self) -> str:
        return str(self.folder)

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    def init(self) -> Pki:
        """The CA and the controller's certificate."""
        self._certs("init")
        self._certs("issue", "--controller", CONTROLLER, "--san", "localhost")
        return self

    def server_args(self) -> tuple[str, ...]:
        """``alcor server``'s TLS options."""
        return (
            f"--southbound-tls-ca={self.ca}",
            f"--southbound-tls-cert={self.folder / f'controller-{CONTROLLER}.pem'}",
            f"--southbound-tls-key={self.folder / f'controller-{CONTROLLER}.key'}",
        )

    def host_args(
        self, host_id: str, *, physical_networks: tuple[str, ...] = ()
    ) -> tuple[str, ...]:
        """Issue the host's certificate; ``alcor agent``'s TLS options to use it."""
        mapped = [f"--physical-network={name}" for name in physical_networks]
        self._certs("issue", "--host-id", host_id, *mapped)
        return (
            f"--tls-ca={self.ca}",
            f"--tls-cert={self.folder / f'host-{host_id}.pem'}",
            f"--tls-key={self.folder / f'host-{host_id}.key'}",
        )
