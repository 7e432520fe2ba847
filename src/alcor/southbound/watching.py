"""Watching the nodes' health: heartbeats in memory, only up/down transitions written.

Runs in the southbound loop, beside the hub. It knows each node's stored state from the change
log (``changed``: every node change the follower applies) and when each host was last heard
(the status board: every Hello, ack and heartbeat). Every ``period`` seconds ``check``:

- a node stored (or about to be stored) ``up`` that has not been heard for ``down_after``
  seconds is *lost* on the board at once (its ports show ``DOWN``) and is to be written
  ``down``; a node not heard since this controller started counts from when the watch learned
  of it (the replay of the change log), so after a restart its agent has ``down_after`` seconds
  to come back;
- a node stored ``down`` that was heard (its Hello, its next heartbeat) is to be written ``up``
  (the board stopped counting it lost the moment it was heard).

``flush`` writes every pending transition in one write through the node manager, then forgets
those the store took. The up nodes are kept in the order they were last heard (a heartbeat
moves its host to the end), so a check reads the silent ones and stops at the first that is
not: it costs nothing while every host beats. A heartbeat costs a clock read and two dict
operations, and the store sees one write per period at most, however many nodes there are. A
failed write is retried at the next period.

With several southbound replicas each hears only the hosts it owns, so each loses only those
(``owns``): a silent host another replica owns is counted from now again, so that it has a
whole grace should it become this replica's.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable

from alcor.model import records
from alcor.services import nodes, status
from alcor.store.interface import Change

log = logging.getLogger(__name__)


class NodeWatch:
    def __init__(
        self,
        *,
        board: status.StatusBoard,
        manager: nodes.Nodes,
        down_after: float,
        owns: Callable[[str], bool] = lambda host: True,
    ) -> None:
        self.board = board
        self.owns = owns  # the southbound replica owns this host: only the owner loses it
        self.manager = manager
        self.down_after = down_after
        self.period = min(1.0, down_after / 4)
        self._clock = board.monotonic
        self._stored: dict[str, str] = {}  # node name -> its state in the store
        self._mapped: dict[str, list[str]] = {}  # node name -> its stored physical networks
        self._underlays: dict[str, str] = {}  # node name -> its stored underlay address
        # The nodes stored up, or to be written up: when each was last heard, oldest first
        # (each word moves its host to the end), so a check reads only the silent ones.
        self._last: OrderedDict[str, float] = OrderedDict()
        self._pending: dict[str, str] = {}  # node name -> the state to write
        self.transitions = 0  # written since start

    # --- what the change log says ---------------------------------------------------------

    def changed(self, change: Change) -> None:
        node = change.record
        if not isinstance(node, records.Node):
            return
        name, state = node.name, node.state
        if change.operation == "delete":
            self._stored.pop(name, None)
            self._mapped.pop(name, None)
            self._underlays.pop(name, None)
            self._pending.pop(name, None)
            self._last.pop(name, None)
            return
        self._stored[name] = state
        self._mapped[name] = list(node.physical_networks)
        self._underlays[name] = node.underlay_ip
        pending = self._pending.get(name)
        if pending == state:
            del self._pending[name]
            pending = None
        if (state == nodes.UP and pending is None) or pending == nodes.UP:
            if name not in self._last:  # counted from now: after a restart, a full grace
                self._last[name] = self._clock()
        else:
            self._last.pop(name, None)
            if state == nodes.DOWN and self._heard_lately(name):  # made while its agent talks
                self.heard(name)

    def knows(self, host: str) -> bool:
        return host in self._stored

    def maps(self, host: str) -> list[str] | None:
        """The physical networks the host's node holds (None: no such node)."""
        return self._mapped.get(host)

    def underlay(self, host: str) -> str | None:
        """The underlay address the host's node holds (None: no such node)."""
        return self._underlays.get(host)

    # --- what the hosts say ---------------------------------------------------------------

    def heard(self, host: str) -> None:
        """The host spoke (the board knows when): a node stored down is to be written up."""
        last = self._last
        if host in last:  # up: the path of every heartbeat
            last[host] = self._clock()
            last.move_to_end(host)
            return
        if host not in self._stored:
            return
        last[host] = self._clock()
        if self._stored[host] == nodes.UP:
            self._pending.pop(host, None)
        else:
            self._pending[host] = nodes.UP

    def _heard_lately(self, host: str) -> bool:
        last = self.board.last_heard(host)
        return last is not None and self._clock() - last <= self.down_after

    # --- the periodic work ----------------------------------------------------------------

    def check(self) -> int:
        """Lose the nodes silent for too long; returns how many were lost now."""
        deadline = self._clock() - self.down_after
        silent = []
        for host, heard in self._last.items():  # oldest first: only the silent ones are read
            if heard >= deadline:
                break
            silent.append(host)
        now = self._clock()
        for host in [host for host in silent if not self.owns(host)]:  # its owner hears it
            silent.remove(host)
            self._last[host] = now  # a full grace from now, should it become ours
            self._last.move_to_end(host)
        for host in silent:
            del self._last[host]
            self.board.lose(host)
            if self._stored.get(host) == nodes.DOWN:
                self._pending.pop(host, None)
            else:
                self._pending[host] = nodes.DOWN
        if silent:
            log.info("%d node(s) missed their heartbeats: down", len(silent))
        return len(silent)

    async def flush(self) -> None:
        if not self._pending:
            return
        batch = dict(self._pending)
        try:
            changed = await self.manager.set_states(batch)
        except Exception:
            log.exception("writing %d node state transition(s) failed; retrying", len(batch))
            return
        self.transitions += len(changed)
        for name, state in batch.items():
            if self._pending.get(name) == state:
                del self._pending[name]
                if name in self._stored:
                    self._stored[name] = state

    async def run(self) -> None:
        """Check and flush every period, until cancelled."""
        while True:
            await asyncio.sleep(self.period)
            self.check()
            await self.flush()
