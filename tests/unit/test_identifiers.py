"""MAC and segmentation-id allocation: unique, within bounds, exhausted cleanly, reusable."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alcor.model import errors
from alcor.model.identifiers import MacAllocator, SegmentAllocator, normalize_mac


def test_macs_carry_the_base_prefix_and_never_repeat_within_a_network() -> None:
    allocator = MacAllocator("fa:16:3e:00:00:00", set(), rng=random.Random(7))
    macs = [allocator.allocate("net") for _ in range(5000)]
    assert len(set(macs)) == 5000
    assert all(mac.startswith("fa:16:3e:") and len(mac) == 17 for mac in macs)


def test_a_claimed_mac_is_refused_until_released() -> None:
    allocator = MacAllocator("fa:16:3e:00:00:00", set(), rng=random.Random(1))
    allocator.claim("net", "fa:16:3e:00:00:01")
    with pytest.raises(errors.MacAddressInUse):
        allocator.claim("net", "fa:16:3e:00:00:01")
    allocator.release("fa:16:3e:00:00:01")
    allocator.claim("net", "fa:16:3e:00:00:01")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("FA:16:3E:AA:BB:CC", "fa:16:3e:aa:bb:cc"), ("fa-16-3e-aa-bb-cc", "fa:16:3e:aa:bb:cc")],
)
def test_macs_are_normalized(text: str, expected: str) -> None:
    assert normalize_mac(text) == expected


@pytest.mark.parametrize(
    "text", ["", "fa:16:3e:aa:bb", "zz:16:3e:aa:bb:cc", "01:00:5e:00:00:01", "00:00:00:00:00:00"]
)
def test_invalid_or_multicast_macs_are_refused(text: str) -> None:
    with pytest.raises(errors.InvalidInput):
        normalize_mac(text)


def test_segments_come_from_the_range_until_it_is_exhausted() -> None:
    allocator = SegmentAllocator(10, 14, {12})
    assert sorted(allocator.allocate() for _ in range(4)) == [10, 11, 13, 14]
    with pytest.raises(errors.NoNetworkAvailable):
        allocator.allocate()
    allocator.release(11)
    assert allocator.allocate() == 11


def test_an_admin_chosen_segment_outside_the_range_does_not_use_up_the_range() -> None:
    allocator = SegmentAllocator(1, 2, set())
    allocator.claim(500)
    assert sorted([allocator.allocate(), allocator.allocate()]) == [1, 2]
    with pytest.raises(errors.Conflict):
        allocator.claim(500)


@given(st.lists(st.tuples(st.booleans(), st.integers(1, 40)), max_size=200))
def test_segments_are_never_handed_out_twice(operations: list[tuple[bool, int]]) -> None:
    allocator = SegmentAllocator(1, 32, set())
    held: set[int] = set()
    for allocate, value in operations:
        if allocate:
            try:
                segment = allocator.allocate()
            except errors.NoNetworkAvailable:
                assert len(held & set(range(1, 33))) == 32
                continue
            assert segment not in held
            assert 1 <= segment <= 32
            held.add(segment)
        elif value in held:
            allocator.release(value)
            held.discard(value)
