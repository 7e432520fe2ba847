"""The six commands. Each ADD, DEL and CHECK of a container holds its lock (a file in the state
directory), so a runtime that retries ADD after a timeout finds the port the first one made
instead of making a second.

ADD: the port (``device_id`` the container, ``device_owner`` ``compute:kubernetes``, named
``<namespace>/<pod>``, tagged with the pod and the interface name) is made unbound, the pod's
interface from it, then the port is bound to the node: the agent finds the device at its first
goal state. ADD answers once the port is ACTIVE (within ``active_timeout``); whatever fails
undoes what it made: no port, no device, nothing in the pod's namespace. Before the pod's port,
ADD makes sure the node has its own port on the network (``node_ports``; unless the
configuration's ``node_access`` is false), which DEL and GC never touch. Only an ADD whose
container's lock file was there already (an earlier ADD or CHECK; DEL removes it) asks the
controller for the container's port: the first ADD of a container, the usual one, saves that
request; and the network, its subnets and named groups come from ``controller.Recent``.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alcor.cni import addressing, links, locks, node_ports, results
from alcor.cni.controller import Controller, NotFound
from alcor.cni.errors import (
    INVALID_CONFIG,
    MISMATCH,
    NOT_AVAILABLE,
    TRY_AGAIN_LATER,
    UNKNOWN_CONTAINER,
    CniError,
)
from alcor.cni.invocation import Config, Container

OWNER = "compute:kubernetes"
IFNAME_TAG = "cni_ifname="
NODE_TAG = "cni_node="  # the node that made it, for GC of a port never bound (ADD cut short)
NAMESPACE_TAG = "k8s_namespace="
POD_TAG = "k8s_pod="
AGENT_STALE = 30.0  # seconds: an agent status file older than this is an agent that is gone
POLL = 0.005  # seconds between two looks at the port's status, for its first second ...
POLL_LATER = 0.05  # ... and after
UUID = re.compile(r"[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}")


Waiter = Callable[[str, float], bool]  # (port id, timeout): whether it became ACTIVE in time


def add(
    config: Config,
    container: Container,
    controller: Controller,
    *,
    waiter: Waiter | None = None,
    known: node_ports.Known | None = None,
) -> dict[str, Any]:
    """``waiter``: how to wait for the port to be ACTIVE (the daemon's looks at every port
    its ADDs wait for in one request); by default, polling this one. ``known``: the node
    ports this process found in place (the daemon's, kept across ADDs); by default none."""
    try:
        return _add(config, container, controller, waiter=waiter, known=known or node_ports.Known())
    except BaseException:
        controller.recent.forget()  # what it looked up may be why it failed
        raise


def _add(
    config: Config,
    container: Container,
    controller: Controller,
    *,
    waiter: Waiter | None,
    known: node_ports.Known,
) -> dict[str, Any]:
    host = node(config)
    wait = waiter or (lambda port_id, timeout: _poll_active(controller, port_id, timeout))

    def activated(port_id: str) -> None:
        _activated(controller, port_id, host=host, timeout=config.active_timeout, wait=wait)

    with _locked(config, container) as before:
        network = _network(controller, config.network)
        groups = _groups(controller, config)
        if config.node_access:
            node_ports.ensure(
                controller,
                config=config,
                host=host,
                network=network,
                groups=groups,
                known=known,
                activated=activated,
            )
        port = _existing(controller, container) if before else None
        again = port is not None
        if port is not None and port.get("binding:host_id"):  # a repeated ADD: plug it anew
            port = controller.put(f"/v2.0/ports/{port['id']}", {"port": {"binding:host_id": ""}})
            port = dict(port["port"])
        port = port or _create(
            controller,
            host=host,
            config=config,
            container=container,
            network=network,
            groups=groups,
        )
        device = links.tap(port["id"])
        try:
            plan = addressing.looked_up(controller, port, network=network, ifname=container.ifname)
            links.plug(
                device=device,
                label=links.alias(container.id, container.ifname),
                netns=container.netns,
                inside=plan.inside,
                again=again,
            )
            if port.get("binding:host_id") != host:
                controller.put(f"/v2.0/ports/{port['id']}", {"port": {"binding:host_id": host}})
            activated(port["id"])
        except BaseException:
            with contextlib.suppress(CniError):
                links.unplug(device)
            with contextlib.suppress(CniError):
                controller.delete(f"/v2.0/ports/{port['id']}")
            raise
        return results.added(config.version, device=device, netns=container.netns, plan=plan)


def delete(config: Config, container: Container, controller: Controller) -> None:
    """Idempotent: a port or namespace already gone is not an error."""
    with _locked(config, container, forget=True):
        for port in _ports_of(controller, container):
            controller.delete(f"/v2.0/ports/{port['id']}")
            links.unplug(links.tap(port["id"]))
        label = links.alias(container.id, container.ifname)
        for device, found in links.strays().items():
            if found == label:  # its port was deleted by someone else
                links.unplug(device)


def check(config: Config, container: Container, controller: Controller) -> None:
    with _locked(config, container):
        port = _existing(controller, container)
        if port is None:
            raise CniError(UNKNOWN_CONTAINER, f"container {container.id} has no port")
        device = links.tap(port["id"])
        if port.get("status") != "ACTIVE":
            raise CniError(MISMATCH, f"port {port['id']} is {port.get('status')}, not ACTIVE")
        if not links.up(device):
            raise CniError(MISMATCH, f"the pod's device {device} on the node is missing or down")
        network = _network(controller, port["network_id"])
        wanted = addressing.looked_up(
            controller, port, network=network, ifname=container.ifname
        ).inside
        found = links.read(container.netns, container.ifname)
        if found is None:
            raise CniError(MISMATCH, f"the pod has no interface {container.ifname}")
        for what in ("mac", "mtu"):
            if getattr(found, what) != getattr(wanted, what):
                raise CniError(
                    MISMATCH,
                    f"{container.ifname}'s {what} is {getattr(found, what)}, "
                    f"its port's {getattr(wanted, what)}",
                )
        missing = set(wanted.addresses) - set(found.addresses)
        if missing:
            raise CniError(
                MISMATCH, f"{container.ifname} lacks its port's {', '.join(sorted(missing))}"
            )


def status(config: Config) -> None:
    """Ready when the node's agent is connected to a controller (its status file says so, and
    is fresh)."""
    host = node(config)
    try:
        document = json.loads(Path(config.agent_status).read_text())
        age = time.time() - float(document.get("updated", 0))
        connected = bool(document["hosts"][host]["connected"])
        last_error = str(document["hosts"][host].get("last_error") or "")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CniError(
            NOT_AVAILABLE,
            f"no status of host {host!r}'s agent in {config.agent_status}",
            str(error),
        ) from None
    if age > AGENT_STALE:
        raise CniError(
            NOT_AVAILABLE, f"host {host!r}'s agent has not written its status for {age:.0f} s"
        )
    if not connected:
        raise CniError(
            NOT_AVAILABLE, f"host {host!r}'s agent is not connected to a controller", last_error
        )


def gc(config: Config, controller: Controller) -> None:
    """Delete this node's pod ports (bound to it, or made by it and never bound: an ADD cut
    short), and their devices, whose attachment is not a valid one."""
    host = node(config)
    valid = set(config.valid_attachments)
    kept = set()
    bound = controller.get("/v2.0/ports", device_owner=OWNER, **{"binding:host_id": host})
    made = controller.get("/v2.0/ports", device_owner=OWNER, tags=f"{NODE_TAG}{host}")
    ports = {port["id"]: port for port in [*bound["ports"], *made["ports"]]}
    for port in ports.values():
        if (port["device_id"], _ifname(port)) in valid:
            kept.add(links.tap(port["id"]))
            continue
        controller.delete(f"/v2.0/ports/{port['id']}")
        links.unplug(links.tap(port["id"]))
    for device, label in links.strays().items():
        _, container_id, ifname = [*label.split(":", 2), "", ""][:3]
        if device not in kept and (container_id, ifname) not in valid:
            links.unplug(device)


def node(config: Config) -> str:
    """The host id: the configuration's, else the one the node's agent runs as."""
    if config.host_id:
        return config.host_id
    try:
        hosts = list(json.loads(Path(config.agent_status).read_text())["hosts"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CniError(
            TRY_AGAIN_LATER,
            f"no 'host_id' in the configuration and no agent status in {config.agent_status}",
            str(error),
        ) from None
    if len(hosts) != 1:
        raise CniError(
            INVALID_CONFIG,
            f"{config.agent_status} holds {len(hosts)} hosts: give 'host_id'",
        )
    return str(hosts[0])


def _network(controller: Controller, wanted: str) -> dict[str, Any]:
    """By id, else by name."""
    if _uuid(wanted):
        try:
            return dict(controller.remembered(f"/v2.0/networks/{wanted}")["network"])
        except NotFound:
            pass
    return _named(controller, "network", "networks", name=wanted)


def _groups(controller: Controller, config: Config) -> list[str] | None:
    """The ids of the configuration's groups (names looked up in its project, if it has one)."""
    if config.security_groups is None:
        return None
    project = {"project_id": config.project} if config.project else {}
    return [
        wanted
        if _uuid(wanted)
        else _named(controller, "security group", "security-groups", name=wanted, **project)["id"]
        for wanted in config.security_groups
    ]


def _named(controller: Controller, what: str, collection: str, **query: str) -> dict[str, Any]:
    """The one resource of ``collection`` the query finds: none or several is error 7."""
    found = controller.remembered(f"/v2.0/{collection}", **query)[collection.replace("-", "_")]
    if len(found) != 1:
        many = f"names {len(found)} of them: give its id"
        raise CniError(INVALID_CONFIG, f"{what} {query['name']!r} {many if found else 'not found'}")
    return dict(found[0])


def _create(
    controller: Controller,
    *,
    host: str,
    config: Config,
    container: Container,
    network: dict[str, Any],
    groups: list[str] | None,
) -> dict[str, Any]:
    tags = [f"{IFNAME_TAG}{container.ifname}", f"{NODE_TAG}{host}"]
    name = container.id[:12]
    if container.pod_name:
        name = container.pod_name
        tags.append(f"{POD_TAG}{container.pod_name}")
    if container.pod_namespace:
        name = f"{container.pod_namespace}/{name}"
        tags.append(f"{NAMESPACE_TAG}{container.pod_namespace}")
    body: dict[str, Any] = {
        "network_id": network["id"],
        "name": name,
        "device_id": container.id,
        "device_owner": OWNER,
        "tags": tags,
    }
    return controller.create_port(body, project=config.project, groups=groups)


def _ports_of(controller: Controller, container: Container) -> list[dict[str, Any]]:
    found = controller.get("/v2.0/ports", device_id=container.id, device_owner=OWNER)["ports"]
    return [port for port in found if _ifname(port) == container.ifname]


def _existing(controller: Controller, container: Container) -> dict[str, Any] | None:
    found = _ports_of(controller, container)
    return dict(found[0]) if found else None


def _ifname(port: dict[str, Any]) -> str:
    for tag in port.get("tags", ()):
        if tag.startswith(IFNAME_TAG):
            return str(tag[len(IFNAME_TAG) :])
    return ""


def _activated(
    controller: Controller, port_id: str, *, host: str, timeout: float, wait: Waiter
) -> None:
    if not wait(port_id, timeout):
        status = controller.get(f"/v2.0/ports/{port_id}", fields="status")["port"]
        raise CniError(
            TRY_AGAIN_LATER,
            f"port {port_id} was not ACTIVE on host {host!r} within {timeout:g} s",
            f"its status: {status['status']}",
        )


def _poll_active(controller: Controller, port_id: str, timeout: float) -> bool:
    """Polled: every 5 ms in the first second (an agent programs a port in tens of
    milliseconds; each look is one small GET), every 50 ms after."""
    started = time.monotonic()
    while True:
        seen = controller.get(f"/v2.0/ports/{port_id}", fields="status")["port"]["status"]
        if seen == "ACTIVE":
            return True
        waited = time.monotonic() - started
        pause = POLL if waited < 1.0 else POLL_LATER
        if waited + pause > timeout:
            return False
        time.sleep(pause)


def _locked(
    config: Config, container: Container, *, forget: bool = False
) -> contextlib.AbstractContextManager[bool]:
    """The container's lock (``<state dir>/locks/<container id>``), and whether an invocation
    for this container held it before; ``forget``: remove it when done (DEL)."""
    return locks.held(Path(config.state_dir) / "locks", container.id, forget=forget)


def _uuid(text: str) -> bool:
    return UUID.fullmatch(text) is not None
