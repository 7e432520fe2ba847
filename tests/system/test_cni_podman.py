"""``alcor-cni`` under a real container runtime: Debian's podman (CNI backend) runs busybox
containers from a local image on two simulated nodes, each running its agent
(``--endpoint-mode netns``), on a network whose conflist names ``alcor-cni`` (the one file
``alcor.cni.bundle`` makes, as the deployment installs it) chained with Debian's ``tuning``.
A container gets its port's address, reaches a VM-style endpoint on its node, a container on
the other node and a VM across a router; the chained plugin acts on the ``prevResult`` alcor-cni
printed; removing the container deletes its port and its device.

The harness is ``alcor.lab.containers`` (see tests/system/test_containers.py); podman runs
under ``nsenter`` in the node's namespace, so the plugins run there too."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alcor.lab import containers
from tests.system.lab import Host, Lab, run, unusable

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(bool(unusable()), reason=f"system tests: {unusable()}"),
    pytest.mark.skipif(
        bool(containers.unusable()), reason=f"container tests: {containers.unusable()}"
    ),
]

OPEN = {"protocol": None}
TUNED = "net.ipv4.conf.eth0.arp_ignore"  # what the chained ``tuning`` sets in the container


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(tmp_path_factory.mktemp("podman-storage"))


@pytest.fixture
def podman(tmp_path: Path, storage: Path) -> Iterator[containers.Podman]:
    made = containers.Podman(tmp_path / "podman", storage=storage).init()
    run(sys.executable, "-m", "alcor.cni.bundle", str(made.plugins / "alcor-cni"))
    try:
        yield made
    finally:
        made.close()
        assert not made.listed()


def alcor_network(
    podman: containers.Podman, lab: Lab, host: Host, *, network: str, group: str
) -> str:
    """The conflist a node's runtime holds: alcor-cni, then ``tuning``; its name."""
    name = f"{host.id}-alcor"
    first: dict[str, Any] = {
        "type": "alcor-cni",
        "network": network,
        "api": lab.api_in(host),
        "agent_status": str(host.status_path),
        "state_dir": str(lab.tmp / f"cni-{host.name}"),
        "security_groups": [group],
        "daemon_socket": lab.cni_daemon(host),
    }
    podman.add_network(name, [first, {"type": "tuning", "sysctl": {TUNED: "1"}}])
    return name


def test_containers_on_an_alcor_network_reach_vms_and_each_other_and_their_removal_deletes_the_port(
    lab: Lab, podman: containers.Podman
) -> None:
    h1, h2 = lab.add_hosts("h1", "h2")
    net_a, net_b = lab.network(), lab.network()
    sub_a, sub_b = lab.subnet(net_a, "10.0.1.0/24"), lab.subnet(net_b, "10.0.2.0/24")
    lab.router(sub_a, sub_b)
    group = lab.group(OPEN)
    lab.port(sub_a, "10.0.1.11", h1, groups=[group])  # a VM on the containers' network
    lab.port(sub_b, "10.0.2.12", h2, groups=[group])  # a VM across the router

    on_h1 = alcor_network(podman, lab, h1, network=net_a, group=group)
    on_h2 = alcor_network(podman, lab, h2, network=net_a, group=group)
    c1 = podman.run(name=f"{lab.tag}-c1", network=on_h1, node=h1.ns)
    c2 = podman.run(name=f"{lab.tag}-c2", network=on_h2, node=h2.ns)

    (port,) = lab.call("GET", f"/ports?device_id={c1.id}")["ports"]
    assert port["status"] == "ACTIVE"
    assert port["binding:host_id"] == h1.id
    assert port["name"] == c1.name  # podman passes K8S_POD_NAME=<container name>
    (address_1,) = podman.addresses(c1)
    (address_2,) = podman.addresses(c2)
    assert address_1 == f"{port['fixed_ips'][0]['ip_address']}/24"

    for target in ("10.0.1.11", address_2.split("/")[0], "10.0.2.12"):
        assert podman.pings(c1, target), f"{c1.name} -> {target}"
    assert podman.pings(c2, address_1.split("/")[0])

    sandbox = podman.sandbox(c1)
    tuned = run("nsenter", f"--net={sandbox}", "sysctl", "-n", TUNED).stdout.strip()
    assert tuned == "1"  # tuning found eth0 in alcor-cni's prevResult and tuned it

    podman.remove(c1)
    assert lab.call("GET", f"/ports?device_id={c1.id}")["ports"] == []
    links = json.loads(run("ip", "-n", h1.ns, "-j", "link").stdout)
    assert "tap" + port["id"][:11] not in [link["ifname"] for link in links]
    assert podman.pings(c2, "10.0.1.11")
