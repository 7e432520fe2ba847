"""Network MTU rules (``model/mtus``), pure: what a segment carries, what a request may ask,
what subnets need."""

from __future__ import annotations

import pytest

from alcor.model import errors, mtus


def test_a_vxlan_segment_carries_the_physical_mtu_less_its_overhead() -> None:
    assert mtus.maximum("vxlan", physical_mtu=1500) == 1450
    assert mtus.maximum("vxlan", physical_mtu=9000) == 8950
    assert mtus.maximum("flat", physical_mtu=1500) == 1500


def test_a_request_is_kept_zero_is_the_most_and_more_is_refused() -> None:
    assert mtus.check_requested(67, most=1450) == 67
    assert mtus.check_requested(0, most=1450) == 1450
    assert mtus.check_requested(1450, most=1450) == 1450
    with pytest.raises(errors.InvalidInput, match="maximum is 1450"):
        mtus.check_requested(1451, most=1450)
    with pytest.raises(errors.InvalidInput, match="non-negative"):
        mtus.check_requested(-1, most=1450)


@pytest.mark.parametrize(
    ("mtu", "versions", "needed"),
    [
        (67, [4], 68),
        (67, [6], 68),  # Neutron checks the IPv4 minimum first, for any subnet
        (1279, [6], 1280),
        (1279, [4, 6], 1280),
        (0, [4], 68),
    ],
)
def test_subnets_need_their_minimum(mtu: int, versions: list[int], needed: int) -> None:
    with pytest.raises(errors.Conflict, match=f"requires a minimum of {needed}") as caught:
        mtus.check_subnets("n", mtu, versions)
    assert caught.value.type == "NetworkMTUSubnetConflict"


@pytest.mark.parametrize(("mtu", "versions"), [(67, []), (68, [4]), (1279, [4]), (1280, [6])])
def test_what_subnets_can_take_passes(mtu: int, versions: list[int]) -> None:
    mtus.check_subnets("n", mtu, versions)
