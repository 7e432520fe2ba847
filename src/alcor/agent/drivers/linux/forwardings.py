"""The nftables table of a floating IP's port forwarding, on its router's gateway host.

What arrives on the gateway leg for the floating IP on the forwarded protocol and external
ports is DNATed in the router's namespace (``prerouting``, at ``dstnat``, as a floating IP's
own table) to the internal address:

- external and internal ranges alike (``80:80`` -> ``80:80``, ``200:210`` -> ``200:210``):
  the address only, the port kept;
- many external ports to one internal port (1-N): the address and that port;
- equal ranges at another offset (N-N): the address and the port mapped from the external one.

The reply of a forwarded connection is translated back by conntrack (it is not a new
connection, so neither the router's SNAT nor any floating IP's applies to it), whichever host's
router namespace sent it here over the transit leg. A table per forwarding, replaced whole.
"""

from __future__ import annotations

from alcor.v1 import southbound_pb2 as pb


def table(forwarding_id: str) -> str:
    return f"ip alcor_pf_{forwarding_id.replace('-', '_')}"


def destination(forwarding: pb.PortForwarding) -> str:
    """Where a forwarded packet goes: the nftables ``dnat`` target."""
    address = forwarding.internal_ip_address
    external = (forwarding.external_port_start, forwarding.external_port_end)
    internal = (forwarding.internal_port_start, forwarding.internal_port_end)
    if external == internal:
        return address
    if internal[0] == internal[1]:
        return f"{address}:{internal[0]}"
    offset = internal[0] - external[0]
    pairs = ", ".join(f"{port} : {port + offset}" for port in range(external[0], external[1] + 1))
    return f"{address} : {forwarding.protocol} dport map {{ {pairs} }}"


def dnat_table(forwarding: pb.PortForwarding, device: str) -> str:
    """The table that forwards what arrives on ``device`` (the gateway leg)."""
    first, last = forwarding.external_port_start, forwarding.external_port_end
    ports = str(first) if first == last else f"{first}-{last}"
    return (
        f"table {table(forwarding.id)} {{\n"
        "  chain prerouting {\n"
        "    type nat hook prerouting priority dstnat; policy accept;\n"
        f'    iifname "{device}" ip daddr {forwarding.floating_ip_address} '
        f"{forwarding.protocol} dport {ports} dnat ip to {destination(forwarding)}\n"
        "  }\n"
        "}\n"
    )
