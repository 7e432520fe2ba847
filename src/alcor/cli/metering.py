"""What a process exports on ``--metrics-bind`` (docs/operations.md, "Metrics and health"), put
together: one prometheus-client registry per process (never the library's global one, so that
several servers in one test process do not collide), the process's own figures (CPU, memory,
file descriptors, garbage collection), and for a controller the store's commits and resources,
the status board's figures and the southbound's meters where it serves agents (an agent's are
``agent.metrics``). Without ``--metrics-bind`` none of it is made and nothing is counted.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Histogram

from alcor.cli import exposition
from alcor.services import metrics, status
from alcor.southbound import meters
from alcor.store.committing import MAX_BATCH, SqlStore

# seconds one commit takes (its pieces of work, the change log, the fsync): 0.1 ms to 10 s
COMMIT_BUCKETS = (1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 10)
GROUP_BUCKETS = tuple(float(2**n) for n in range(MAX_BATCH.bit_length()))  # 1, 2, 4, .. 256


def controller(
    store: SqlStore, *, board: status.StatusBoard | None
) -> tuple[CollectorRegistry, meters.Meters | None]:
    """A controller's registry, and the southbound's meters when it serves agents (``board``:
    the board of the hosts it serves)."""
    registry = exposition.process_registry()
    store.on_commit = _commits(registry)
    registry.register(metrics.ResourceCollector(store.read_now))
    if board is None:
        return registry, None
    registry.register(metrics.BoardCollector(board))
    return registry, meters.Meters(registry)


def _commits(registry: CollectorRegistry) -> Callable[[float, int], None]:
    seconds = Histogram(
        "alcor_store_commit_seconds",
        "Time of one store commit: its pieces of work, the change log and the commit itself",
        registry=registry,
        buckets=COMMIT_BUCKETS,
    )
    pieces = Histogram(
        "alcor_store_commit_group_size",
        "Pieces of work (API writes, southbound writes) that shared one store commit",
        registry=registry,
        buckets=GROUP_BUCKETS,
    )
    observe_seconds, observe_pieces = seconds.observe, pieces.observe

    def committed(took: float, group: int) -> None:
        observe_seconds(took)
        observe_pieces(group)

    return committed
