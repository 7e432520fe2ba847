"""A port's extra DHCP options (``extra_dhcp_opt``), as Neutron validates and merges them.

An option is a name (dnsmasq's name, ``tftp-server``, or number, ``66``), a value and the IP
version it is for (4 unless said). A port holds at most one option per name and version: a
create naming one twice is a 409; an update merges into what the port holds, an option with a
null value removing the one of its name and version, the others replacing or adding.

One rule of ours beyond Neutron's: neither a name nor a value may hold a control character.
The host's dnsmasq reads options as lines of a file, so a newline in a value would give every
port of the network on that host an option of the tenant's choosing (a router, a DNS server).
"""

from __future__ import annotations

from collections.abc import Sequence

from alcor.model import errors
from alcor.model.records import DhcpOption
from alcor.model.requests import UNSET, DhcpOptionRequest

NAME_MAX = 64  # neutron-lib's DHCP_OPT_NAME_MAX_LEN; values are strings of at most 255
VERSIONS = (4, 6)


def created(requested: Sequence[DhcpOptionRequest] | None) -> list[DhcpOption]:
    """The options of a new port (those sent with a null value are no option at all)."""
    options: list[DhcpOption] = []
    for request in requested or ():
        option = _checked(request)
        if option is None:
            continue
        if any(_key(held) == _key(option) for held in options):
            raise errors.Conflict(
                "Failed to create a duplicate ExtraDhcpOpt: for attribute(s) ['port_id', "
                f"'opt_name', 'ip_version'] with value(s) {option.opt_name}, "
                f"{option.ip_version}",
                type="NeutronDbObjectDuplicateEntry",
            )
        options.append(option)
    return options


def merged(
    held: list[DhcpOption], requested: Sequence[DhcpOptionRequest] | None
) -> list[DhcpOption]:
    """A port's options after an update: each sent option replaces (or, with a null value,
    removes) the held one of its name and version, or is added."""
    options = {_key(option): option for option in held}
    for request in requested or ():
        version = _version(request)
        option = _checked(request)
        if option is None:
            options.pop((request.opt_name, version), None)
        else:
            options[_key(option)] = option
    return list(options.values())


def _key(option: DhcpOption) -> tuple[str, int]:
    return option.opt_name, option.ip_version


def _checked(request: DhcpOptionRequest) -> DhcpOption | None:
    """The option a request holds (None for a null value), or Neutron's 400."""
    version = _version(request)
    name, value = request.opt_name, request.opt_value
    if not name or len(name) > NAME_MAX or value == "" or _has_control(name, value):
        raise _invalid(request)
    return None if value is None else DhcpOption(name, value, version)


def _version(request: DhcpOptionRequest) -> int:
    version = request.ip_version
    if version is UNSET:
        return 4
    try:
        number = int(version)
    except ValueError:
        raise _invalid(request) from None
    if number not in VERSIONS:
        raise _invalid(request)
    return number


def _has_control(*texts: str | None) -> bool:
    return any(
        text is not None and any(ord(c) < 32 or ord(c) == 127 for c in text) for text in texts
    )


def _invalid(request: DhcpOptionRequest) -> errors.InvalidInput:
    shown = {"opt_name": request.opt_name, "opt_value": request.opt_value}
    if request.ip_version is not UNSET:
        shown["ip_version"] = str(request.ip_version)
    return errors.InvalidInput(
        f"Invalid input for operation: No valid key specs matched for: {shown}.",
        type="InvalidInput",
    )
