"""What one request may ask for: the configurable limits (``model.limits``), the 255-character
strings of the request types, and how a refused body is worded (``api.faults``)."""

from __future__ import annotations

import msgspec
import pytest

from alcor.api import faults
from alcor.model import errors, limits
from alcor.model.requests import (
    AddressPairRequest,
    FixedIpRequest,
    GatewayRequest,
    HostRouteRequest,
    NetworkCreate,
    PortCreate,
    PortUpdate,
    RouterCreate,
    RouterUpdate,
    SubnetCreate,
    SubnetUpdate,
)

DEFAULTS = limits.Limits()


def refused(request: object, limit: limits.Limits = DEFAULTS, **kwargs: str) -> errors.AlcorError:
    with pytest.raises(errors.InvalidInput) as caught:
        limits.check_request(request, limit, **kwargs)
    return caught.value


def test_defaults_are_neutrons_where_it_has_them() -> None:
    assert DEFAULTS.max_allowed_address_pair == 10
    assert (DEFAULTS.max_dns_nameservers, DEFAULTS.max_subnet_host_routes) == (5, 20)
    assert DEFAULTS.max_routes == 30


def test_address_pairs_up_to_the_limit_pass_one_more_is_refused() -> None:
    pairs = [AddressPairRequest(ip_address=f"10.0.0.{i}") for i in range(11)]
    limits.check_request(PortCreate(network_id="n", allowed_address_pairs=pairs[:10]), DEFAULTS)
    error = refused(PortUpdate(allowed_address_pairs=pairs))
    assert error.type == "AllowedAddressPairExhausted"
    assert error.message == "The number of allowed address pair exceeds the maximum 10."


def test_fixed_ips_of_a_port_and_of_a_gateway_are_capped() -> None:
    fixed = [FixedIpRequest(subnet_id="s")] * 3
    tight = limits.Limits(max_fixed_ips_per_port=2)
    limits.check_request(PortCreate(network_id="n", fixed_ips=fixed[:2]), tight)
    assert refused(PortCreate(network_id="n", fixed_ips=fixed), tight).type == "InvalidInput"
    gateway = GatewayRequest(network_id="ext", external_fixed_ips=fixed)
    assert refused(RouterCreate(external_gateway_info=gateway), tight).type == "InvalidInput"


def test_subnet_nameservers_and_routes_name_the_subnet_or_a_new_one() -> None:
    servers = [f"10.0.0.{i}" for i in range(6)]
    new = refused(SubnetCreate(network_id="n", cidr="10.0.0.0/24", dns_nameservers=servers))
    assert new.type == "DNSNameServersExhausted"
    assert new.message.startswith("Unable to complete operation for new subnet.")
    routes = [HostRouteRequest("10.1.0.0/16", "10.0.0.1")] * 21
    update = refused(SubnetUpdate(host_routes=routes), resource_id="s-1")
    assert update.type == "HostRoutesExhausted"
    assert update.message == (
        "Unable to complete operation for s-1. The number of host routes exceeds the limit 20."
    )


def test_router_routes_are_capped() -> None:
    routes = [HostRouteRequest("10.1.0.0/16", "10.0.0.1")] * 31
    limits.check_request(RouterUpdate(routes=routes[:30]), DEFAULTS, resource_id="r")
    assert refused(RouterUpdate(routes=routes), resource_id="r").type == "RoutesExhausted"


def test_other_requests_have_no_counted_attributes() -> None:
    limits.check_request(NetworkCreate(name="n"), limits.Limits(max_fixed_ips_per_port=1))


@pytest.mark.parametrize("field", ["name", "description", "project_id"])
def test_strings_of_255_decode_and_256_are_a_400_quoting_the_value(field: str) -> None:
    decoder = msgspec.json.Decoder(NetworkCreate)
    assert getattr(decoder.decode(msgspec.json.encode({field: "a" * 255})), field) == "a" * 255
    body = msgspec.json.encode({field: "a" * 256})
    with pytest.raises(msgspec.ValidationError) as caught:
        decoder.decode(body)
    error = faults.bad_body(caught.value, body)
    assert error.message == (
        f"Invalid input for {field}. Reason: '{'a' * 256}' exceeds maximum length of 255."
    )


def test_a_string_in_a_bulk_item_or_a_list_names_its_top_level_attribute() -> None:
    decoder = msgspec.json.Decoder(list[PortCreate])
    body = msgspec.json.encode(
        [{"network_id": "n"}, {"network_id": "n", "tags": ["ok", "t" * 300]}]
    )
    with pytest.raises(msgspec.ValidationError) as caught:
        decoder.decode(body)
    error = faults.bad_body(caught.value, body)
    assert (error.type, error.message) == (
        "InvalidInput",
        f"Invalid input for operation: '{'t' * 300}' exceeds maximum length of 255.",
    )


def test_a_huge_value_is_quoted_cut() -> None:
    body = msgspec.json.encode({"device_id": "d" * 100_000, "network_id": "n"})
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.json.decode(body, type=PortCreate)
    message = faults.bad_body(caught.value, body).message
    assert message.startswith("Invalid input for device_id. Reason: 'ddd")
    assert message.endswith("...' exceeds maximum length of 255.")
    assert len(message) < 1200


def test_without_the_body_the_value_is_not_quoted() -> None:
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.json.decode(msgspec.json.encode({"name": "n" * 256}), type=NetworkCreate)
    assert faults.bad_body(caught.value).message == (
        "Invalid input for name. Reason: the value exceeds maximum length of 255."
    )


@pytest.mark.parametrize(
    "body", [b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b"}", b'{"name": "\xff"}']
)
def test_nesting_too_deep_and_bytes_not_utf8_are_malformed_bodies(body: bytes) -> None:
    with pytest.raises(faults.BODY_ERRORS) as caught:
        msgspec.json.decode(body, type=dict[str, object])
    error = faults.bad_body(caught.value, body)
    assert (error.status, error.message.split(":")[0]) == (400, "Malformed request body")
