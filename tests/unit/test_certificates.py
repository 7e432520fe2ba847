"""The southbound's certificates and who they name; when plaintext is allowed."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509

from alcor.southbound import certificates, credentials

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


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
