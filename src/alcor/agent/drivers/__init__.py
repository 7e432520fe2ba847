"""Data-plane drivers: what programs a host once its goal state changed.

The stream client (``alcor.agent.stream``) applies every goal state to the host's ``HostState``
and hands the resulting ``Changes`` to one driver. A driver programs them (the recording driver
into an in-memory model, the linux driver of issue 5 into the kernel) and returns the resources
it could not program; everything else counts as applied. ``counts`` feeds the heartbeats.

A driver is told what changed, with the whole applied state beside it for lookups, so it never
keeps a second copy of the goal state to find a port's network or a rule's remote group. After
an agent (re)start the first goal state is a snapshot: every key the host holds is in ``set``,
which is where a driver that keeps state outside the process (the kernel) reconciles.

A driver may also say what it made of the ports it plugged (``Binding``: in netns endpoint mode,
the namespace of each); the stream client reports the changes in its acks and the controller
shows them in the port's ``binding:vif_details``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import msgspec

from alcor.agent import state


class Failure(msgspec.Struct, frozen=True):
    """A resource the driver could not program: its kind (a key kind of ``alcor.v1.keys``, such
    as ``"port"``), its id and why, as the API will show it."""

    kind: str
    id: str
    message: str


class Driver(Protocol):
    @property
    def capabilities(self) -> tuple[str, ...]:
        """What this driver can program, told to the controller in the Hello."""
        ...

    async def apply(self, changes: state.Changes, held: state.HostState) -> list[Failure]:
        """Program ``changes`` (``held`` is the state after them); return what failed."""
        ...

    def counts(self) -> dict[str, int]:
        """Resources programmed, by kind (plural names: ``ports``, ``neighbors``, ...)."""
        ...


@runtime_checkable
class Inspectable(Protocol):
    def model(self) -> dict[str, Any]:
        """What the driver programmed, as JSON-ready data (for status files and tests)."""
        ...


@runtime_checkable
class Retrying(Protocol):
    """Optional: a driver that can try again what failed (a tap Nova made since, a transient
    kernel error), asked by the agent every ``retry_interval`` while anything stands failed."""

    async def retry(self, held: state.HostState) -> list[Failure]:
        """Program ``held`` again where it failed; every resource failed now (the whole truth:
        one not listed has recovered)."""
        ...


@runtime_checkable
class Operating(Protocol):
    """Optional: a driver that counts what it asked of the kernel."""

    def operations(self) -> dict[tuple[str, str], int]:
        """(action, object) -> operations asked since start: ``("add", "link")``,
        ``("transact", "nftables")``, ..."""
        ...


@runtime_checkable
class Binding(Protocol):
    """Optional: a driver that reports per-port binding details."""

    def bindings(self) -> dict[str, dict[str, str]]:
        """Port id -> the ``binding:vif_details`` it observed (ports plugged now, with details
        only; a port left out has none)."""
        ...
