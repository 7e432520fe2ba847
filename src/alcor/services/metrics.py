"""The controller's figures read at scrape time: what the status board holds (hosts, ports by
status, lag, goal-state traffic, failed resources, the engine's revision) and how many
resources the store holds. Collectors in prometheus-client's sense: nothing here runs until
``/metrics`` is asked for, so the streams and the API pay nothing for them.

A scrape walks the board's hosts once (100,000 hosts: a few dict reads each). Ports by status
walks the ports only when a reachable host lags (has not acknowledged all it was sent): a host
that acknowledged everything has every port it holds ``ACTIVE`` but those its ack lists as
failed. Figures are of the hosts this process serves: in a region of several southbound
processes, sum them across processes (each host is served by one).

Resource counts are one ``COUNT`` per resource table, at most every ``max_age`` seconds (a
scrape in between is answered from the last count), and left out while the store is away.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from alcor.services import status
from alcor.store.interface import Reader

log = logging.getLogger(__name__)

LAG_BUCKETS = (0, 1, 10, 100, 1_000, 10_000)  # revisions behind
HOST_STATES = ("connected", "disconnected", "down", "unseen")
PORT_STATUSES = (status.ACTIVE, status.DOWN, status.ERROR)
RESOURCES_MAX_AGE = 30.0  # seconds a resource count is reused


def host_state(board: status.StatusBoard, host: str) -> str:
    """``down``: silent beyond --node-down-after; ``connected`` / ``disconnected``: its stream;
    ``unseen``: owed goal state, no stream since this process started."""
    if board.is_lost(host):
        return "down"
    link = board.link_of(host)
    if link is None:
        return "unseen"
    return "connected" if link.connected else "disconnected"


def port_statuses(board: status.StatusBoard) -> dict[str, int]:
    """The ports programmed on hosts (bound ports), by status, as ``port_status`` tells them."""
    counts = dict.fromkeys(PORT_STATUSES, 0)
    lagging: set[str] = set()
    for host, ports in board.port_counts().items():
        if not board.is_reachable(host):
            counts[status.DOWN] += ports
            continue
        acked = board.acked_of(host)
        if acked is None or acked.revision < board.desired_of(host):
            lagging.add(host)
            continue
        failed = sum(
            1
            for failure in board.failures_of(host)
            if failure.kind == "port" and board.host_of(failure.id) == host
        )
        counts[status.ERROR] += failed
        counts[status.ACTIVE] += ports - failed
    for host in lagging:
        for port_id in board.programmed_ports(host):
            counts[board.port_status(port_id, host)] += 1
    return counts


class BoardCollector(Collector):
    """The status board's figures (see the module's docstring)."""

    def __init__(self, board: status.StatusBoard) -> None:
        self._board = board

    def collect(self) -> Iterator[Metric]:
        board = self._board
        states = dict.fromkeys(HOST_STATES, 0)
        lags: list[int] = []
        failed: collections.Counter[str] = collections.Counter()
        for host in board.hosts():
            state = host_state(board, host)
            states[state] += 1
            acked = board.acked_of(host)
            if state == "connected":
                lags.append(max(0, board.desired_of(host) - (acked.revision if acked else 0)))
            failed.update(failure.kind for failure in board.failures_of(host))
        yield _labelled(
            GaugeMetricFamily(
                "alcor_hosts", "Hosts by the state of their stream", labels=["state"]
            ),
            states,
        )
        yield _lag(lags)
        yield GaugeMetricFamily(
            "alcor_host_lag_max_revisions",
            "The most revisions a connected host is behind what it was sent",
            value=max(lags, default=0),
        )
        ports = GaugeMetricFamily(
            "alcor_ports", "Ports bound to hosts, by status", labels=["status"]
        )
        yield _labelled(ports, port_statuses(board))
        yield _labelled(
            GaugeMetricFamily(
                "alcor_host_failed_resources",
                "Resources the hosts' latest acks list as failed, by kind",
                labels=["kind"],
            ),
            failed,
        )
        yield from _traffic(board.traffic())
        yield GaugeMetricFamily(
            "alcor_engine_revision",
            "The last committed revision the goal-state engine has applied",
            value=board.revision,
        )
        yield GaugeMetricFamily(
            "alcor_engine_ready",
            "1 once the goal-state engine has replayed the change log since start",
            value=int(board.ready),
        )


def _labelled(family: GaugeMetricFamily, values: dict[str, int]) -> GaugeMetricFamily:
    for label, value in sorted(values.items()):
        family.add_metric([label], value)
    return family


def _lag(lags: list[int]) -> GaugeHistogramMetricFamily:
    buckets = [(str(bound), float(sum(1 for lag in lags if lag <= bound))) for bound in LAG_BUCKETS]
    buckets.append(("+Inf", float(len(lags))))
    return GaugeHistogramMetricFamily(
        "alcor_host_lag_revisions",
        "Connected hosts by how many revisions they are behind what they were sent",
        buckets=buckets,
        gsum_value=float(sum(lags)),
    )


def _traffic(sent: list[status.Traffic]) -> Iterator[CounterMetricFamily]:
    for name, text, value in (
        ("messages", "Goal-state messages sent to the hosts", sum(t.messages for t in sent)),
        ("entries", "Goal-state entries sent to the hosts", sum(t.entries for t in sent)),
        ("snapshots", "Goal-state snapshots sent to the hosts", sum(t.snapshots for t in sent)),
    ):
        yield CounterMetricFamily(f"alcor_goalstate_sent_{name}", text, value=value)


class ResourceCollector(Collector):
    """Resources in the store by kind, counted at most every ``max_age`` seconds; ``read``
    runs a read on the calling thread (``SqlStore.read_now``)."""

    def __init__(
        self,
        read: Callable[[Callable[[Reader], dict[str, int]]], dict[str, int]],
        *,
        max_age: float = RESOURCES_MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._max_age = max_age
        self._clock = clock
        self._counted: tuple[float, dict[str, int]] | None = None

    def collect(self) -> Iterator[Metric]:
        now = self._clock()
        if self._counted is None or now - self._counted[0] > self._max_age:
            try:
                counts = self._read(_resource_counts)
            except Exception as error:  # the store is away: no figure rather than a stale one
                log.debug("resource counts for /metrics: %s", error)
                self._counted = None
                return
            self._counted = (now, counts)
        family = GaugeMetricFamily(
            "alcor_resources", "Resources in the store, by kind", labels=["kind"]
        )
        yield _labelled(family, self._counted[1])


def _resource_counts(reader: Reader) -> dict[str, int]:
    return reader.resource_counts()
