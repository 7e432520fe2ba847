"""The node's own port on each network its pods are on, so that the node reaches its pods
(kubelet's probes connect to a pod's address from the node's namespace), as Kube-OVN's
``ovn0`` and Cilium's ``cilium_host`` do.

The first ADD of a network on a node makes it: a port of that network (``device_owner``
``compute:kubernetes-node``, ``device_id`` the host id, named ``node/<host id>``, in the
configuration's security groups: by default the project's default group, whose members reach
each other), then its veth in the node's namespace (``links.plug_node``: ``alcor-<network:9>``
with the port's MAC, MTU and addresses, so the whole subnet is on-link and no default route
changes), then binds it to the node as a pod's port is, and waits until it is ACTIVE. Under a
lock per network (``<state dir>/node-locks/<network id>``), so ADDs at once make one. Once
seen in place, ``Known`` remembers it for the process's lifetime (the daemon's): later ADDs
ask the controller nothing more for it, only the kernel whether the interface is still there
(a node that rebooted, or whose interface someone deleted, gets it plugged again). DEL and GC
never touch it: it is no pod's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alcor.cni import addressing, links, locks
from alcor.cni.controller import Controller
from alcor.cni.errors import CniError
from alcor.cni.invocation import Config

OWNER = "compute:kubernetes-node"
NODE_TAG = "cni_node="  # as a pod's port made by this node carries
NAME = "node/"

Activated = Callable[[str], None]  # waits for a port to be ACTIVE; a CniError if not in time


class Known:
    """The (host, network) pairs whose node port this process found in place."""

    def __init__(self) -> None:
        self._pairs: set[tuple[str, str]] = set()

    def __contains__(self, pair: tuple[str, str]) -> bool:
        return pair in self._pairs

    def add(self, pair: tuple[str, str]) -> None:
        self._pairs.add(pair)


def ensure(
    controller: Controller,
    *,
    config: Config,
    host: str,
    network: dict[str, Any],
    groups: list[str] | None,
    known: Known,
    activated: Activated,
) -> None:
    """The node's port on ``network`` made, plugged, bound and ACTIVE; what this call made is
    undone when it fails."""
    pair = (host, str(network["id"]))
    device = links.node_device(network["id"])
    if pair in known and links.exists(device):
        return
    with locks.held(Path(config.state_dir) / "node-locks", network["id"]):
        if pair in known and links.exists(device):  # another ADD did it meanwhile
            return
        port = _existing(controller, host=host, network_id=network["id"])
        made = port is None
        port = port or _create(controller, config=config, host=host, network=network, groups=groups)
        tap = links.tap(port["id"])
        plugged = links.exists(device) and links.exists(tap)
        bound = plugged and port.get("binding:host_id") == host
        try:
            if not plugged:
                _plug(controller, port, network=network, device=device, tap=tap)
            if not bound:
                controller.put(f"/v2.0/ports/{port['id']}", {"port": {"binding:host_id": host}})
            if not bound or port.get("status") != "ACTIVE":
                _activated(activated, port["id"])
        except BaseException:
            if not plugged:
                with contextlib.suppress(CniError):
                    links.unplug(tap)
            if made:
                with contextlib.suppress(CniError):
                    controller.delete(f"/v2.0/ports/{port['id']}")
            raise
        known.add(pair)


def _activated(activated: Activated, port_id: str) -> None:
    try:
        activated(port_id)
    except CniError as error:
        raise CniError(error.code, f"the node's own {error.msg}", error.details) from None


def _plug(
    controller: Controller, port: dict[str, Any], *, network: dict[str, Any], device: str, tap: str
) -> None:
    """The port's veth made anew (a half of an earlier one removed first); a port bound before
    is unbound first, so that its binding again makes the agent attach the new device."""
    if port.get("binding:host_id"):
        controller.put(f"/v2.0/ports/{port['id']}", {"port": {"binding:host_id": ""}})
    links.unplug(device)
    links.unplug(tap)
    inside = addressing.looked_up(controller, port, network=network, ifname=device).inside
    links.plug_node(device=tap, label=links.node_alias(network["id"]), inside=inside)


def _existing(controller: Controller, *, host: str, network_id: str) -> dict[str, Any] | None:
    found = controller.get(
        "/v2.0/ports", device_owner=OWNER, device_id=host, network_id=network_id
    )["ports"]
    return dict(min(found, key=lambda port: port["id"])) if found else None


def _create(
    controller: Controller,
    *,
    config: Config,
    host: str,
    network: dict[str, Any],
    groups: list[str] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "network_id": network["id"],
        "name": f"{NAME}{host}",
        "device_id": host,
        "device_owner": OWNER,
        "tags": [f"{NODE_TAG}{host}"],
    }
    try:
        return controller.create_port(body, project=config.project, groups=groups)
    except CniError as error:
        why = f"cannot make the node's own port on network {network['id']}: {error.msg}"
        raise CniError(error.code, why, error.details) from None
