"""The pure parts of ``alcor.lab.containers``: whether a machine can run containers, telling a
static executable from a dynamic one, the image's root filesystem, podman's configuration files,
and reading a container's addresses."""

from __future__ import annotations

import struct
import tarfile
import tomllib
from pathlib import Path

import pytest

from alcor.lab import containers, errors

PT_LOAD = 1


def elf(path: Path, *kinds: int) -> Path:
    """A 64-bit little-endian ELF header whose program headers are of these kinds."""
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", header, 0x20, 64)  # the program headers follow the header
    struct.pack_into("<HH", header, 0x36, 56, len(kinds))
    table = b"".join(struct.pack("<I", kind) + bytes(52) for kind in kinds)
    path.write_bytes(bytes(header) + table)
    return path


def test_an_executable_with_a_program_interpreter_is_not_static(tmp_path: Path) -> None:
    assert containers.static(elf(tmp_path / "static", PT_LOAD, PT_LOAD))
    assert not containers.static(elf(tmp_path / "dynamic", PT_LOAD, containers.PT_INTERP))


def test_what_is_not_a_whole_elf_executable_is_not_static(tmp_path: Path) -> None:
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    truncated = elf(tmp_path / "truncated", PT_LOAD, PT_LOAD)
    truncated.write_bytes(truncated.read_bytes()[:100])
    assert not containers.static(script)
    assert not containers.static(truncated)


def test_a_machine_without_root_or_podman_cannot_run_containers() -> None:
    assert containers.unusable(euid=lambda: 1000) == "podman's CNI networks need root"
    gone = {"podman", "nsenter"}
    missing = containers.unusable(euid=lambda: 0, which=lambda tool: None if tool in gone else tool)
    assert missing == (
        "needs podman, nsenter "
        "(apt-get install podman runc containernetworking-plugins busybox-static)"
    )


def fake_busybox(tmp_path: Path, applets: str) -> Path:
    busybox = tmp_path / "busybox"
    busybox.write_text(f"#!/bin/sh\nprintf '%s\\n' busybox {applets}\n")
    busybox.chmod(0o755)
    return busybox


def test_the_root_filesystem_is_busybox_with_a_link_for_each_applet(tmp_path: Path) -> None:
    busybox = fake_busybox(tmp_path, "cat ip ping sh sleep [")
    containers.root_filesystem(busybox, tmp_path / "root.tar")

    with tarfile.open(tmp_path / "root.tar") as tar:
        members = {member.name: member for member in tar.getmembers()}
        copied = tar.extractfile("bin/busybox")
        assert copied is not None
        assert copied.read() == busybox.read_bytes()
    links = {name: member.linkname for name, member in members.items() if member.issym()}
    assert links == {
        f"bin/{applet}": "busybox" for applet in ("cat", "ip", "ping", "sh", "sleep", "[")
    }
    assert {name for name, member in members.items() if member.isdir()} == {
        "bin", "dev", "etc", "proc", "sys", "tmp"
    }  # fmt: skip


def test_a_busybox_without_the_applets_the_tests_use_is_refused(tmp_path: Path) -> None:
    busybox = fake_busybox(tmp_path, "cat sh")
    with pytest.raises(errors.Unusable, match="has no ip, ping, sleep"):
        containers.root_filesystem(busybox, tmp_path / "root.tar")


def test_podman_is_configured_in_the_callers_folders_only(tmp_path: Path) -> None:
    podman = containers.Podman(tmp_path / "a", storage=tmp_path / "shared").init()

    conf = tomllib.loads(podman.containers_conf.read_text())
    assert conf["network"] == {
        "network_backend": "cni",
        "network_config_dir": str(tmp_path / "a" / "networks"),
        "cni_plugin_dirs": [str(tmp_path / "a" / "plugins"), "/usr/lib/cni"],
    }
    assert conf["engine"]["runtime"] == "runc"
    assert conf["engine"]["tmp_dir"] == str(tmp_path / "shared" / "tmp")
    assert tomllib.loads(podman.storage_conf.read_text())["storage"] == {
        "driver": "vfs",
        "graphroot": str(tmp_path / "shared" / "graph"),
        "runroot": str(tmp_path / "shared" / "run"),
    }
    environment = podman.environment()
    assert environment["CONTAINERS_CONF"] == str(podman.containers_conf)
    assert environment["CONTAINERS_STORAGE_CONF"] == str(podman.storage_conf)


def test_a_network_is_a_conflist_named_after_it(tmp_path: Path) -> None:
    podman = containers.Podman(tmp_path, plugins=tmp_path / "mine").init()
    path = podman.add_network("n1", [{"type": "bridge"}, {"type": "tuning"}])

    assert path == tmp_path / "networks" / "n1.conflist"
    assert tomllib.loads(podman.containers_conf.read_text())["network"]["cni_plugin_dirs"][0] == (
        str(tmp_path / "mine")
    )
    assert path.read_text().startswith('{\n  "cniVersion": "1.0.0",\n  "name": "n1",')
    podman.remove_network("n1")
    assert not path.exists()


def test_a_containers_addresses_are_read_from_busyboxs_ip_without_link_local_ones() -> None:
    shown = (
        "3: eth0    inet 198.51.100.7/24 scope global eth0\\       valid_lft forever\n"
        "3: eth0    inet6 2001:db8::7/64 scope global flags 02 \\       valid_lft forever\n"
        "3: eth0    inet6 fe80::64f9:f3ff:fe1e:a50e/64 scope link \\       valid_lft forever\n"
    )
    assert containers.global_addresses(shown) == ["198.51.100.7/24", "2001:db8::7/64"]
