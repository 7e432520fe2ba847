"""A trunk's subports as a request sends them: pure checks with Neutron's messages.

Neutron checks ``sub_ports`` in two places with the same rules (``validate_subports`` and the
trunk plugin's ``SubPortsValidator``): on create its API layer answers ``Invalid input for
sub_ports. Reason: ...``, on ``add_subports``/``remove_subports`` the plugin answers ``Invalid
input for operation: ...``; both are 400. A subport is a JSON object; keys it does not know are
ignored, and a segmentation id may be a numeric string (Neutron converts it).
"""

from __future__ import annotations

import uuid
from typing import Any

from alcor.model import errors
from alcor.model.records import SubPort

VLAN = "vlan"
SEGMENTATION_TYPES = (VLAN,)
VLAN_IDS = range(1, 4095)  # 1..4094
SUBPORT_OWNER = "trunk:subport"  # a subport's device_owner, as Neutron's trunk drivers set it
# A subport's ``binding:profile`` names its parent port and VLAN, as Neutron's OVN driver writes
# it (``parent_name``, ``tag``): the goal state carries them to the host (``goalstate/entries``).
PARENT_KEY = "parent_name"
TAG_KEY = "tag"


class Wanted:
    """A subport as asked: its port, and its segmentation when given (a removal needs none)."""

    def __init__(self, port_id: str, segmentation: tuple[str, int] | None) -> None:
        self.port_id = port_id
        self.segmentation = segmentation

    def subport(self) -> SubPort:
        assert self.segmentation is not None
        kind, number = self.segmentation
        return SubPort(port_id=self.port_id, segmentation_type=kind, segmentation_id=number)


def parse(sent: Any, *, on_create: bool, need_segmentation: bool = True) -> list[Wanted]:
    """``sent`` (the decoded JSON of ``sub_ports``) as subports, or Neutron's 400."""
    try:
        return _parse(sent, need_segmentation=need_segmentation)
    except _Refused as refused:
        if on_create and not refused.by_plugin:
            raise errors.InvalidInput(f"Invalid input for sub_ports. Reason: {refused}.") from None
        raise errors.InvalidInput(
            f"Invalid input for operation: {refused}.", type="InvalidInput"
        ) from None


class _Refused(Exception):
    """``by_plugin``: Neutron's trunk plugin refuses it, not its API layer (the message of a
    create then names the operation, not ``sub_ports``)."""

    def __init__(self, message: str, *, by_plugin: bool = False) -> None:
        super().__init__(message)
        self.by_plugin = by_plugin


def _parse(sent: Any, *, need_segmentation: bool) -> list[Wanted]:
    if not isinstance(sent, list):
        raise _Refused(f"Invalid data format for subports: '{sent!r}' is not a list")
    seen: set[str] = set()
    taken: set[tuple[str, int]] = set()
    wanted: list[Wanted] = []
    for item in sent:
        if not isinstance(item, dict):
            raise _Refused(f"Invalid data format for subport: '{item!r}' is not a dict")
        port_id = _port_id(item, seen)
        segmentation = _segmentation(item, need=need_segmentation)
        if segmentation is not None:
            if segmentation in taken:
                raise _Refused(f"Segmentation ID '{segmentation[1]}' for '{port_id}' is not unique")
            taken.add(segmentation)
        wanted.append(Wanted(port_id, segmentation))
    return wanted


def _port_id(item: dict[str, Any], seen: set[str]) -> str:
    if "port_id" not in item:
        raise _Refused("A valid port UUID must be specified")
    port_id = item["port_id"]
    if not _is_uuid(port_id):
        raise _Refused(f"Invalid UUID for subport: '{port_id}'")
    if port_id in seen:
        raise _Refused(f"Non unique UUID for subport: '{port_id}'")
    seen.add(port_id)
    return str(port_id)


def _segmentation(item: dict[str, Any], *, need: bool) -> tuple[str, int] | None:
    kind = item.get("segmentation_type")
    number = item.get("segmentation_id")
    if not kind or number is None:
        if need or len(item) > 1:
            raise _Refused(
                f"Invalid subport details '{item!r}': missing segmentation information. Must "
                "specify both segmentation_id and segmentation_type",
                by_plugin=len(item) == 1,
            )
        return None
    not_integer = _Refused(
        f"Invalid subport details: segmentation_id '{number}' is not an integer", by_plugin=True
    )
    if isinstance(number, bool) or not isinstance(number, int | str):
        raise not_integer
    try:
        converted = int(number)
    except ValueError:
        raise not_integer from None
    if kind not in SEGMENTATION_TYPES:
        raise _Refused(f"Unknown segmentation_type '{kind}'", by_plugin=True)
    if converted not in VLAN_IDS:
        raise _Refused(f"Segmentation ID '{converted}' is not in range", by_plugin=True)
    return str(kind), converted


def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def riding(profile: dict[str, Any]) -> tuple[str, int] | None:
    """The parent port and VLAN a port's ``binding:profile`` puts it on, if any."""
    parent, tag = profile.get(PARENT_KEY), profile.get(TAG_KEY)
    if not isinstance(parent, str) or not parent or isinstance(tag, bool):
        return None
    if not isinstance(tag, int) or tag not in VLAN_IDS:
        return None
    return parent, tag
