"""The southbound's TLS: mutual-TLS server credentials that follow their files, the identity a
stream's peer proved, and when plaintext is allowed.

``Rotating.credentials`` gives gRPC the CA, certificate and key as they are now and a fetcher
that gRPC calls before each new handshake: when one of the files changed (size, mtime or inode)
the fetcher reads them again and new connections use them, without a restart; open streams keep
theirs. A key that does not match its certificate (a rotation caught between two writes) is not
taken: the old pair serves until the files agree. Clients must show a certificate from the CA
(``require_client_authentication``); the TLS handshake refuses the others, expired ones
included, before any message.

Plaintext: a southbound on a loopback address or a unix socket may run without TLS (the log says
so); anywhere else it needs TLS files or an explicit ``--southbound-insecure``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from typing import cast

import grpc
import msgspec

from alcor.southbound import certificates

log = logging.getLogger(__name__)


class TlsFiles(msgspec.Struct, frozen=True, kw_only=True):
    """PEM files: the CA whose certificates are admitted, the server's certificate and key."""

    ca: str
    cert: str
    key: str


def local_only(address: str) -> bool:
    """Whether a southbound address (``HOST:PORT`` or ``unix:PATH``) is reachable only from this
    machine: a unix socket, ``localhost`` or a loopback address."""
    if address.startswith("unix:"):
        return True
    host = address.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def peer_identity(auth_context: Mapping[str, Iterable[bytes]]) -> certificates.Identity:
    """Who the stream's client certificate names (gRPC's auth context of the stream; nothing on
    a plaintext stream)."""
    uris = auth_context.get("peer_uri", [])
    return certificates.identity(uri.decode(errors="replace") for uri in uris)


_Stamp = tuple[tuple[int, int, int], ...]


class Rotating:
    """Server credentials read from ``files``, read again when they change."""

    def __init__(self, files: TlsFiles) -> None:
        self.files = files
        self._paths = (files.ca, files.cert, files.key)
        self._seen = self._stamp()
        self.reloads = 0
        self._initial = self._configuration()  # raises why the files are unusable

    def credentials(self) -> grpc.ServerCredentials:
        # gRPC's fetcher may answer None ("no change"), which its type stubs do not say
        fetch = cast(Callable[[], grpc.ServerCertificateConfiguration], self.fetch)
        return grpc.dynamic_ssl_server_credentials(
            self._initial, fetch, require_client_authentication=True
        )

    def _stamp(self) -> _Stamp:
        stamps = []
        for path in self._paths:
            found = os.stat(path)
            stamps.append((found.st_mtime_ns, found.st_size, found.st_ino))
        return tuple(stamps)

    def _configuration(self) -> grpc.ServerCertificateConfiguration:
        ca, cert, key = (_read(path) for path in self._paths)
        try:
            matching = certificates.matching_pair(key, cert)
        except ValueError as error:
            raise ValueError(f"{self.files.cert} / {self.files.key}: {error}") from None
        if not matching:
            raise ValueError(f"{self.files.key} is not the key of {self.files.cert}")
        return grpc.ssl_server_certificate_configuration([(key, cert)], root_certificates=ca)

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """gRPC's question before a handshake: new files? (None: keep what you have)."""
        try:
            stamp = self._stamp()
            if stamp == self._seen:
                return None
            configuration = self._configuration()
        except (OSError, ValueError) as error:
            log.warning("southbound TLS files changed but cannot be used (yet): %s", error)
            return None
        self._seen = stamp
        self.reloads += 1
        log.info("southbound TLS: new certificate files in use (%s)", self.files.cert)
        return configuration


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()
