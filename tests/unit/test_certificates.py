"""The southbound's certificates and who they name; when plaintext is allowed."""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path

import pytest
from cryptography import x509

from alcor.cli import agents, certs
from alcor.southbound import certificates, credentials

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def alcor(arguments: list[str]) -> int:
    """``alcor certs`` / ``alcor agent`` as the command line runs them."""
    parser = argparse.ArgumentParser(prog="alcor")
    commands = parser.add_subparsers(dest="command", required=True)
    certs.add_parsers(commands)
    agents.add_parsers(commands)
    args = parser.parse_args(arguments)
    return certs.main(args) if args.command == "certs" else agents.main(args)


@pytest.fixture(scope="module")
def ca() -> certificates.Issued:
    return certificates.new_ca(name="unit CA", now=NOW, days=10)


def test_a_host_certificate_names_its_host_and_physical_networks(ca: certificates.Issued) -> None:
    issued = certificates.issue_host(
        ca, "h-1", physical_networks=("public", "datacentre"), now=NOW, days=1
    )
    certificate = x509.load_pem_x509_certificate(issued.certificate)
    assert certificate.issuer == x509.load_pem_x509_certificate(ca.certificate).subject
    assert certificate.subject.rfc4514_string() == "CN=h-1"
    found = certificates.identity(certificates.uris_of(issued.certificate))
    assert found == certificates.Identity(
        hosts=("h-1",), physical_networks=("datacentre", "public")
    )
    assert certificates.matching_pair(issued.key, issued.certificate)
    assert not certificates.matching_pair(ca.key, issued.certificate)


def test_a_controller_certificate_names_no_host(ca: certificates.Issued) -> None:
    issued = certificates.issue_controller(
        ca, "ctl", sans=("127.0.0.1", "ctl.example"), now=NOW, days=1
    )
    certificate = x509.load_pem_x509_certificate(issued.certificate)
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["ctl", "ctl.example"]
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert certificates.identity(certificates.uris_of(issued.certificate)).hosts == ()


def test_a_certificate_issued_for_negative_days_has_expired(ca: certificates.Issued) -> None:
    issued = certificates.issue_host(ca, "h-2", now=NOW, days=-1)
    certificate = x509.load_pem_x509_certificate(issued.certificate)
    assert certificate.not_valid_after_utc < NOW


def test_uris_that_only_look_like_a_hosts_name_none() -> None:
    found = certificates.identity(["alcor:hostile:x", "https://alcor:host:y", "alcor:host:z"])
    assert found.hosts == ("z",)


@pytest.mark.parametrize(
    ("address", "local"),
    [
        ("unix:/run/alcor.sock", True),
        ("127.0.0.1:9697", True),
        ("127.8.9.10:9697", True),
        ("localhost:9697", True),
        ("[::1]:9697", True),
        ("0.0.0.0:9697", False),
        ("[::]:9697", False),
        ("10.0.0.5:9697", False),
        ("controller.example:9697", False),
    ],
)
def test_only_loopback_and_unix_sockets_are_local(address: str, local: bool) -> None:
    assert credentials.local_only(address) is local


def test_alcor_certs_writes_a_ca_and_certificates_with_private_keys_0600(tmp_path: Path) -> None:
    folder = tmp_path / "pki"
    assert alcor(["certs", "init", "--dir", str(folder)]) == 0
    ca = (folder / "ca.pem").read_bytes()
    assert alcor(["certs", "init", "--dir", str(folder)]) == 0  # kept, not replaced
    assert (folder / "ca.pem").read_bytes() == ca
    host = ["certs", "issue", "--dir", str(folder), "--host-id", "h1"]
    assert alcor([*host, "--physical-network", "public", "--days", "2"]) == 0
    controller = ["certs", "issue", "--dir", str(folder), "--controller", "ctl"]
    assert alcor([*controller, "--san", "localhost", "--san", "10.0.0.5"]) == 0
    for stem in ("ca", "host-h1", "controller-ctl"):
        assert (folder / f"{stem}.key").stat().st_mode & 0o777 == 0o600
        assert (folder / f"{stem}.pem").stat().st_mode & 0o777 == 0o644
    issued = (folder / "host-h1.pem").read_bytes()
    assert certificates.identity(certificates.uris_of(issued)) == certificates.Identity(
        hosts=("h1",), physical_networks=("public",)
    )
    assert alcor(["certs", "issue", "--dir", str(folder), "--host-id", "../x"]) == 2
    assert alcor(["certs", "issue", "--dir", str(tmp_path / "none"), "--host-id", "h"]) == 2


def test_an_agent_given_part_of_its_tls_files_does_not_start(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"")
    arguments = ["agent", "--host-id", "h1", "--driver", "recording", "--tls-ca", str(ca)]
    assert alcor(arguments) == 2


def test_rotating_credentials_take_new_files_once_key_and_certificate_agree(
    ca: certificates.Issued, tmp_path: Path
) -> None:
    def write(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.with_suffix(".new").write_bytes(data)
        path.with_suffix(".new").replace(path)  # a new inode, as `alcor certs` writes
        return path

    first = certificates.issue_controller(ca, "ctl", sans=(), now=NOW, days=1)
    files = credentials.TlsFiles(
        ca=str(write("ca.pem", ca.certificate)),
        cert=str(write("ctl.pem", first.certificate)),
        key=str(write("ctl.key", first.key)),
    )
    rotating = credentials.Rotating(files)
    assert rotating.fetch() is None  # nothing changed
    second = certificates.issue_controller(ca, "ctl", sans=(), now=NOW, days=2)
    write("ctl.pem", second.certificate)
    assert rotating.fetch() is None  # caught between the two writes: the old pair serves
    write("ctl.key", second.key)
    assert rotating.fetch() is not None
    assert rotating.fetch() is None
    assert rotating.reloads == 1
    write("ctl.key", first.key)
    with pytest.raises(ValueError, match="is not the key of"):
        credentials.Rotating(files)
