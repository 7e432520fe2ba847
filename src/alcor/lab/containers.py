"""Containers under a real runtime: Debian's podman as root, with the CNI network backend, run on
a simulated node (a network namespace) for the tests and benchmarks of CNI plugins.

Each ``Podman`` has a configuration of its own under the caller's folder: no file of
/etc/containers sets anything for it, and it writes nothing under /var/lib/containers but
podman's blob cache (``cache/``), so parallel test workers do not meet:

    <folder>/containers.conf   given as CONTAINERS_CONF: the CNI backend, the networks' folder,
                               the plugins' folders, cgroupfs, runc, events to a file
    <folder>/storage.conf      given as CONTAINERS_STORAGE_CONF: the storage below, driver vfs
    <folder>/networks/         the conflists (``add_network``)
    <folder>/plugins/          where a test puts plugins of its own, searched before /usr/lib/cni
    <folder>/podman            a script running podman so, for a person looking at a failed test
    <storage>/{graph,run,tmp}  images, containers and podman's state: several ``Podman`` may
                               share one (``storage=``), and so the image, imported once

What podman needs on this machine, and why (each found by trying):
- ``nsenter --net=/run/netns/<node>``, not ``ip netns exec``: the latter remounts /sys in a
  mount namespace of its own, where the cgroups are not mounted and runc fails. Under
  ``nsenter`` podman, and so every CNI plugin it calls, runs in the node's namespace; the
  container's namespace it makes is bound under /run/netns (``netns-<uuid>``), seen by all.
- runc, not crun: crun 1.8 refuses hybrid cgroups (v1 with a controller in the v2 hierarchy).
  ``cgroup_manager = "cgroupfs"``: there is no systemd. Events go to a file of ours.
- Small fixed rlimits: podman asks for RLIMIT_NOFILE 1048576 and an RLIMIT_NPROC above what it
  leaves itself, and a root without CAP_SYS_RESOURCE (a sandbox) cannot raise them.
- The vfs storage driver: it works on any filesystem (overlay does not on overlayfs), and the
  image is one 2 MB file, so copying it per container costs nothing.
- Removal with ``--time 0``: the container's ``sleep`` (pid 1) ignores SIGTERM, and podman would
  wait 10 s for it before SIGKILL. Removal calls the plugins' DEL, last plugin first.
- Conflists of cniVersion 1.0.0 at most: podman 4.3's libcni passes a 1.1.0 one to the plugins
  but fails on their 1.1.0 result. It gives chained plugins their ``prevResult`` (ADD and DEL),
  calls VERSION on every plugin of every conflist in the folder before each command, and sets
  ``CNI_ARGS`` to ``IgnoreUnknown=1;K8S_POD_NAME=<container name>``; it never calls CHECK,
  STATUS or GC. A conflist naming a plugin that is in neither folder is left out whole (podman
  warns and the network is "not found"). libcni's result cache is /var/lib/cni/results (an
  entry per container, removed with it).

The image: the static busybox of this machine (Debian's busybox-static) with a link for each of
its applets in /bin, imported with ``podman import``; no registry is reached.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import tarfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alcor.lab import commands, errors

TOOLS = ("podman", "runc", "conmon", "nsenter", "busybox")
PACKAGES = "podman runc containernetworking-plugins busybox-static"
SYSTEM_PLUGINS = Path("/usr/lib/cni")  # Debian's containernetworking-plugins
NETNS = Path("/run/netns")
CNI_VERSION = "1.0.0"  # the newest whose results podman 4.3 reads
APPLETS = ("sh", "cat", "ip", "ping", "sleep")  # what the tests use, at least
SLEEP = ("sleep", "3600")  # a container's command unless told: it waits to be removed
TIMEOUT = 60.0
PT_INTERP = 3  # an ELF program header naming a dynamic loader


@dataclass(frozen=True)
class Container:
    """A container podman runs: on ``network``, started in the namespace of ``node``."""

    id: str
    name: str
    network: str
    node: str


def static(path: Path) -> bool:
    """Whether the ELF executable at ``path`` is statically linked (has no program
    interpreter). 64-bit little-endian ELF only (amd64, arm64); anything else: False."""
    with path.open("rb") as file:
        header = file.read(64)
        if len(header) < 64 or header[:6] != b"\x7fELF\x02\x01":
            return False
        (table,) = struct.unpack_from("<Q", header, 0x20)
        size, count = struct.unpack_from("<HH", header, 0x36)
        file.seek(table)
        headers = file.read(size * count)
    if size < 4 or len(headers) < size * count:
        return False
    kinds = [struct.unpack_from("<I", headers, size * n)[0] for n in range(count)]
    return PT_INTERP not in kinds


def unusable(
    *,
    euid: Callable[[], int] = os.geteuid,
    which: Callable[[str], str | None] = shutil.which,
) -> str:
    """Why containers cannot run here ('' when they can)."""
    if euid() != 0:
        return "podman's CNI networks need root"
    missing = [tool for tool in TOOLS if which(tool) is None]
    if missing:
        return f"needs {', '.join(missing)} (apt-get install {PACKAGES})"
    if not SYSTEM_PLUGINS.is_dir():
        return f"needs the CNI plugins in {SYSTEM_PLUGINS} (apt-get install {PACKAGES})"
    if not static(Path(str(which("busybox")))):
        return f"{which('busybox')} is not statically linked (apt-get install busybox-static)"
    return ""


def _quoted(value: str | Path) -> str:
    return json.dumps(str(value))  # a TOML basic string


class Podman:
    """podman with a configuration of its own under ``folder`` (see the module's docstring);
    ``init`` writes it. The containers it ran, until removed, are ``started``."""

    def __init__(
        self, folder: Path, *, storage: Path | None = None, plugins: Path | None = None
    ) -> None:
        self.folder = folder
        self.storage = storage or folder / "storage"
        self.networks = folder / "networks"
        self.plugins = plugins or folder / "plugins"
        self.containers_conf = folder / "containers.conf"
        self.storage_conf = folder / "storage.conf"
        self.started: dict[str, Container] = {}
        self._image = ""

    def init(self) -> Podman:
        for made in (self.networks, self.plugins, self.storage / "tmp"):
            made.mkdir(parents=True, exist_ok=True)
        plugin_dirs = ", ".join(_quoted(path) for path in (self.plugins, SYSTEM_PLUGINS))
        self.containers_conf.write_text(
            "[containers]\n"
            'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
            "[engine]\n"
            'runtime = "runc"\n'
            'cgroup_manager = "cgroupfs"\n'
            'events_logger = "file"\n'
            f"events_logfile_path = {_quoted(self.folder / 'events.log')}\n"
            f"tmp_dir = {_quoted(self.storage / 'tmp')}\n"
            f"image_copy_tmp_dir = {_quoted(self.storage / 'tmp')}\n"
            "[network]\n"
            'network_backend = "cni"\n'
            f"network_config_dir = {_quoted(self.networks)}\n"
            f"cni_plugin_dirs = [{plugin_dirs}]\n"
        )
        self.storage_conf.write_text(
            "[storage]\n"
            'driver = "vfs"\n'
            f"graphroot = {_quoted(self.storage / 'graph')}\n"
            f"runroot = {_quoted(self.storage / 'run')}\n"
        )
        script = self.folder / "podman"
        script.write_text(
            "#!/bin/sh\n"
            f"CONTAINERS_CONF={self.containers_conf} CONTAINERS_STORAGE_CONF={self.storage_conf}"
            ' exec podman "$@"\n'
        )
        script.chmod(0o755)
        return self

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "CONTAINERS_CONF": str(self.containers_conf),
            "CONTAINERS_STORAGE_CONF": str(self.storage_conf),
        }

    def call(
        self, *args: str, node: str = "", check: bool = True, timeout: float = TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        """``podman ARGS``, in the namespace of ``node`` if given (else this process's)."""
        entering = ("nsenter", f"--net={NETNS / node}") if node else ()
        return commands.run(
            *entering, "podman", *args, check=check, timeout=timeout, env=self.environment()
        )

    # --- the image and the networks -----------------------------------------------------------

    def image(self) -> str:
        """The busybox image's name, imported into the storage unless it is there already."""
        if self._image:
            return self._image
        busybox = Path(str(shutil.which("busybox")))
        digest = hashlib.sha256(busybox.read_bytes()).hexdigest()[:12]
        name = f"localhost/alcor-lab-busybox:{digest}"
        if self.call("image", "exists", name, check=False).returncode != 0:
            archive = self.storage / "tmp" / f"busybox-{digest}.tar"
            root_filesystem(busybox, archive)
            self.call("import", "--quiet", str(archive), name)
            archive.unlink()
        self._image = name
        return name

    def add_network(
        self, name: str, plugins: Sequence[Mapping[str, Any]], *, cni_version: str = CNI_VERSION
    ) -> Path:
        """A network: the conflist ``name`` with these plugin configurations, in order."""
        path = self.networks / f"{name}.conflist"
        document = {"cniVersion": cni_version, "name": name, "plugins": list(plugins)}
        path.write_text(json.dumps(document, indent=2) + "\n")
        return path

    def remove_network(self, name: str) -> None:
        (self.networks / f"{name}.conflist").unlink(missing_ok=True)

    # --- containers ---------------------------------------------------------------------------

    def run(
        self, *, name: str, network: str, node: str, command: Sequence[str] = SLEEP
    ) -> Container:
        """Container ``name`` running ``command`` detached, on ``network``, podman (and so the
        network's plugins) run in the namespace of ``node``. On failure nothing is left."""
        image = self.image()
        try:
            done = self.call(
                "run", "--detach", "--pull", "never", "--network", network, "--name", name,
                image, *command, node=node,
            )  # fmt: skip
        except errors.CommandFailed:
            self.call("rm", "--force", "--time", "0", "--ignore", name, node=node, check=False)
            raise
        container = Container(id=done.stdout.strip(), name=name, network=network, node=node)
        self.started[name] = container
        return container

    def exec(
        self, container: Container, *argv: str, check: bool = True, timeout: float = TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        """``argv`` run in the container."""
        return self.call("exec", container.id, *argv, check=check, timeout=timeout)

    def pings(self, container: Container, address: str, *, count: int = 1, wait: int = 2) -> bool:
        """Whether ``address`` answers a ping from the container."""
        argv = ("ping", "-c", str(count), "-W", str(wait), address)
        return self.exec(container, *argv, check=False).returncode == 0

    def addresses(self, container: Container, *, device: str = "eth0") -> list[str]:
        """The container's addresses on ``device`` with their prefix length (``10.1.2.3/24``),
        link-local ones left out."""
        return global_addresses(
            self.exec(container, "ip", "-o", "addr", "show", "dev", device).stdout
        )

    def sandbox(self, container: Container) -> str:
        """The path of the container's network namespace (what plugins get as CNI_NETNS)."""
        inspected = self.call(
            "inspect", "--format", "{{.NetworkSettings.SandboxKey}}", container.id
        )
        return inspected.stdout.strip()

    def listed(self) -> list[str]:
        """The names of the containers in this storage, running or not."""
        shown = self.call("ps", "--all", "--format", "{{.Names}}").stdout
        return shown.split()

    def remove(self, container: Container) -> None:
        """Remove the container at once, its networks' DEL run in its node's namespace (in
        this process's if the node is gone already)."""
        node = container.node if (NETNS / container.node).exists() else ""
        self.call("rm", "--force", "--time", "0", "--ignore", container.name, node=node)
        self.started.pop(container.name, None)

    def close(self) -> None:
        """Remove every container this ran that is still there; the storage stays."""
        failures = []
        for container in list(self.started.values()):
            try:
                self.remove(container)
            except errors.LabError as error:
                failures.append(str(error))
        if failures:
            raise errors.LabError("containers left behind: " + "; ".join(failures))


def global_addresses(shown: str) -> list[str]:
    """The addresses in ``ip -o addr show`` output (busybox's or iproute2's), link-local ones
    left out."""
    found = []
    for line in shown.splitlines():
        words = line.split()
        for family in ("inet", "inet6"):
            if family in words and " scope link " not in f"{line} ":
                found.append(words[words.index(family) + 1])
    return found


def root_filesystem(busybox: Path, archive: Path) -> None:
    """A tar of a root filesystem: ``busybox`` and a link in /bin for each of its applets."""
    applets = commands.run(str(busybox), "--list").stdout.split()
    lacking = [applet for applet in APPLETS if applet not in applets]
    if lacking:
        raise errors.Unusable(f"{busybox} has no {', '.join(lacking)}")
    with tarfile.open(archive, "w") as tar:
        for folder, mode in (("bin", 0o755), ("dev", 0o755), ("etc", 0o755), ("proc", 0o555),
                             ("sys", 0o555), ("tmp", 0o1777)):  # fmt: skip
            entry = tarfile.TarInfo(folder)
            entry.type, entry.mode = tarfile.DIRTYPE, mode
            tar.addfile(entry)
        tar.add(busybox, "bin/busybox")
        for applet in applets:
            if applet != "busybox":
                entry = tarfile.TarInfo(f"bin/{applet}")
                entry.type, entry.linkname, entry.mode = tarfile.SYMTYPE, "busybox", 0o777
                tar.addfile(entry)
