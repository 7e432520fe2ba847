"""A real container runtime: Debian's podman runs containers from a local busybox image on a
simulated node (a network namespace), on a network of Debian's own CNI plugins, ``bridge`` with
``host-local`` addresses. Each container gets its address and reaches the other; removing one
runs the plugins' DEL, which releases its address and its veth, as does a chained plugin's
failure. A plugin of the test's own (in ``podman.plugins``) is called in the node's namespace
with the bridge's result as its ``prevResult``. ``alcor.lab.containers`` is the harness; the
``alcor-cni`` tests follow this one, with their plugin in ``podman.plugins``.

Every name a test makes begins with its own tag (``t1a2b3c``): the node's namespace, the network
and its bridge. The fixture removes the containers and the namespace whatever the test did; the
storage (the imported image) is shared by the module's tests."""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import ip_interface, ip_network
from pathlib import Path

import pytest

from alcor.lab import containers, errors, namespaces
from tests.system.lab import run, unusable

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(bool(unusable()), reason=f"system tests: {unusable()}"),
    pytest.mark.skipif(
        bool(containers.unusable()), reason=f"container tests: {containers.unusable()}"
    ),
]

SUBNET = "198.51.100.0/24"

# A plugin of the test's own: it writes down how it was called, and passes prevResult on.
RECORDER = """\
import json, os, sys
config = json.load(sys.stdin)
if os.environ["CNI_COMMAND"] == "VERSION":  # asked with no configuration of ours
    print(json.dumps({"cniVersion": "1.0.0", "supportedVersions": ["0.4.0", "1.0.0"]}))
    sys.exit()
called = {"command": os.environ["CNI_COMMAND"], "netns": os.environ.get("CNI_NETNS"),
          "args": os.environ.get("CNI_ARGS"), "in": os.readlink("/proc/self/ns/net"),
          "config": config}
with open(config["record"], "a") as record:
    record.write(json.dumps(called) + "\\n")
if called["command"] == "ADD":
    print(json.dumps(config["prevResult"]))
"""


@dataclass
class Node:
    """A simulated node: its namespace ``ns``, and podman configured for this test."""

    tag: str
    ns: str
    podman: containers.Podman
    leases: Path  # host-local's files: one per address given out

    def bridge_network(self, *plugins: dict[str, object]) -> str:
        """The network ``<tag>-net``: a bridge ``br-<tag>`` in the node, addresses from
        host-local, then ``plugins`` chained after them; its name."""
        name = f"{self.tag}-net"
        bridge = {
            "type": "bridge",
            "bridge": f"br-{self.tag}",
            "isGateway": True,
            "ipam": {
                "type": "host-local",
                "ranges": [[{"subnet": SUBNET}]],
                "dataDir": str(self.leases),
            },
        }
        self.podman.add_network(name, [bridge, *plugins])
        return name

    def leased(self, network: str) -> set[str]:
        """The addresses host-local has given out on ``network``."""
        folder = self.leases / network
        return {path.name for path in folder.glob("*") if path.name[0].isdigit()}

    def veths(self) -> list[str]:
        """The host ends of the containers' veth pairs, in the node."""
        shown = run("ip", "-n", self.ns, "-o", "link", "show", "type", "veth").stdout
        return [line.split(":")[1].strip().split("@")[0] for line in shown.splitlines()]


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One storage for the module's tests: the image is imported once."""
    return Path(tmp_path_factory.mktemp("podman-storage"))


@pytest.fixture
def node(tmp_path: Path, storage: Path) -> Iterator[Node]:
    tag = "t" + secrets.token_hex(3)
    made = Node(
        tag=tag,
        ns=f"{tag}-node",
        podman=containers.Podman(tmp_path / "podman", storage=storage).init(),
        leases=tmp_path / "leases",
    )
    try:
        run("ip", "netns", "add", made.ns)
        run("ip", "-n", made.ns, "link", "set", "lo", "up")
        yield made
    finally:
        try:
            made.podman.close()
        finally:
            namespaces.remove(f"{tag}-")
        assert not made.podman.listed()


def test_two_containers_on_a_bridge_get_addresses_and_reach_each_other(node: Node) -> None:
    network = node.bridge_network()
    a = node.podman.run(name=f"{node.tag}-a", network=network, node=node.ns)
    b = node.podman.run(name=f"{node.tag}-b", network=network, node=node.ns)

    (address_a,) = node.podman.addresses(a)
    (address_b,) = node.podman.addresses(b)
    assert ip_interface(address_a).network == ip_network(SUBNET)
    assert ip_interface(address_b).network == ip_network(SUBNET)
    assert address_a != address_b
    assert node.leased(network) == {address_a.split("/")[0], address_b.split("/")[0]}

    assert node.podman.pings(a, address_b.split("/")[0])
    assert node.podman.pings(b, address_a.split("/")[0])

    # the plugins ran in the node: its bridge is there, with a veth for each container
    assert run("ip", "-n", node.ns, "link", "show", f"br-{node.tag}", check=False).returncode == 0
    assert run("ip", "link", "show", f"br-{node.tag}", check=False).returncode != 0
    assert len(node.veths()) == 2


def test_removal_runs_del_which_releases_the_address_and_the_veth(node: Node) -> None:
    network = node.bridge_network()
    a = node.podman.run(name=f"{node.tag}-a", network=network, node=node.ns)
    b = node.podman.run(name=f"{node.tag}-b", network=network, node=node.ns)
    (address_b,) = node.podman.addresses(b)
    sandbox_a = node.podman.sandbox(a)
    assert Path(sandbox_a).exists()

    node.podman.remove(a)

    assert node.leased(network) == {address_b.split("/")[0]}
    assert len(node.veths()) == 1
    assert not Path(sandbox_a).exists()
    assert node.podman.listed() == [b.name]

    node.podman.remove(b)

    assert node.leased(network) == set()
    assert node.veths() == []


def test_a_plugin_failing_after_the_bridge_leaves_no_container_address_or_veth(
    node: Node,
) -> None:
    failing = {"type": "tuning", "sysctl": {"net.ipv4.conf.eth0.no_such_setting": "1"}}
    network = node.bridge_network(failing)

    with pytest.raises(errors.CommandFailed, match="no_such_setting"):
        node.podman.run(name=f"{node.tag}-a", network=network, node=node.ns)

    # the bridge and host-local had done their ADD: podman's DEL undid it
    assert (node.leases / network / "last_reserved_ip.0").exists()
    assert node.leased(network) == set()
    assert node.veths() == []
    assert node.podman.listed() == []


def test_a_plugin_of_the_tests_own_is_chained_with_prevresult_in_the_nodes_namespace(
    node: Node,
) -> None:
    plugin = node.podman.plugins / "recorder"
    plugin.write_text(f"#!{sys.executable}\n{RECORDER}")
    plugin.chmod(0o755)
    record = node.leases.parent / "recorder.jsonl"
    network = node.bridge_network({"type": "recorder", "record": str(record)})

    a = node.podman.run(name=f"{node.tag}-a", network=network, node=node.ns)
    (address,) = node.podman.addresses(a)
    sandbox = node.podman.sandbox(a)
    node.podman.remove(a)

    calls = [json.loads(line) for line in record.read_text().splitlines()]
    (add,) = [call for call in calls if call["command"] == "ADD"]
    (delete,) = [call for call in calls if call["command"] == "DEL"]
    node_ns = f"net:[{os.stat(f'/run/netns/{node.ns}').st_ino}]"
    for call in (add, delete):
        assert call["in"] == node_ns
        assert call["netns"] == sandbox
        assert f"K8S_POD_NAME={a.name}" in call["args"].split(";")
        assert call["config"]["prevResult"]["ips"][0]["address"] == address
