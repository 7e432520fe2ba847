"""Whether a port's security groups admit traffic from or to a peer, and by which rules
(``services.tracing``'s verdicts): by remote prefix, remote group or remote address group, the
peer's IP version, and optionally one protocol and port."""

from __future__ import annotations

import ipaddress

import msgspec

from alcor.model import records
from alcor.services import traces
from alcor.services.holding import Facts

PROTOCOLS = {"icmp": 1, "tcp": 6, "udp": 17, "ipv6-icmp": 58, "icmpv6": 58, "sctp": 132}
_PORTED = {"6", "17", "132"}  # protocols whose rules may name ports


def version(address: str) -> int:
    """The IP version of an address (0: not an address)."""
    try:
        return ipaddress.ip_address(address).version
    except ValueError:
        return 0


class RuleMatch(msgspec.Struct, frozen=True, kw_only=True):
    facts: Facts
    protocol: str | None
    port_number: int | None

    def allowance(
        self, port: records.Port, direction: str, peer: str, peer_groups: set[str]
    ) -> traces.Allowance:
        if not port.port_security_enabled:
            return traces.Allowance(
                direction=direction,
                port_id=port.id,
                allowed=True,
                port_security=False,
                rules=[],
                groups=[],
            )
        groups = set(port.security_groups)
        rules = sorted(
            rule.id
            for rule in self.facts.rules
            if rule.security_group_id in groups
            and rule.direction == direction
            and self.admits(rule, peer, peer_groups)
        )
        return traces.Allowance(
            direction=direction,
            port_id=port.id,
            allowed=bool(rules),
            port_security=True,
            rules=rules,
            groups=list(port.security_groups),
        )

    def admits(self, rule: records.SecurityGroupRule, peer: str, peer_groups: set[str]) -> bool:
        peer_version = version(peer)
        if peer_version and rule.ethertype != f"IPv{peer_version}":
            return False
        if not self._protocol_admits(rule):
            return False
        if rule.remote_group_id:
            return rule.remote_group_id in peer_groups
        if rule.remote_address_group_id:
            group = self.facts.address_groups.get(rule.remote_address_group_id)
            return group is not None and any(_within(peer, cidr) for cidr in group.addresses)
        if rule.remote_ip_prefix:
            return _within(peer, rule.remote_ip_prefix)
        return True

    def _protocol_admits(self, rule: records.SecurityGroupRule) -> bool:
        if self.protocol is None or rule.protocol in (None, "", "any"):
            return True
        wanted = _protocol_number(self.protocol)
        if _protocol_number(rule.protocol) != wanted:
            return False
        if self.port_number is None or rule.port_range_min is None or wanted not in _PORTED:
            return True
        top = rule.port_range_max if rule.port_range_max is not None else rule.port_range_min
        return rule.port_range_min <= self.port_number <= top


def _protocol_number(protocol: str | None) -> str:
    """A protocol as its number's text (``tcp`` and ``6`` alike)."""
    text = (protocol or "").lower()
    return str(PROTOCOLS.get(text, text))


def _within(address: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def known_protocol(protocol: str) -> bool:
    """Whether a trace may ask about ``protocol`` (a name above, or a number)."""
    return protocol in PROTOCOLS or protocol.isdigit()
