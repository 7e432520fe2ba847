"""A port's extra DHCP options (``model/dhcp_options``), pure: validation, the create's
duplicates, an update's merge."""

from __future__ import annotations

import pytest

from alcor.model import dhcp_options, errors
from alcor.model.records import DhcpOption
from alcor.model.requests import DhcpOptionRequest


def request(name: str, value: str | None, version: int | str | None = None) -> DhcpOptionRequest:
    if version is None:
        return DhcpOptionRequest(opt_name=name, opt_value=value)
    return DhcpOptionRequest(opt_name=name, opt_value=value, ip_version=version)


def test_created_options_default_to_ipv4_and_skip_null_values() -> None:
    made = dhcp_options.created(
        [request("bootfile-name", "pxe.0"), request("tftp-server", "::1", "6"), request("x", None)]
    )
    assert made == [DhcpOption("bootfile-name", "pxe.0", 4), DhcpOption("tftp-server", "::1", 6)]
    assert dhcp_options.created(None) == []


def test_the_same_name_and_version_twice_is_a_conflict_but_not_across_versions() -> None:
    with pytest.raises(errors.Conflict):
        dhcp_options.created([request("a", "1"), request("a", "2")])
    assert len(dhcp_options.created([request("a", "1"), request("a", "2", 6)])) == 2


def test_an_update_replaces_adds_and_removes_by_name_and_version() -> None:
    held = [DhcpOption("a", "1", 4), DhcpOption("b", "2", 4), DhcpOption("a", "3", 6)]
    merged = dhcp_options.merged(
        held, [request("a", None), request("b", "20"), request("c", "30", 6)]
    )
    assert merged == [DhcpOption("b", "20", 4), DhcpOption("a", "3", 6), DhcpOption("c", "30", 6)]
    assert dhcp_options.merged(held, None) == held
    assert dhcp_options.merged(held, [request("zz", None)]) == held


@pytest.mark.parametrize(
    "bad",
    [
        request("", "v"),
        request("n" * 65, "v"),
        request("a", ""),
        request("a", "v", 5),
        request("a", "v", "four"),
        request("a", "x\noption:router,10.0.0.66"),
        request("a\tb", "v"),
        request("a", "v\x7f"),
    ],
)
def test_bad_options_are_invalid_input(bad: DhcpOptionRequest) -> None:
    with pytest.raises(errors.InvalidInput, match="No valid key specs matched"):
        dhcp_options.created([bad])
    with pytest.raises(errors.InvalidInput):
        dhcp_options.merged([], [bad])
