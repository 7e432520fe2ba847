"""The linux driver (``alcor agent --driver linux``): the host's goal state programmed into the
kernel with VXLAN, Linux bridges, namespaces, static forwarding/neighbor entries and nftables.

::

    names       what the driver calls devices and namespaces (15-character device names),
                and how it tells its own from the rest
    kernel      kernel objects as values (identity + attributes)
    layouts     pure: goal-state entry -> the kernel objects it wants
    dhcp        pure: the DHCP servers (dnsmasq per network) and clients (udhcpc per endpoint)
    nft         pure: security groups -> an nftables ruleset -> one transaction
    planning    pure: held vs wanted objects -> operations -> ordered ip/bridge batches
    observing   pure: iproute2/nft JSON -> kernel objects
    executing   runs the ip/bridge/nft commands (``Processes``), and its fake (``InMemory``)
    supervising keeps daemons running in namespaces (``Processes``), and its fake (``InMemory``)
    driver      ``LinuxDriver``: the Driver protocol; reconcile, update, failures

The agent runs in the host's network namespace and needs ``ip``/``bridge`` (iproute2), ``nft``
(nftables), for router namespaces ``sysctl`` (procps), for DHCP ``dnsmasq`` (dnsmasq-base) and,
with ``--endpoint-addressing dhcp``, ``busybox`` (its ``udhcpc``): without them the networks'
DHCP servers (the ports' clients) fail, saying why, and the rest works. Simulated hosts in tests are
namespaces: run the agent with ``nsenter --net=/run/netns/HOST``, not ``ip netns exec HOST``,
which gives the agent a mount namespace of its own, so the namespaces it makes under
``/run/netns`` would not be seen (or usable) outside it.
"""

from __future__ import annotations

import shutil

from alcor.agent.drivers.linux import supervising
from alcor.agent.drivers.linux.driver import LinuxDriver
from alcor.agent.drivers.linux.executing import Processes
from alcor.agent.drivers.linux.layouts import ENDPOINT_ADDRESSING, ENDPOINT_MODES, HostSettings

TOOLS = ("ip", "bridge", "nft", "sysctl")  # without dnsmasq/busybox, DHCP fails (says why)

__all__ = [
    "ENDPOINT_ADDRESSING",
    "ENDPOINT_MODES",
    "HostSettings",
    "LinuxDriver",
    "create",
    "missing_tools",
]


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def create(host: HostSettings) -> LinuxDriver:
    """The driver programming this machine's kernel."""
    return LinuxDriver(host, Processes(), supervising.Processes(host.state))
