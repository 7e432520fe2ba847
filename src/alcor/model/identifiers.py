"""Allocation of MAC addresses and segmentation ids (VNIs): pure, from in-memory used sets.

The store's unique constraints stay the last line against duplicates; these make the common
path a set lookup instead of a database round trip.
"""

from __future__ import annotations

import random
import re

from alcor.model import errors

MAC_PATTERN = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")


def normalize_mac(text: str) -> str:
    """A MAC as Neutron shows it (lower case, colons); InvalidInput if it is not one."""
    mac = text.strip().lower().replace("-", ":")
    if not MAC_PATTERN.match(mac):
        raise errors.InvalidInput(
            f"Invalid input for mac_address. Reason: '{text}' is not a valid MAC address."
        )
    octets = bytes.fromhex(mac.replace(":", ""))
    if octets[0] & 1 or octets == bytes(6):
        raise errors.InvalidInput(
            f"Invalid input for mac_address. Reason: '{text}' is not a valid unicast MAC address."
        )
    return mac


class MacAllocator:
    """Random MACs under a base prefix (``fa:16:3e`` by default), unique within one network."""

    ATTEMPTS = 16

    def __init__(self, base: str, used: set[str], *, rng: random.Random) -> None:
        prefix = [octet for octet in base.lower().split(":") if octet != "00"] or ["fa", "16", "3e"]
        self._prefix = bytes.fromhex("".join(prefix[:3]))
        self._used = used
        self._rng = rng

    def allocate(self, network_id: str) -> str:
        free = 6 - len(self._prefix)
        for _ in range(self.ATTEMPTS):
            mac = (self._prefix + self._rng.getrandbits(8 * free).to_bytes(free)).hex(":")
            if mac not in self._used:
                self._used.add(mac)
                return mac
        raise errors.MacAddressInUse(
            f"Unable to generate a unique MAC address on network {network_id}."
        )

    def claim(self, network_id: str, mac: str) -> None:
        if mac in self._used:
            raise errors.MacAddressInUse(
                f"Unable to complete operation for network {network_id}. "
                f"The mac address {mac} is in use."
            )
        self._used.add(mac)

    def release(self, mac: str) -> None:
        self._used.discard(mac)

    def mark(self, mac: str) -> None:
        """Note a MAC as used, whether or not it was (taken elsewhere: another process)."""
        self._used.add(mac)


class SegmentAllocator:
    """Segmentation ids from an inclusive range: the next free one after a moving cursor, so a
    released id is not handed out again at once. Exhausted only when every id is taken."""

    def __init__(self, first: int, last: int, used: set[int]) -> None:
        if not 0 < first <= last:
            raise ValueError(f"bad segment range {first}:{last}")
        self.first, self.last = first, last
        self._used = used
        self._taken = sum(1 for segment in used if self.in_range(segment))
        self._cursor = first

    def in_range(self, segment: int) -> bool:
        return self.first <= segment <= self.last

    def allocate(self) -> int:
        if self._taken > self.last - self.first:
            raise errors.NoNetworkAvailable(
                "Unable to create the network. No tenant network is available for allocation."
            )
        segment = self._cursor
        while segment in self._used:
            segment = segment + 1 if segment < self.last else self.first
        self._cursor = segment + 1 if segment < self.last else self.first
        self._take(segment)
        return segment

    def claim(self, segment: int) -> None:
        if segment in self._used:
            raise errors.Conflict(  # Neutron's ML2 VXLAN driver says it so
                f"Unable to create the network. The tunnel ID {segment} is in use.",
                type="TunnelIdInUse",
            )
        self._take(segment)

    def mark(self, segment: int) -> None:
        """Note a segment as used, whether or not it was (taken elsewhere: another process)."""
        if segment not in self._used:
            self._take(segment)

    def release(self, segment: int) -> None:
        if segment in self._used:
            self._used.discard(segment)
            self._taken -= self.in_range(segment)

    def _take(self, segment: int) -> None:
        self._used.add(segment)
        self._taken += self.in_range(segment)
