"""An agent process's figures for ``/metrics`` (``alcor agent``, and ``alcor sim`` for its N
hosts together): read from the agents at scrape time, on their event loop, but the programming
time, which each ack observes into a histogram as it is made.

Figures are summed over the process's hosts (one for ``alcor agent``), never one series per
host; the applied revision is the lowest of them.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from alcor.agent import drivers, stream

# seconds from a goal state to its ack: from a tenth of a millisecond to a minute
PROGRAMMING_BUCKETS = (1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60)


def meter(agents: Sequence[stream.Agent], registry: CollectorRegistry) -> None:
    """Register the agents' figures in ``registry`` and have their acks timed."""
    programming = Histogram(
        "alcor_agent_programming_seconds",
        "Time from a goal state (or a retry of what failed) to its ack: applying it and "
        "programming the data plane",
        registry=registry,
        buckets=PROGRAMMING_BUCKETS,
    )
    for agent in agents:
        agent.on_programmed = programming.observe
    registry.register(AgentCollector(agents))


class AgentCollector(Collector):
    def __init__(self, agents: Sequence[stream.Agent]) -> None:
        self._agents = agents

    def collect(self) -> Iterator[Metric]:
        agents = self._agents
        yield GaugeMetricFamily("alcor_agent_hosts", "Hosts this process serves", len(agents))
        yield GaugeMetricFamily(
            "alcor_agent_connected_hosts",
            "Hosts with a stream open to a controller",
            sum(agent.status.connected for agent in agents),
        )
        yield GaugeMetricFamily(
            "alcor_agent_applied_revision",
            "The revision of the goal state applied (the lowest of the process's hosts)",
            min((agent.state.revision for agent in agents), default=0),
        )
        for name, text, value in (
            ("goal_states", "Goal states received", sum(a.status.goal_states for a in agents)),
            ("snapshots", "Goal-state snapshots received", sum(a.status.snapshots for a in agents)),
            ("acks", "Acks sent", sum(a.status.acks for a in agents)),
            ("heartbeats", "Heartbeats sent", sum(a.status.heartbeats for a in agents)),
            (
                "reconnects",
                "Streams opened again after the first (the controller went, or redirected)",
                sum(max(0, a.status.sessions - 1) for a in agents),
            ),
            ("redirects", "Redirects followed", sum(a.status.redirects for a in agents)),
            (
                "driver_errors",
                "Times the driver raised (the data plane unknown: resynced from a snapshot)",
                sum(a.status.driver_errors for a in agents),
            ),
        ):
            yield CounterMetricFamily(f"alcor_agent_{name}", text, value=value)
        failed: collections.Counter[str] = collections.Counter()
        operations: collections.Counter[tuple[str, str]] = collections.Counter()
        for agent in agents:
            failed.update(agent.failures.kinds())
            if isinstance(agent.driver, drivers.Operating):
                operations.update(agent.driver.operations())
        failures = GaugeMetricFamily(
            "alcor_agent_failed_resources",
            "Resources standing failed (reported in every ack until they recover), by kind",
            labels=["kind"],
        )
        for kind, count in sorted(failed.items()):
            failures.add_metric([kind], count)
        yield failures
        kernel = CounterMetricFamily(
            "alcor_agent_kernel_operations",
            "Operations asked of the data plane (the kernel; the recording driver's model of it), "
            "by action and object",
            labels=["action", "object"],
        )
        for (action, obj), count in sorted(operations.items()):
            kernel.add_metric([action, obj], count)
        yield kernel
