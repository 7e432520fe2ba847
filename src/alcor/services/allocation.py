"""In-memory allocation state: free addresses per subnet, MACs per network, segment ids.

Owned by the store's writer: every method is called from inside a write (``Writer``), loads
what it needs from the store on first use, and registers the inverse of each change with
``Writer.on_rollback``, so a failed request gives back exactly what it took. The database's
unique constraints remain the last line against duplicates.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Sequence

from alcor.model import errors
from alcor.model.identifiers import MacAllocator, SegmentAllocator
from alcor.model.ipam import IPAddress, SubnetAddresses
from alcor.model.records import Network, Port, Subnet
from alcor.store.interface import Change, Writer


class Allocations:
    def __init__(
        self, *, mac_base: str, segment_range: tuple[int, int], rng: random.Random
    ) -> None:
        self._mac_base = mac_base
        self._segment_range = segment_range
        self._rng = rng
        self._subnets: dict[str, SubnetAddresses] = {}
        self._macs: dict[str, MacAllocator] = {}
        self._segments: SegmentAllocator | None = None

    def follow_others(self, changes: Sequence[Change] | None) -> None:
        """Take into account what other processes' writes took and gave back (None: forget
        everything, it is loaded again): the addresses and MACs of their ports, the segment ids
        of their networks; a subnet they changed, or in which a port of theirs took other
        addresses by an update, is loaded again. An address a port of theirs let go by an update
        that took none in its place stays taken here (the log shows the port after, not before):
        wasted until the pool is read again, which a request refused for it causes; never
        handed out twice."""
        if changes is None:
            self._subnets.clear()
            self._macs.clear()
            self._segments = None
            return
        for change in changes:
            record, gone = change.record, change.operation == "delete"
            if isinstance(record, Port):
                self._follow_port(record, operation=change.operation)
            elif isinstance(record, Subnet):
                self._subnets.pop(record.id, None)
            elif isinstance(record, Network):
                if gone:
                    self._macs.pop(record.id, None)
                self._follow_segment(record, gone=gone)

    def _follow_port(self, port: Port, *, operation: str) -> None:
        gone = operation == "delete"
        macs = self._macs.get(port.network_id)
        if macs is not None:
            if gone:
                macs.release(port.mac_address)
            else:
                macs.mark(port.mac_address)
        for fixed_ip in port.fixed_ips:
            pool = self._subnets.get(fixed_ip.subnet_id)
            if pool is None:
                continue
            address = ipaddress.ip_address(fixed_ip.ip_address)
            try:
                if gone and pool.is_allocated(address):
                    pool.release(address)
                elif operation == "update" and not pool.is_allocated(address):
                    # its addresses changed: the ones it let go are not in the log, read again
                    self._subnets.pop(fixed_ip.subnet_id, None)
                elif not gone and not pool.is_allocated(address):
                    pool.claim(address)
            except (errors.AlcorError, ValueError):  # not what this pool knows: read it again
                self._subnets.pop(fixed_ip.subnet_id, None)

    def _follow_segment(self, network: Network, *, gone: bool) -> None:
        segments, segment = self._segments, network.segmentation_id
        if segments is None or network.network_type != "vxlan" or segment is None:
            return
        if gone:
            segments.release(segment)
        else:
            segments.mark(segment)

    # --- addresses ------------------------------------------------------------------

    def addresses(self, writer: Writer, subnet: Subnet) -> SubnetAddresses:
        pool = self._subnets.get(subnet.id)
        if pool is None:
            cidr = ipaddress.ip_network(subnet.cidr)
            ranges = [
                (ipaddress.ip_address(p.start), ipaddress.ip_address(p.end))
                for p in subnet.allocation_pools
            ]
            used = [ipaddress.ip_address(ip) for ip in writer.allocated_ips(subnet.id)]
            gateway = ipaddress.ip_address(subnet.gateway_ip) if subnet.gateway_ip else None
            pool = SubnetAddresses(
                cidr,
                ranges,
                used=used,
                gateway=gateway,
                subnet_id=subnet.id,
                network_id=subnet.network_id,
            )
            self._subnets[subnet.id] = pool
        return pool

    def allocate_ip(self, writer: Writer, subnet: Subnet) -> IPAddress:
        pool = self.addresses(writer, subnet)
        try:
            address = pool.allocate()
        except errors.IpAddressGenerationFailure:
            self._read_again(subnet.id)
            raise
        writer.on_rollback(lambda: pool.release(address))
        return address

    def claim_ip(self, writer: Writer, subnet: Subnet, address: IPAddress) -> None:
        pool = self.addresses(writer, subnet)
        try:
            pool.claim(address)
        except errors.IpAddressAlreadyAllocated:
            self._read_again(subnet.id)
            raise
        writer.on_rollback(lambda: pool.release(address))

    def _read_again(self, subnet_id: str) -> None:
        """After a refusal, the subnet's pool is read from the store by the next request: an
        address another process freed by an update may be free there (not within this work:
        addresses it took are not in the store yet)."""
        self._subnets.pop(subnet_id, None)

    def release_ip(self, writer: Writer, subnet: Subnet, address: IPAddress) -> None:
        pool = self.addresses(writer, subnet)
        pool.release(address)
        writer.on_rollback(lambda: pool.claim(address))

    def forget_subnet(self, writer: Writer, subnet_id: str) -> None:
        """Drop a subnet's cached state (deleted, or its pools changed); reloaded on next use."""
        pool = self._subnets.pop(subnet_id, None)
        if pool is not None:
            writer.on_rollback(lambda: self._subnets.__setitem__(subnet_id, pool))

    # --- MAC addresses ----------------------------------------------------------------

    def _mac_allocator(self, writer: Writer, network_id: str) -> MacAllocator:
        allocator = self._macs.get(network_id)
        if allocator is None:
            used = set(writer.macs_in_network(network_id))
            allocator = MacAllocator(self._mac_base, used, rng=self._rng)
            self._macs[network_id] = allocator
        return allocator

    def allocate_mac(self, writer: Writer, network_id: str) -> str:
        allocator = self._mac_allocator(writer, network_id)
        mac = allocator.allocate(network_id)
        writer.on_rollback(lambda: allocator.release(mac))
        return mac

    def claim_mac(self, writer: Writer, network_id: str, mac: str) -> None:
        allocator = self._mac_allocator(writer, network_id)
        allocator.claim(network_id, mac)
        writer.on_rollback(lambda: allocator.release(mac))

    def release_mac(self, writer: Writer, network_id: str, mac: str) -> None:
        allocator = self._mac_allocator(writer, network_id)
        allocator.release(mac)
        writer.on_rollback(lambda: allocator.claim(network_id, mac))

    def forget_network(self, writer: Writer, network_id: str) -> None:
        allocator = self._macs.pop(network_id, None)
        if allocator is not None:
            writer.on_rollback(lambda: self._macs.__setitem__(network_id, allocator))

    # --- segmentation ids -------------------------------------------------------------

    def _segment_allocator(self, writer: Writer) -> SegmentAllocator:
        if self._segments is None:
            first, last = self._segment_range
            self._segments = SegmentAllocator(first, last, set(writer.used_segments("vxlan")))
        return self._segments

    def allocate_segment(self, writer: Writer) -> int:
        allocator = self._segment_allocator(writer)
        segment = allocator.allocate()
        writer.on_rollback(lambda: allocator.release(segment))
        return segment

    def claim_segment(self, writer: Writer, segment: int) -> None:
        allocator = self._segment_allocator(writer)
        allocator.claim(segment)
        writer.on_rollback(lambda: allocator.release(segment))

    def release_segment(self, writer: Writer, segment: int) -> None:
        allocator = self._segment_allocator(writer)
        allocator.release(segment)
        writer.on_rollback(lambda: allocator.claim(segment))
