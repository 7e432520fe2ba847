"""The pure name logic of internal DNS (``alcor.model.dns``): neutron-lib's validation, the
``dns_assignment`` Neutron shows, and the relative names hosts are given."""

from __future__ import annotations

import pytest

from alcor.model import dns, errors
from alcor.model.requests import PortCreate, PortUpdate

DOMAIN = "example.org."


def reason(call: object) -> str:
    assert callable(call)
    with pytest.raises(errors.InvalidInput) as raised:
        call()
    return raised.value.message


def test_the_option_takes_a_trailing_dot_and_lower_case() -> None:
    assert dns.domain_option("Example.ORG") == "example.org."
    assert dns.domain_option("example.org.") == "example.org."
    assert dns.domain_option("") == ""


def test_names_count_only_under_another_domain_than_the_default() -> None:
    assert not dns.names_kept(dns.DEFAULT_DOMAIN)
    assert not dns.names_kept("")
    assert dns.names_kept(DOMAIN)


@pytest.mark.parametrize(
    ("value", "kept"),
    [("VM1", "vm1"), ("a.b", "a.b"), ("vm.example.org.", "vm.example.org."), ("", ""),
     ("123", "123"), ("<project_id>", "<project_id>"), ("a" * 63, "a" * 63)],
)  # fmt: skip
def test_good_names_are_kept_lower_cased(value: str, kept: str) -> None:
    assert dns.dns_name(value, domain=DOMAIN) == kept
    assert dns.dns_name(value, domain=dns.DEFAULT_DOMAIN) == ""  # validated, then dropped


@pytest.mark.parametrize(
    ("value", "words"),
    [("-a", "must not start or end with a hyphen"), ("a-", "must not start or end"),
     ("a_b", "must be 1-63 characters long"), ("a" * 64, "must be 1-63 characters long"),
     ("a.1", "TLD '1' must not be all numeric"), ("a..b", "empty component"),
     ("x" * 256, "exceeds the 255 character FQDN limit")],
)  # fmt: skip
def test_bad_forms_are_refused_under_any_domain(value: str, words: str) -> None:
    for domain in (DOMAIN, dns.DEFAULT_DOMAIN):
        message = reason(lambda domain=domain: dns.dns_name(value, domain=domain))
        assert message.startswith(f"Invalid input for dns_name. Reason: '{value}' not a valid")
        assert words in message


def test_an_absolute_name_must_be_under_the_domain_with_a_label_of_its_own() -> None:
    for value in ("vm.other.org.", "example.org.", "xexample.org."):
        assert "Its higher level labels must be equal" in reason(
            lambda value=value: dns.dns_name(value, domain=DOMAIN)
        )
    assert dns.dns_name("vm.other.org.", domain=dns.DEFAULT_DOMAIN) == ""


def test_a_relative_name_must_fit_with_the_domain_in_255() -> None:
    fits = ".".join(["a" * 60] * 3 + ["a" * 59])  # 242 + len(".example.org.") = 255
    assert dns.dns_name(fits, domain=DOMAIN) == fits
    message = reason(lambda: dns.dns_name(".".join(["a" * 60] * 4), domain=DOMAIN))
    assert "The dns_name passed is a PQDN and its size is '243'" in message


def test_only_strings_are_names() -> None:
    assert reason(lambda: dns.dns_name(5, domain=DOMAIN)) == (
        "Invalid input for operation: Input value 5 must be string type."
    )
    assert "Input value None must be string type" in reason(lambda: dns.dns_domain(None))


def test_domains_are_absolute_and_leave_room_for_a_label() -> None:
    assert dns.dns_domain("Sub.Example.Org.") == "sub.example.org."
    assert dns.dns_domain("") == ""
    assert reason(lambda: dns.dns_domain("a.org")).endswith("'a.org' is not a FQDN.")
    assert "contains 254 characters" in reason(
        lambda: dns.dns_domain(f"{'a' * 63}." * 3 + "a" * 61 + ".")
    )


def test_the_assignment_names_every_address() -> None:
    assert dns.assignment("vm1", ["10.0.0.3", "fd00::3"], domain=DOMAIN) == [
        dns.Assignment("10.0.0.3", "vm1", "vm1.example.org."),
        dns.Assignment("fd00::3", "vm1", "vm1.example.org."),
    ]
    assert dns.assignment("", ["10.0.0.3", "fd00::a:3"], domain=dns.DEFAULT_DOMAIN) == [
        dns.Assignment("10.0.0.3", "host-10-0-0-3", "host-10-0-0-3.openstacklocal."),
        dns.Assignment("fd00::a:3", "host-fd00--a-3", "host-fd00--a-3.openstacklocal."),
    ]
    assert dns.assignment("vm.example.org.", ["10.0.0.3"], domain=DOMAIN) == [
        dns.Assignment("10.0.0.3", "vm.example.org.", "vm.example.org.")
    ]
    assert dns.assignment("", ["10.0.0.3"], domain="") == [
        dns.Assignment("10.0.0.3", "host-10-0-0-3", "host-10-0-0-3")
    ]
    assert dns.assignment("vm1", [], domain=DOMAIN) == []


def test_hosts_are_given_names_relative_to_the_domain() -> None:
    assert dns.relative("vm.example.org.", domain=DOMAIN) == "vm"
    assert dns.relative("a.b.example.org.", domain=DOMAIN) == "a.b"
    assert dns.relative("vm1", domain=DOMAIN) == "vm1"


def test_a_ports_fields_are_those_it_sent() -> None:
    create = PortCreate(network_id="n", dns_name="VM", dns_domain="P.Org.")
    assert dns.port_fields(create, domain=DOMAIN, creating=True) == {
        "dns_name": "vm",
        "dns_domain": "p.org.",
    }
    assert dns.port_fields(create, domain=dns.DEFAULT_DOMAIN, creating=True) == {
        "dns_name": "",
        "dns_domain": "",
    }
    assert dns.port_fields(PortUpdate(name="x"), domain=DOMAIN, creating=False) == {}
    assert (
        reason(
            lambda: dns.port_fields(
                PortCreate(network_id="n", dns_assignment=[]), domain=DOMAIN, creating=True
            )
        )
        == "Attribute 'dns_assignment' not allowed in POST"
    )
    assert (
        reason(
            lambda: dns.port_fields(PortUpdate(dns_assignment=[]), domain=DOMAIN, creating=False)
        )
        == "Cannot update read-only attribute dns_assignment"
    )
