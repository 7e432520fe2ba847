"""A namespace's ``ip`` batch lines -> the rtnetlink requests ``ip`` would send for them (pure).

``netlinking`` sends these on a socket opened inside the namespace instead of starting an
``ip -n NS -batch`` process per namespace (a few milliseconds each: the cost that kept endpoints
plugged per second under 200). The lines stay what planning renders and what the logs and the
failures show; this module reads the few forms planning writes for a namespace (its devices'
settings, addresses, routes, neighbor entries and their removals) and gives the request of
each, with the fields ``ip`` 6.1 sets (``route replace``: table main, protocol ``boot``, scope
link without a gateway; ``addr replace``: local and address, ``nodad``; ``neigh replace``:
``nud permanent``). A line in any other form makes ``translate`` answer None: that batch runs as
an ``ip`` process, as before.

pyroute2 (0.7, the synchronous series; its message classes) does the encoding and the reading
of the replies; devices are named in the lines and given by index in the requests, resolved in
the namespace when the requests are sent (``encode``: a device that is not there fails its line
with ``ip``'s message).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST
from pyroute2.netlink.rtnl import (
    RTM_DELADDR,
    RTM_DELNEIGH,
    RTM_DELROUTE,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWNEIGH,
    RTM_NEWROUTE,
)
from pyroute2.netlink.rtnl.ifaddrmsg import IFA_F_NODAD, ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.marshal import MarshalRtnl
from pyroute2.netlink.rtnl.ndmsg import NUD_PERMANENT, ndmsg
from pyroute2.netlink.rtnl.rtmsg import RTNH_F_ONLINK, rtmsg

from alcor.agent.drivers.linux import planning

IFF_UP = 0x1
RT_TABLE_MAIN = 254
RTPROT_BOOT = 3  # what ``ip route`` sets
RT_SCOPE_UNIVERSE, RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_NOWHERE = 0, 254, 253, 255
RTN_UNICAST = 1
ADDR_GEN_MODE = {"eui64": 0, "none": 1}
_REPLACING = NLM_F_CREATE | NLM_F_REPLACE


@dataclass(frozen=True, slots=True)
class Request:
    """One line's request: ``message`` (a pyroute2 class) of ``kind`` with ``fields`` and
    ``attrs``; ``devices`` are the fields or attributes that hold a device's index, by name."""

    line: planning.Line
    kind: int
    message: Callable[[], Any]
    flags: int = 0  # beyond NLM_F_REQUEST | NLM_F_ACK
    fields: tuple[tuple[str, Any], ...] = ()
    attrs: tuple[tuple[str, Any], ...] = ()
    devices: tuple[tuple[str, str], ...] = ()


class Unknown(ValueError):
    """A line this module does not translate."""


def translate(lines: list[planning.Line]) -> list[Request] | None:
    """The requests of a namespace's batch, in its order; None if a line is in a form not
    known here (the batch then runs as an ``ip`` process)."""
    try:
        return [request(line) for line in lines]
    except Unknown:
        return None


def request(line: planning.Line) -> Request:
    words = line.text.split()
    build = _VERBS.get((words[0], words[1])) if len(words) > 1 else None
    if build is None:
        raise Unknown(line.text)
    try:
        return build(line, words[2:])
    except (KeyError, IndexError, ValueError) as error:
        raise Unknown(line.text) from error


def _options(words: list[str], *, flags: tuple[str, ...] = ()) -> tuple[str, dict[str, str]]:
    """``A key value key value flag ...`` -> (A, {key: value, flag: ""}); ``dev X`` first is
    ``X`` when there is no other leading word."""
    first = words[0] if words and words[0] != "dev" else ""
    rest = words[1:] if first else words
    found: dict[str, str] = {}
    position = 0
    while position < len(rest):
        word = rest[position]
        if word in flags:
            found[word] = ""
            position += 1
        else:
            found[word] = rest[position + 1]
            position += 2
    return first, found


def _link_set(line: planning.Line, words: list[str]) -> Request:
    _, options = _options(words, flags=("up", "down", "nomaster"))
    allowed = {"dev", "addrgenmode", "master", "nomaster", "mtu", "address", "up", "down"}
    if set(options) - allowed or "dev" not in options:
        raise Unknown(line.text)
    fields: list[tuple[str, Any]] = []
    attrs: list[tuple[str, Any]] = []
    devices = [("index", options["dev"])]
    if "addrgenmode" in options:
        mode = ADDR_GEN_MODE[options["addrgenmode"]]
        inet6 = {"attrs": [("IFLA_INET6_ADDR_GEN_MODE", mode)]}
        attrs.append(("IFLA_AF_SPEC", {"attrs": [("AF_INET6", inet6)]}))
    if "nomaster" in options:
        attrs.append(("IFLA_MASTER", 0))
    if "master" in options:
        devices.append(("IFLA_MASTER", options["master"]))
    if "mtu" in options:
        attrs.append(("IFLA_MTU", int(options["mtu"])))
    if "address" in options:
        attrs.append(("IFLA_ADDRESS", options["address"].lower()))
    if "up" in options or "down" in options:
        fields += [("change", IFF_UP), ("flags", IFF_UP if "up" in options else 0)]
    return Request(
        line,
        RTM_NEWLINK,
        ifinfmsg,
        fields=tuple(fields),
        attrs=tuple(attrs),
        devices=tuple(devices),
    )


def _addr(kind: int, flags: int) -> Callable[[planning.Line, list[str]], Request]:
    def build(line: planning.Line, words: list[str]) -> Request:
        cidr, options = _options(words, flags=("nodad",))
        if set(options) - {"dev", "nodad"} or (kind == RTM_DELADDR and "nodad" in options):
            raise Unknown(line.text)
        interface = ipaddress.ip_interface(cidr)
        local = str(interface.ip)
        v4 = interface.version == 4
        fields = [
            ("family", socket.AF_INET if v4 else socket.AF_INET6),
            ("prefixlen", interface.network.prefixlen),
            ("flags", IFA_F_NODAD if "nodad" in options else 0),
            ("scope", RT_SCOPE_HOST if v4 and interface.ip.is_loopback else RT_SCOPE_UNIVERSE),
        ]
        attrs = [("IFA_LOCAL", local)]
        if kind == RTM_NEWADDR:
            attrs.append(("IFA_ADDRESS", local))
        return Request(
            line,
            kind,
            ifaddrmsg,
            flags=flags,
            fields=tuple(fields),
            attrs=tuple(attrs),
            devices=(("index", options["dev"]),),
        )

    return build


def _route_replace(line: planning.Line, words: list[str]) -> Request:
    destination, options = _options(words, flags=("onlink",))
    if set(options) - {"via", "dev", "onlink"}:
        raise Unknown(line.text)
    network = ipaddress.ip_network(destination)
    gateway = options.get("via", "")
    if gateway and ipaddress.ip_address(gateway).version != network.version:
        raise Unknown(line.text)
    attrs: list[tuple[str, Any]] = [("RTA_DST", str(network.network_address))]
    if gateway:
        attrs.append(("RTA_GATEWAY", gateway))
    fields = [
        *_route_fields(network),
        ("proto", RTPROT_BOOT),
        ("scope", RT_SCOPE_UNIVERSE if gateway or network.version == 6 else RT_SCOPE_LINK),
        ("type", RTN_UNICAST),
        ("flags", RTNH_F_ONLINK if "onlink" in options else 0),
    ]
    devices = (("RTA_OIF", options["dev"]),) if "dev" in options else ()
    return Request(
        line,
        RTM_NEWROUTE,
        rtmsg,
        flags=_REPLACING,
        fields=tuple(fields),
        attrs=tuple(attrs),
        devices=devices,
    )


def _route_del(line: planning.Line, words: list[str]) -> Request:
    destination, options = _options(words)
    if options:
        raise Unknown(line.text)
    network = ipaddress.ip_network(destination)
    return Request(
        line,
        RTM_DELROUTE,
        rtmsg,
        fields=(*_route_fields(network), ("scope", RT_SCOPE_NOWHERE)),
        attrs=(("RTA_DST", str(network.network_address)),),
    )


def _route_fields(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[tuple[str, Any]]:
    family = socket.AF_INET if network.version == 4 else socket.AF_INET6
    return [("family", family), ("dst_len", network.prefixlen), ("table", RT_TABLE_MAIN)]


def _neigh(kind: int) -> Callable[[planning.Line, list[str]], Request]:
    def build(line: planning.Line, words: list[str]) -> Request:
        address, options = _options(words)
        known = {"dev", "lladdr", "nud"} if kind == RTM_NEWNEIGH else {"dev"}
        if set(options) - known or options.get("nud", "permanent") != "permanent":
            raise Unknown(line.text)
        ip = ipaddress.ip_address(address)
        attrs: list[tuple[str, Any]] = [("NDA_DST", str(ip))]
        if kind == RTM_NEWNEIGH:
            attrs.append(("NDA_LLADDR", options["lladdr"].lower()))
        return Request(
            line,
            kind,
            ndmsg,
            flags=_REPLACING if kind == RTM_NEWNEIGH else 0,
            fields=(
                ("family", socket.AF_INET if ip.version == 4 else socket.AF_INET6),
                ("state", NUD_PERMANENT),
            ),
            attrs=tuple(attrs),
            devices=(("ifindex", options["dev"]),),
        )

    return build


_VERBS: Mapping[tuple[str, str], Callable[[planning.Line, list[str]], Request]] = {
    ("link", "set"): _link_set,
    ("addr", "replace"): _addr(RTM_NEWADDR, _REPLACING),
    ("addr", "del"): _addr(RTM_DELADDR, 0),
    ("route", "replace"): _route_replace,
    ("route", "del"): _route_del,
    ("neigh", "replace"): _neigh(RTM_NEWNEIGH),
    ("neigh", "del"): _neigh(RTM_DELNEIGH),
}


# --- on the wire -----------------------------------------------------------------------------


def devices(requests: list[Request]) -> set[str]:
    """The devices the requests name (to be resolved to indexes in their namespace)."""
    return {name for request in requests for _, name in request.devices}


def missing(request: Request, indexes: Mapping[str, int]) -> str:
    """Why the request cannot be sent as ``ip`` would say it (a device that is not there), or ''."""
    for _, name in request.devices:
        if name not in indexes:
            return f'Cannot find device "{name}"'
    return ""


def encode(
    request: Request, *, sequence: int, indexes: Mapping[str, int], ack: bool = True
) -> bytes:
    """The request as bytes, its devices given by index (all in ``indexes``: see ``missing``).
    Without ``ack`` the kernel answers only if it fails (it carries out the requests of one
    send in order, so one acknowledged last says the others are done)."""
    message = request.message()
    for name, value in request.fields:
        message[name] = value
    attrs = list(request.attrs)
    for where, name in request.devices:
        if where.isupper():  # an attribute
            attrs.append((where, indexes[name]))
        else:
            message[where] = indexes[name]
    message["attrs"] = attrs
    header = message["header"]
    header["type"] = request.kind
    header["flags"] = NLM_F_REQUEST | (NLM_F_ACK if ack else 0) | request.flags
    header["sequence_number"] = sequence
    message.encode()
    return bytes(message.data)


class Replies:
    """Reads the kernel's answers: (sequence number, '' or why it failed) per acknowledgement."""

    def __init__(self) -> None:
        self._marshal = MarshalRtnl()

    def read(self, data: bytes) -> list[tuple[int, str]]:
        found = []
        for message in self._marshal.parse(data):
            error = message["header"].get("error")
            found.append((message["header"]["sequence_number"], _why(error)))
        return found


def _why(error: Any) -> str:
    """An error as ``ip`` says it (``RTNETLINK answers: ...``), with the kernel's own words
    (extended acknowledgement) when it gave some."""
    if error is None:
        return ""
    code = int(getattr(error, "code", 0))
    if not code:  # a reply pyroute2 could not decode
        return f"netlink: {error}"
    text = f"RTNETLINK answers: {os.strerror(code)}"
    said = str(error.args[1]) if len(error.args) > 1 else ""
    return f"{text}: {said}" if said and said != os.strerror(code) else text
