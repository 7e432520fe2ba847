"""Internal DNS with real packets: an endpoint given its address, DNS server and domain by its
host's dnsmasq (``--endpoint-addressing dhcp``) resolves an endpoint on another simulated host
by its ``dns_name``, short and fully qualified, and pings it by that name; a renamed port
answers under its new name only. The controller runs with ``--dns-domain example.org``
(under Neutron's default, ``openstacklocal``, ports keep no name)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.lab import Host, Lab, eventually, run, unusable

MISSING = [tool for tool in ("dnsmasq", "busybox") if shutil.which(tool) is None]
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(bool(unusable()), reason=f"system tests: {unusable()}"),
    pytest.mark.skipif(
        bool(MISSING), reason=f"DNS tests need {', '.join(MISSING)} (dnsmasq-base, busybox)"
    ),
]

CONTROLLER_OPTIONS = ("--dns-domain", "example.org")  # the lab's controller (conftest)
OPEN = ({"protocol": None},)
STATE_ROOT = Path("/run/alcor-agent")
NETNS_ETC = Path("/etc/netns")  # what `ip netns exec NS` mounts over /etc (resolv.conf)


def _lease(host: Host, port_id: str) -> dict[str, str]:
    path = STATE_ROOT / host.id / "endpoints" / port_id / "lease"
    text = path.read_text() if path.exists() else ""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def _lookup(ns: str, name: str) -> list[str]:
    """The addresses busybox's nslookup in ``ns`` is given for ``name`` by the namespace's
    name server (its resolv.conf's, from the lease)."""
    done = run("ip", "netns", "exec", ns, "busybox", "nslookup", name, check=False, timeout=15)
    answers = done.stdout.split("Name:", 1)[1] if "Name:" in done.stdout else ""
    return [line.split()[-1] for line in answers.splitlines() if line.startswith("Address")]


@pytest.fixture
def resolv_confs() -> Iterator[list[Path]]:
    """The /etc/netns/<ns> folders a test makes, removed after it whatever happens."""
    made: list[Path] = []
    yield made
    for folder in made:
        shutil.rmtree(folder, ignore_errors=True)
    if NETNS_ETC.exists() and not any(NETNS_ETC.iterdir()):
        NETNS_ETC.rmdir()


def test_an_endpoint_resolves_and_pings_another_host_by_name(
    lab: Lab, resolv_confs: list[Path]
) -> None:
    h1, h2 = lab.add_hosts("h1", "h2", args=("--endpoint-addressing=dhcp",))
    net = lab.network()
    sub = lab.subnet(net, "10.0.1.0/24")
    group = lab.group(*OPEN)
    outbound = lab.group()  # egress only: the server's answers pass as replies
    a1 = lab.port(sub, "10.0.1.11", h1, groups=[outbound], dns_name="alpha")
    b2 = lab.port(sub, "10.0.1.12", h2, groups=[group], dns_name="Beta")
    unnamed = lab.port(sub, "10.0.1.13", h2, groups=[group])
    ns = h1.endpoint(a1)

    # the DHCP server hands out the domain and itself as the name server
    lease = eventually(lambda: _lease(h1, a1), what="a1's lease")
    assert lease["ip"] == "10.0.1.11/24"
    assert (lease["dns"].strip(), lease["domain"]) == ("169.254.169.254", "example.org")
    folder = NETNS_ETC / ns
    folder.mkdir(parents=True)
    resolv_confs.append(folder)
    (folder / "resolv.conf").write_text(
        f"nameserver {lease['dns'].strip()}\nsearch {lease['domain']}\n"
    )

    # h1's server answers for a port on h2: short name, FQDN, generated name
    assert _lookup(ns, "beta.example.org") == ["10.0.1.12"]
    assert _lookup(ns, "beta") == ["10.0.1.12"]
    assert _lookup(ns, "host-10-0-1-13.example.org") == ["10.0.1.13"]
    assert _lookup(ns, "nobody.example.org") == []
    hosts = run("ip", "netns", "exec", ns, "getent", "hosts", "beta").stdout.split()
    assert hosts[:2] == ["10.0.1.12", "beta.example.org"]
    assert lab.ping(ns, "beta")
    assert lab.ping(ns, "beta.example.org")
    assert unnamed

    # renamed: the new name answers, the old one no more (on every host of the network)
    lab.call("PUT", f"/ports/{b2}", {"port": {"dns_name": "gamma"}})
    eventually(lambda: _lookup(ns, "gamma") == ["10.0.1.12"], what="gamma resolved")
    assert _lookup(ns, "beta") == []
    assert lab.ping(ns, "gamma")
    names = (STATE_ROOT / h2.id / "dhcp" / net / "names").read_text()
    assert "10.0.1.12 gamma.example.org gamma\n" in names
