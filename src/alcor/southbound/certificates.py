"""The southbound's certificates: a CA, the hosts' client certificates and the controllers'
server certificates (pure: keys and certificates in, PEM bytes out; files are the CLI's).

A host's certificate names it twice: its subject's common name is the host id, and a SAN URI
``alcor:host:<host id>`` is what the controller binds the stream to. A host that may serve
routers' external gateways carries one SAN URI ``alcor:physnet:<name>`` per physical network:
the controller gives them to the node it registers for the host (an existing node's record is
kept). A controller's certificate carries the DNS names and IP addresses it is reached by and no
host URI, so it cannot pass for a host. Keys are EC P-256; certificates are signed with SHA-256.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterable

import msgspec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOST_URI = "alcor:host:"
PHYSNET_URI = "alcor:physnet:"
CA_FILE = "ca.pem"
CA_KEY_FILE = "ca.key"


class Issued(msgspec.Struct, frozen=True):
    """A private key and its certificate, PEM."""

    key: bytes
    certificate: bytes


class Identity(msgspec.Struct, frozen=True):
    """Who a certificate says its holder is: the hosts it names (normally one) and the physical
    networks it maps."""

    hosts: tuple[str, ...]
    physical_networks: tuple[str, ...]


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _validity(now: datetime.datetime, days: float) -> tuple[datetime.datetime, datetime.datetime]:
    """From an hour ago (clocks differ) for ``days``; negative ``days`` makes a certificate that
    expired already (for tests)."""
    start = now - datetime.timedelta(hours=1)
    end = now + datetime.timedelta(days=days)
    return (min(start, end - datetime.timedelta(minutes=1)), end)


def _builder(
    *,
    subject: str,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    now: datetime.datetime,
    days: float,
) -> x509.CertificateBuilder:
    not_before, not_after = _validity(now, days)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )


def new_ca(*, name: str, now: datetime.datetime, days: float) -> Issued:
    """A self-signed CA that signs hosts' and controllers' certificates (and nothing beneath)."""
    key = _new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = (
        _builder(subject=name, issuer=subject, public_key=key.public_key(), now=now, days=days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(_key_pem(key), _cert_pem(certificate))


def _issue(
    ca: Issued,
    *,
    subject: str,
    names: list[x509.GeneralName],
    usage: x509.ObjectIdentifier,
    now: datetime.datetime,
    days: float,
) -> Issued:
    ca_key = serialization.load_pem_private_key(ca.key, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key is not an EC key made by `alcor certs init`")
    ca_certificate = x509.load_pem_x509_certificate(ca.certificate)
    key = _new_key()
    certificate = (
        _builder(
            subject=subject,
            issuer=ca_certificate.subject,
            public_key=key.public_key(),
            now=now,
            days=days,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return Issued(_key_pem(key), _cert_pem(certificate))


def issue_host(
    ca: Issued,
    host_id: str,
    *,
    physical_networks: tuple[str, ...] = (),
    now: datetime.datetime,
    days: float,
) -> Issued:
    """A host's client certificate: CN and SAN URI name the host."""
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(HOST_URI + host_id)]
    names += [x509.UniformResourceIdentifier(PHYSNET_URI + p) for p in physical_networks]
    return _issue(
        ca,
        subject=host_id,
        names=names,
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
        now=now,
        days=days,
    )


def issue_controller(
    ca: Issued, name: str, *, sans: tuple[str, ...], now: datetime.datetime, days: float
) -> Issued:
    """A controller's server certificate for the names and addresses it is reached by (the
    common name is one of them too)."""
    names: list[x509.GeneralName] = []
    for san in dict.fromkeys((name, *sans)):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(san)))
        except ValueError:
            names.append(x509.DNSName(san))
    return _issue(
        ca,
        subject=name,
        names=names,
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        now=now,
        days=days,
    )


def identity(uris: Iterable[str]) -> Identity:
    """The hosts and physical networks a verified peer certificate names, from its SAN URIs
    (gRPC's auth context holds them as ``peer_uri``)."""
    found = list(uris)
    return Identity(
        hosts=tuple(u[len(HOST_URI) :] for u in found if u.startswith(HOST_URI)),
        physical_networks=tuple(
            sorted({u[len(PHYSNET_URI) :] for u in found if u.startswith(PHYSNET_URI)})
        ),
    )


def uris_of(pem: bytes) -> list[str]:
    """A certificate's SAN URIs."""
    certificate = x509.load_pem_x509_certificate(pem)
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return list(san.value.get_values_for_type(x509.UniformResourceIdentifier))


def matching_pair(key_pem: bytes, certificate_pem: bytes) -> bool:
    """Whether the key is the certificate's (a rotation caught between two file writes is
    not)."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    certificate = x509.load_pem_x509_certificate(certificate_pem)
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    return bool(
        key.public_key().public_bytes(serialization.Encoding.PEM, public)
        == certificate.public_key().public_bytes(serialization.Encoding.PEM, public)
    )
