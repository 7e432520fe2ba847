"""Internal DNS (``dns-integration``, ``dns-domain-ports``): names as Neutron validates them and
the ``dns_assignment`` it shows.

The controller's domain (``--dns-domain``, Neutron's ``dns_domain`` option, ``openstacklocal``)
names every port's addresses: ``<hostname>.<domain>``, the hostname being the port's
``dns_name`` or, without one, ``host-<address with dashes>``. As in Neutron, a port's
``dns_name`` and ``dns_domain`` are kept only when that domain is not the default
(``openstacklocal.``): under the default they are validated, then dropped. A ``dns_name`` is a
relative name (one or more labels: the domain is appended) or an absolute one (a trailing dot)
under the domain. A network's ``dns_domain`` and a port's own (``dns-domain-ports``) are for
external DNS services in Neutron: kept and shown, they change no name here.

Every value is lower-cased (``convert_string_to_case_insensitive``); errors carry
neutron-lib's messages (``neutron_lib.api.validators.dns``).
"""

from __future__ import annotations

import re

import msgspec

from alcor.model import errors
from alcor.model.requests import UNSET, PortAttributes

DEFAULT_DOMAIN = "openstacklocal."  # neutron-lib's DNS_DOMAIN_DEFAULT
FQDN_MAX = 255  # neutron-lib's FQDN_FIELD_SIZE
LABEL_MAX = 63
_KEYWORDS = ("project_id", "project_name", "user_name", "user_id")
_KEYWORD = "|".join(f"<{word}>" for word in _KEYWORDS)
_LABEL = re.compile(f"^([a-z0-9-]{{1,{LABEL_MAX}}}|{_KEYWORD})$")
_NUMERIC = re.compile("^[0-9]+$")


class Assignment(msgspec.Struct, frozen=True, gc=False):
    """One entry of a port's ``dns_assignment``."""

    ip_address: str
    hostname: str
    fqdn: str


def domain_option(text: str) -> str:
    """The server's ``--dns-domain`` as names use it: with its trailing dot (empty: none)."""
    text = text.strip().lower()
    if not text or text.endswith("."):
        return text
    return text + "."


def names_kept(domain: str) -> bool:
    """Whether ports' names count under ``domain`` (Neutron ignores them under the default)."""
    return bool(domain) and domain != DEFAULT_DOMAIN


def dns_name(value: object, *, domain: str) -> str:
    """A requested ``dns_name``, lower-cased and checked as neutron-lib's ``validate_dns_name``
    (the form, then the whole name's length and place under ``domain``); what the port keeps
    (empty under the default domain)."""
    name = _text(value)
    _check_format(name, attribute="dns_name")
    if not names_kept(domain):
        return ""
    if name:
        _check_under(name, domain=domain)
    return name


def dns_domain(value: object) -> str:
    """A requested ``dns_domain`` (a network's or a port's), as ``validate_dns_domain``."""
    text = _text(value)
    if not text:
        return ""
    if not text.endswith("."):
        raise _invalid("dns_domain", f"'{text}' is not a FQDN")
    _check_format(text, attribute="dns_domain")
    if len(text) > FQDN_MAX - 2:
        raise _invalid(
            "dns_domain",
            f"'{text}' contains {len(text)} characters. Adding a sub-domain will cause it to "
            f"exceed the maximum length of a FQDN of '{FQDN_MAX}'",
        )
    return text


def port_fields(request: PortAttributes, *, domain: str, creating: bool) -> dict[str, str]:
    """The ``dns_name`` and ``dns_domain`` a port create or update sets (those it sent), under
    the server's ``domain``; ``dns_assignment`` is refused as Neutron refuses a read-only
    attribute."""
    if request.dns_assignment is not UNSET:
        raise errors.InvalidInput(
            "Attribute 'dns_assignment' not allowed in POST"
            if creating
            else "Cannot update read-only attribute dns_assignment"
        )
    fields = {}
    if request.dns_name is not UNSET:
        fields["dns_name"] = dns_name(request.dns_name, domain=domain)
    if request.dns_domain is not UNSET:
        own = dns_domain(request.dns_domain)
        fields["dns_domain"] = own if names_kept(domain) else ""
    return fields


def generated_hostname(address: str) -> str:
    """Neutron's name for an address of a port without ``dns_name``: ``host-10-0-0-3``."""
    return "host-" + address.replace(".", "-").replace(":", "-")


def assignment(name: str, addresses: list[str], *, domain: str) -> list[Assignment]:
    """A port's ``dns_assignment``: per address, its hostname and FQDN (``name`` as the port
    keeps it; an absolute one is its own FQDN)."""
    found = []
    for address in addresses:
        if name:
            fqdn = name if name.endswith(".") else f"{name}.{domain}"
            found.append(Assignment(address, name, fqdn))
        else:
            hostname = generated_hostname(address)
            found.append(
                Assignment(address, hostname, f"{hostname}.{domain}" if domain else hostname)
            )
    return found


def relative(name: str, *, domain: str) -> str:
    """A kept ``dns_name`` relative to ``domain`` (``vm1.example.org.`` -> ``vm1``): what a
    host's DNS server is given, beside the domain."""
    if name.endswith(".") and domain and name.endswith("." + domain):
        return name[: -len(domain) - 1]
    return name.rstrip(".")


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise errors.InvalidInput(
            f"Invalid input for operation: Input value {value} must be string type.",
            type="InvalidInput",
        )
    return value.lower()


def _invalid(attribute: str, reason: str) -> errors.InvalidInput:
    return errors.InvalidInput(f"Invalid input for {attribute}. Reason: {reason}.")


def _check_format(name: str, *, attribute: str) -> None:
    """neutron-lib's ``_validate_dns_format``: labels of letters, digits and hyphens."""
    if not name:
        return
    trimmed = name[:-1] if name.endswith(".") else name
    reason = _format_problem(trimmed)
    if reason is not None:
        raise _invalid(attribute, f"'{name}' not a valid PQDN or FQDN. Reason: {reason}")


def _format_problem(trimmed: str) -> str | None:
    if len(trimmed) > FQDN_MAX:
        return f"'{trimmed}' exceeds the {FQDN_MAX} character FQDN limit"
    labels = trimmed.split(".")
    for label in labels:
        if not label:
            return "Encountered an empty component"
        if label.startswith("-") or label.endswith("-"):
            return f"Name '{label}' must not start or end with a hyphen"
        if not _LABEL.match(label):
            return (
                f"Name '{label}' must be 1-{LABEL_MAX} characters long, each of which can only "
                "be alphanumeric or a hyphen"
            )
    if len(labels) > 1 and _NUMERIC.match(labels[-1]):
        return f"TLD '{labels[-1]}' must not be all numeric"
    return None


def _check_under(name: str, *, domain: str) -> None:
    """neutron-lib's ``_validate_dns_name_with_dns_domain``: a relative name fits with the
    domain in an FQDN; an absolute one ends with the domain and has labels of its own."""
    higher = f".{domain}"
    if not name.endswith("."):
        if len(name) + len(higher) > FQDN_MAX:
            raise _invalid(
                "dns_name",
                f"The dns_name passed is a PQDN and its size is '{len(name)}'. The dns_domain "
                f"option in neutron.conf is set to {domain}, with a length of '{len(higher)}'. "
                "When the two are concatenated to form a FQDN (with a '.' at the end), the "
                f"resulting length exceeds the maximum size of '{FQDN_MAX}'",
            )
        return
    if len(name) <= len(higher) or not name.endswith(higher):
        raise _invalid(
            "dns_name",
            "The dns_name passed is a FQDN. Its higher level labels must be equal to the "
            f"dns_domain option in neutron.conf, that has been set to '{domain}'. It must also "
            f"include one or more valid DNS labels to the left of '{domain}'",
        )
