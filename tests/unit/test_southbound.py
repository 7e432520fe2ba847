"""The southbound's pure parts, without gRPC: outboxes (coalescing, the bound), the status
board, the hub (Hello -> snapshot or delta, routing, replacement, a slow host's overflow) and the
follower (replay, then the feed, with no gap and no duplicate)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
import pytest

from alcor.agent.state import HostState
from alcor.api import views
from alcor.model import records
from alcor.services import ports, status
from alcor.southbound.following import Following
from alcor.southbound.outboxes import Outbox
from alcor.southbound.sessions import Delivery, Hub, Session
from alcor.store.interface import Change, Follower
from alcor.v1 import keys
from alcor.v1 import southbound_pb2 as pb

T = TypeVar("T")
NOW = "2026-11-30T00:00:00Z"


def neighbor(port: str, revision: int, ip: str = "10.0.0.1") -> pb.Entry:
    return pb.Entry(revision=revision, neighbor=pb.Neighbor(port_id=port, ip_addresses=[ip]))


# --- outboxes --------------------------------------------------------------------------------


def test_an_outbox_coalesces_by_key_and_the_later_entry_wins() -> None:
    outbox = Outbox(limit=10, window=0.005)
    outbox.add([neighbor("a", 3), neighbor("b", 3)], now=100.0)
    outbox.add([neighbor("a", 5, ip="10.0.0.9")], now=100.0)
    batch = outbox.take(now=100.0)
    assert batch is not None
    assert not batch.snapshot
    assert batch.revision == 5
    by_key = {keys.entry_key(entry): entry for entry in batch.entries}
    assert sorted(by_key) == ["neighbor:a", "neighbor:b"]
    assert list(by_key["neighbor:a"].neighbor.ip_addresses) == ["10.0.0.9"]
    assert outbox.take(now=100.0) is None
    assert outbox.due_at() is None


def test_a_host_is_sent_at_most_one_goal_state_per_window() -> None:
    outbox = Outbox(limit=10, window=0.005)
    assert outbox.due_at() is None
    outbox.add([neighbor("a", 3)], now=100.0)
    assert outbox.due_at() == 100.0  # after a quiet spell: at once
    assert outbox.take(now=100.0) is not None
    outbox.add([neighbor("b", 4)], now=100.001)
    outbox.add([neighbor("c", 5)], now=100.003)
    assert outbox.due_at() == pytest.approx(100.005)  # within the window: at its end, together
    batch = outbox.take(now=100.005)
    assert batch is not None
    assert [keys.entry_key(entry) for entry in batch.entries] == ["neighbor:b", "neighbor:c"]
    outbox.add([neighbor("d", 6)], now=100.5)
    assert outbox.due_at() == 100.5


def test_a_removal_replaces_the_entry_it_removes() -> None:
    outbox = Outbox(limit=10, window=0.0)
    outbox.add([neighbor("a", 3)], now=0.0)
    outbox.add([keys.removal("neighbor:a", 4)], now=0.0)
    batch = outbox.take(now=0.0)
    assert batch is not None
    assert [entry.WhichOneof("resource") for entry in batch.entries] == ["removal"]


def test_an_outbox_past_its_bound_forgets_and_asks_for_a_snapshot() -> None:
    outbox = Outbox(limit=3, window=0.005)
    outbox.add([neighbor("a", 1), neighbor("b", 1), neighbor("c", 1)], now=0.0)
    assert len(outbox) == 3  # at the bound is fine
    outbox.add([neighbor("a", 2)], now=0.0)  # the same key again costs nothing
    assert len(outbox) == 3
    assert not outbox.needs_snapshot
    outbox.add([neighbor("d", 3)], now=0.0)
    assert outbox.needs_snapshot
    assert len(outbox) == 0
    assert outbox.due_at() == 0.0  # at once
    outbox.add([neighbor("e", 4)], now=0.0)  # the snapshot will hold it
    assert len(outbox) == 0
    batch = outbox.take(now=0.0)
    assert batch is not None
    assert batch.snapshot
    assert outbox.take(now=0.0) is None
    assert not outbox.needs_snapshot


# --- the status board ------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def connected_board() -> tuple[Clock, status.StatusBoard]:
    """A board with a grace of 5 s on a fake clock, and host h1 just connected."""
    clock = Clock()
    board = status.StatusBoard(grace=5.0, clock=clock, wall=clock)
    board.connected("h1", applied_revision=0)
    return clock, board


def test_a_port_is_down_until_its_host_acknowledges_the_entry_that_programs_it() -> None:
    _clock, board = connected_board()
    board.program("p1", "h1", 7)
    assert board.port_status("p1", "h1") == "DOWN"
    board.acknowledged("h1", 6, failures=[], programming_micros=10)
    assert board.port_status("p1", "h1") == "DOWN"
    board.acknowledged("h1", 7, failures=[], programming_micros=10)
    assert board.port_status("p1", "h1") == "ACTIVE"
    assert board.port_status("p1", "") == "DOWN"  # unbound since (the engine lags)
    assert board.port_status("p1", "h2") == "DOWN"  # moved since
    board.program("p1", "h1", 9)  # changed: down until acknowledged again
    assert board.port_status("p1", "h1") == "DOWN"


def test_a_failure_is_an_error_until_an_ack_no_longer_lists_it() -> None:
    _clock, board = connected_board()
    board.program("p1", "h1", 3)
    board.program("p2", "h1", 3)
    failed = [status.Failure(kind="port", id="p1", message="no such device")]
    board.acknowledged("h1", 3, failures=failed, programming_micros=10)
    assert (board.port_status("p1", "h1"), board.port_status("p2", "h1")) == ("ERROR", "ACTIVE")
    report = board.report("h1")
    assert report is not None
    assert report.failures == failed
    board.acknowledged("h1", 4, failures=[], programming_micros=10)
    assert board.port_status("p1", "h1") == "ACTIVE"


def test_a_lost_host_keeps_its_ports_for_the_grace_period_then_they_go_down() -> None:
    clock, board = connected_board()
    board.program("p1", "h1", 3)
    board.acknowledged("h1", 3, failures=[], programming_micros=10)
    board.disconnected("h1")
    clock.now += 4.9
    assert board.port_status("p1", "h1") == "ACTIVE"
    clock.now += 0.2
    assert board.port_status("p1", "h1") == "DOWN"
    board.connected("h1", applied_revision=3)  # back, holding it
    assert board.port_status("p1", "h1") == "ACTIVE"
    board.connected("h1", applied_revision=0)  # back, restarted: holds nothing
    assert board.port_status("p1", "h1") == "DOWN"


def test_a_port_moving_hosts_is_counted_on_its_new_host_whatever_the_order() -> None:
    board = status.StatusBoard()
    board.program("p1", "h1", 3)
    board.program("p1", "h2", 4)  # the new host heard first
    board.unprogram("p1", "h1")  # the old host's removal leaves the new binding alone
    assert board.port_status("p1", "h2") == "DOWN"
    reports = {host: board.report(host) for host in ("h1", "h2")}
    assert {h: r.ports if r else None for h, r in reports.items()} == {"h1": None, "h2": None}
    board.desire("h2", 4)
    report = board.report("h2")
    assert report is not None
    assert (report.ports, report.desired_revision, report.lag) == (1, 4, 4)


def test_observed_vif_details_follow_acks_and_go_with_the_port() -> None:
    _clock, board = connected_board()
    board.program("p1", "h1", 3)
    board.program("p2", "h1", 3)
    assert board.vif_details("p1", "h1") == {}
    board.acknowledged(
        "h1", 3, failures=[], programming_micros=1, bindings={"p1": {"netns": "ns-1"}}
    )
    assert board.vif_details("p1", "h1") == {"netns": "ns-1"}
    assert board.vif_details("p1", "h2") == {}  # bound elsewhere since (the engine lags)
    board.acknowledged("h1", 4, failures=[], programming_micros=1, bindings={"p2": {"x": "y"}})
    assert board.vif_details("p1", "h1") == {"netns": "ns-1"}  # changes only
    board.acknowledged("h1", 5, failures=[], programming_micros=1, bindings={"p2": {}})
    assert board.vif_details("p2", "h1") == {}
    # a new stream: its first ack replaces everything the host reported
    board.connected("h1", applied_revision=5)
    assert board.vif_details("p1", "h1") == {"netns": "ns-1"}  # until that first ack
    board.acknowledged("h1", 5, failures=[], programming_micros=1, bindings={"p2": {"a": "b"}})
    assert (board.vif_details("p1", "h1"), board.vif_details("p2", "h1")) == ({}, {"a": "b"})
    # the port leaves the host (moved, unbound or deleted): its details go
    board.unprogram("p2", "h1")
    board.program("p2", "h1", 6)  # back again: nothing until the host reports it
    assert board.vif_details("p2", "h1") == {}


def test_a_port_shows_stored_vif_details_with_the_observed_ones_over_them() -> None:
    record = records.Port(
        id="p1",
        network_id="n1",
        project_id="t1",
        created_at=NOW,
        updated_at=NOW,
        mac_address="fa:16:3e:00:00:01",
        binding_vif_details={"port_filter": True, "netns": "stored"},
    )
    assert ports.ShownPort(record, [], "ACTIVE").vif_details() == record.binding_vif_details
    shown = ports.ShownPort(record, [], "ACTIVE", {"netns": "ns-1", "extra": "x"})
    details = shown.vif_details()
    assert details == {"port_filter": True, "netns": "ns-1", "extra": "x"}
    assert list(details) == ["port_filter", "netns", "extra"]
    assert views.port_view(shown).binding_vif_details == details
    assert record.binding_vif_details["netns"] == "stored"  # the record is untouched


# --- the hub ---------------------------------------------------------------------------------


class Log:
    """Builds change-log rows from records, as the store would log them."""

    def __init__(self) -> None:
        self.revision = 0
        self.rows: list[Change] = []

    def put(self, record: records.Record, operation: str = "create") -> Change:
        self.revision += 1
        change = Change(
            revision=self.revision,
            resource_type=record.kind,
            resource_id=record.id,
            operation=operation,
            project_id=record.project_id,
            record=record,
            committed_at=NOW,
        )
        self.rows.append(change)
        return change


def network(name: str, vni: int) -> records.Network:
    return records.Network(
        id=name, project_id="p", created_at=NOW, updated_at=NOW, segmentation_id=vni
    )


def port(name: str, net: str, host: str, ip: str) -> records.Port:
    return records.Port(
        id=name,
        project_id="p",
        created_at=NOW,
        updated_at=NOW,
        network_id=net,
        mac_address="fa:16:3e:00:00:01",
        fixed_ips=[records.FixedIp(subnet_id=net + "-s", ip_address=ip)],
        binding_host_id=host,
        device_owner="compute:nova",
    )


def hub_with(delivery: Delivery | None = None) -> tuple[Hub, Log, Clock]:
    clock = Clock()
    hub = Hub(
        board=status.StatusBoard(clock=clock, wall=clock),
        delivery=delivery or Delivery(window=0.005, limit=100),
        clock=clock,
    )
    hub.store_id = "store-a"
    return hub, Log(), clock


def hello(host: str, revision: int = 0, store_id: str = "store-a") -> pb.Hello:
    return pb.Hello(host_id=host, applied_revision=revision, store_id=store_id)


def drain(hub: Hub, session: Session, state: HostState) -> list[pb.GoalState]:
    """Everything the session would send now, applied to the host's state."""
    sent = []
    while (goal := hub.take(session)) is not None:
        state.apply(goal)
        sent.append(goal)
    return sent


def should_hold(hub: Hub, host: str) -> dict[str, bytes]:
    return contents({keys.entry_key(e): e for e in hub.engine.snapshot(host)})


def contents(entries: dict[str, pb.Entry]) -> dict[str, bytes]:
    return {
        key: getattr(entry, entry.WhichOneof("resource") or "").SerializeToString(
            deterministic=True
        )
        for key, entry in entries.items()
    }


def test_a_new_host_gets_a_snapshot_then_the_deltas_as_they_come() -> None:
    hub, log, _ = hub_with()
    hub.apply(log.put(network("n1", 100)))
    hub.apply(log.put(port("p1", "n1", "h1", "10.0.0.5")))
    session = hub.open(hello("h1"))
    assert session.first.snapshot
    assert session.first.revision == 2
    state = HostState()
    state.apply(session.first)
    hub.apply(log.put(port("p2", "n1", "h2", "10.0.0.6")))
    sent = drain(hub, session, state)
    assert [(g.snapshot, g.revision, len(g.entries)) for g in sent] == [(False, 3, 1)]
    assert contents(state.live()) == should_hold(hub, "h1")


@pytest.mark.parametrize(
    ("revision", "store_id", "snapshot"),
    [
        (0, "store-a", True),  # holds nothing
        (2, "store-b", True),  # another store's revision
        (99, "store-a", True),  # a revision this store never reached
        (2, "store-a", False),  # resumes
        (4, "store-a", False),  # current: an empty delta, still one goal state
    ],
)
def test_hello_gets_a_snapshot_or_the_delta(revision: int, store_id: str, snapshot: bool) -> None:
    hub, log, _ = hub_with()
    hub.apply(log.put(network("n1", 100)))
    hub.apply(log.put(port("p1", "n1", "h1", "10.0.0.5")))
    hub.apply(log.put(port("p2", "n1", "h2", "10.0.0.6")))
    hub.apply(log.put(port("p3", "n1", "h3", "10.0.0.7")))
    session = hub.open(hello("h1", revision, store_id))
    first = session.first
    assert (first.snapshot, first.revision, first.store_id) == (snapshot, 4, "store-a")
    if not snapshot:
        assert len(first.entries) == 4 - revision  # one neighbor per port since


def test_a_second_stream_of_a_host_replaces_the_first() -> None:
    hub, log, _ = hub_with()
    hub.apply(log.put(network("n1", 100)))
    hub.apply(log.put(port("p1", "n1", "h1", "10.0.0.5")))
    old = hub.open(hello("h1"))
    new = hub.open(hello("h1"))
    assert old.closed
    assert old.replaced
    assert not new.closed
    hub.close(old)  # the old stream's end does not disconnect the host
    report = hub.board.report("h1")
    assert report is not None
    assert report.connected
    hub.apply(log.put(port("p2", "n1", "h2", "10.0.0.6")))
    assert len(old.outbox) == 0
    assert len(new.outbox) == 1
    hub.close(new)
    report = hub.board.report("h1")
    assert report is not None
    assert not report.connected


def test_entries_within_the_window_go_as_one_goal_state() -> None:
    hub, log, _ = hub_with()
    hub.apply(log.put(network("n1", 100)))
    hub.apply(log.put(port("p0", "n1", "h1", "10.0.0.4")))
    session = hub.open(hello("h1"))
    state = HostState()
    state.apply(session.first)
    for i in range(20):
        hub.apply(log.put(port(f"p{i + 1}", "n1", "h2", f"10.0.0.{i + 10}")))
    sent = drain(hub, session, state)
    assert [(g.revision, len(g.entries)) for g in sent] == [(22, 20)]
    assert contents(state.live()) == should_hold(hub, "h1")


def test_a_slow_host_is_dropped_to_a_snapshot_and_nobody_else_notices() -> None:
    hub, log, _ = hub_with(Delivery(window=0.0, limit=5))
    hub.apply(log.put(network("n1", 100)))
    hub.apply(log.put(port("p0", "n1", "slow", "10.0.0.2")))
    hub.apply(log.put(port("q0", "n1", "fast", "10.0.0.3")))
    slow, fast = hub.open(hello("slow")), hub.open(hello("fast"))
    slow_state, fast_state = HostState(), HostState()
    slow_state.apply(slow.first)
    fast_state.apply(fast.first)
    for i in range(12):
        hub.apply(log.put(port(f"p{i + 1}", "n1", "other", f"10.0.1.{i + 10}")))
        drain(hub, fast, fast_state)  # the fast host keeps up
    assert slow.outbox.needs_snapshot
    sent = drain(hub, slow, slow_state)
    assert [(g.snapshot, g.revision) for g in sent] == [(True, log.revision)]
    for host, state in (("slow", slow_state), ("fast", fast_state)):
        assert contents(state.live()) == should_hold(hub, host)
    report = hub.board.report("slow")
    assert report is not None
    assert report.snapshots_sent == 2


def test_the_board_follows_what_programs_each_port_and_the_acks() -> None:
    hub, log, _ = hub_with()
    hub.apply(log.put(network("n1", 100)))
    hub.apply(log.put(port("p1", "n1", "h1", "10.0.0.5")))
    session = hub.open(hello("h1"))
    board = hub.board
    assert board.port_status("p1", "h1") == "DOWN"
    ack = pb.AgentMessage(ack=pb.Ack(revision=session.first.revision))
    hub.receive(session, ack)
    assert board.port_status("p1", "h1") == "ACTIVE"
    hub.apply(log.put(port("p1", "n1", "h2", "10.0.0.5"), "update"))  # moved
    assert board.port_status("p1", "h1") == "DOWN"
    hub.receive(session, pb.AgentMessage(ack=pb.Ack(revision=1000)))  # never more than sent
    report = board.report("h1")
    assert report is not None
    assert (report.acknowledged_revision, report.desired_revision, report.ports) == (2, 3, 0)
    assert hub.take(session) is not None
    hub.receive(session, pb.AgentMessage(ack=pb.Ack(revision=1000)))
    report = board.report("h1")
    assert report is not None
    assert (report.acknowledged_revision, report.lag) == (3, 0)


def test_a_quiet_replay_leaves_the_board_as_a_loud_one_once_ready() -> None:
    """While replaying, the hub builds no deltas and tells the board nothing; ``ready`` then
    tells it which host programs each port (at its entry's revision) and that every host the
    engine knows owes the engine's revision. Changes after it go loud again."""
    log = Log()
    rows = [
        log.put(network("n1", 100)),
        log.put(port("p1", "n1", "h1", "10.0.0.5")),
        log.put(port("p2", "n1", "h2", "10.0.0.6")),
        log.put(port("p3", "n1", "h3", "10.0.0.7")),
        log.put(port("p1", "n1", "h2", "10.0.0.5"), "update"),  # moved
        log.put(port("p3", "n1", "", "10.0.0.7"), "update"),  # unbound
        log.put(port("p4", "n1", "h1", "10.0.0.8")),
        log.put(port("p4", "n1", "h1", "10.0.0.8"), "delete"),
    ]
    loud, _, _ = hub_with()
    quiet, _, _ = hub_with()
    quiet.replay()
    for row in rows:
        loud.apply(row)
        quiet.apply(row)
    assert quiet.board.revision == log.revision
    assert quiet.board.hosts() == []  # nothing yet
    assert not quiet.is_ready
    quiet.ready()
    assert quiet.is_ready
    assert not quiet.replaying
    for board in (loud.board, quiet.board):
        assert board.hosts() == ["h1", "h2", "h3"]
        assert {p: board.host_of(p) for p in ("p1", "p2", "p3", "p4")} == {
            "p1": "h2",
            "p2": "h2",
            "p3": "",
            "p4": "",
        }
    for host in ("h1", "h2", "h3"):
        loud_report, quiet_report = loud.board.report(host), quiet.board.report(host)
        assert loud_report is not None
        assert quiet_report is not None
        assert quiet_report.ports == loud_report.ports
        assert quiet_report.desired_revision == log.revision  # what a resume is first sent
    # a host that resumes and acks its first goal state has its ports up
    session = quiet.open(hello("h2", revision=3))
    assert quiet.board.port_status("p1", "h2") == "DOWN"
    quiet.receive(session, pb.AgentMessage(ack=pb.Ack(revision=session.first.revision)))
    assert quiet.board.port_status("p1", "h2") == "ACTIVE"
    assert quiet.board.port_status("p2", "h2") == "ACTIVE"
    # and after the replay, changes reach the board and the sessions again
    quiet.apply(log.put(port("p5", "n1", "h2", "10.0.0.9")))
    assert quiet.board.host_of("p5") == "h2"
    assert len(session.outbox) == 2  # its own port and its neighbor
    assert quiet.board.port_status("p5", "h2") == "DOWN"


def interface(name: str, net: str, router: str, ip: str) -> records.Port:
    return msgspec.structs.replace(
        port(name, net, "", ip),
        device_owner=records.ROUTER_INTERFACE,
        device_id=router,
        router_id=router,
        router_port_type=records.ROUTER_INTERFACE,
    )


def test_the_board_learns_which_hosts_hold_a_routers_interfaces_replayed_or_not() -> None:
    """Every host holding a router holds each of its interfaces, as of the router entry that
    first carried it there (or the host's joining the router); a host whose last port on the
    router's networks goes leaves them; a quiet replay's ``ready`` tells the board the same."""
    log = Log()
    router = records.Router(id="r1", project_id="p", created_at=NOW, updated_at=NOW)
    rows = [
        log.put(network("n1", 100)),
        log.put(network("n2", 101)),
        log.put(port("p1", "n1", "h1", "10.0.0.5")),  # 3
        log.put(router),
        log.put(interface("i1", "n1", "r1", "10.0.0.1")),  # 5: h1 holds r1 with i1
        log.put(port("p2", "n2", "h2", "10.0.1.5")),  # 6: not on r1's networks yet
        log.put(interface("i2", "n2", "r1", "10.0.1.1")),  # 7: h2 joins r1; h1 gets i2
        log.put(port("p3", "n1", "h3", "10.0.0.6")),  # 8: h3 joins r1
        log.put(port("p3", "n1", "h3", "10.0.0.6"), "delete"),  # 9: h3 leaves it
    ]
    loud, _, _ = hub_with()
    quiet, _, _ = hub_with()
    quiet.replay()
    for row in rows:
        loud.apply(row)
        quiet.apply(row)
    quiet.ready()
    for board in (loud.board, quiet.board):
        assert (board.knows("i1"), board.knows("i2"), board.knows("p1")) == (True, True, False)
        assert sorted(board.holders("i1")) == ["h1", "h2"]
        assert sorted(board.holders("i2")) == ["h1", "h2"]
        assert board.programmed_on("i2", "h2") == 7
        assert board.programmed_on("p3", "h3") == 0
    assert loud.board.programmed_on("i1", "h1") == 5  # kept: carried there first at 5
    assert quiet.board.programmed_on("i1", "h1") == 7  # the entry's revision as it stands
    for hub in (loud, quiet):
        hub.apply(log.put(interface("i2", "n2", "r1", "10.0.1.1"), "delete"))
        assert hub.board.holders("i2") == []
        assert not hub.board.knows("i2")
        assert sorted(hub.board.holders("i1")) == ["h1"]  # h2 left r1 with its network


# --- following the change log ----------------------------------------------------------------


class FakeReader:
    def __init__(self, log: Log) -> None:
        self.log = log

    def changes_since(self, revision: int, limit: int) -> list[Change]:
        return [c for c in self.log.rows if c.revision > revision][:limit]


class FakeStore:
    """The change log in a list; the feed is whatever the test hands the follower; ``wake``
    is the signal of another process's commit."""

    def __init__(self, log: Log, on_read: Callable[[], None] = lambda: None) -> None:
        self.log = log
        self.followers: list[Follower] = []
        self.wakes: list[Callable[[], None]] = []
        self.on_read = on_read
        self.reads = 0

    async def read(self, work: Callable[[Any], T]) -> T:
        self.reads += 1
        self.on_read()
        await asyncio.sleep(0)
        return work(FakeReader(self.log))

    def follow(self, follower: Follower) -> Callable[[], None]:
        self.followers.append(follower)
        return lambda: self.followers.remove(follower)

    def wakeups(self, wake: Callable[[], None]) -> Callable[[], None]:
        self.wakes.append(wake)
        return lambda: self.wakes.remove(wake)

    def commit_elsewhere(self, *records: records.Record) -> None:
        """Another process's commit: in the log, never fed here; its signal wakes."""
        for record in records:
            self.log.put(record)
        for wake in list(self.wakes):
            wake()

    def commit(self, *records: records.Record) -> None:
        """Log records in one commit and feed it, as the store's writer does."""
        batch = [self.log.put(record) for record in records]
        for follower in list(self.followers):
            follower(batch)


def test_following_replays_then_takes_the_feed_without_gap_or_duplicate() -> None:
    async def scenario() -> list[int]:
        log = Log()
        for i in range(7):
            log.put(network(f"n{i}", 100 + i))
        applied: list[int] = []
        reads = 0

        def commit_during_replay() -> None:
            nonlocal reads
            reads += 1
            if reads == 2:  # between two pages of the replay: both in the log and the feed
                store.commit(network("late", 200))

        store = FakeStore(log, on_read=commit_during_replay)
        follower = Following(
            store,  # type: ignore[arg-type]
            lambda change: applied.append(change.revision),
            loop=asyncio.get_running_loop(),
            page=3,
        )
        ready = asyncio.Event()
        task = asyncio.create_task(follower.run(ready.set))
        await ready.wait()
        store.commit(network("a", 300), network("b", 301))
        log.put(network("missed", 400))  # another writer's commit, never fed here
        store.commit(network("c", 500))  # the gap before it is read from the log
        await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert store.followers == []
        return applied

    assert asyncio.run(scenario()) == list(range(1, 13))


def test_another_processs_commit_is_read_when_the_signal_wakes_not_at_the_safety_poll() -> None:
    async def scenario() -> tuple[list[int], int]:
        log = Log()
        log.put(network("n", 100))
        applied: list[int] = []
        store = FakeStore(log)
        follower = Following(
            store,  # type: ignore[arg-type]
            lambda change: applied.append(change.revision),
            loop=asyncio.get_running_loop(),
            poll=3600.0,  # never, within this test
        )
        ready = asyncio.Event()
        task = asyncio.create_task(follower.run(ready.set))
        await ready.wait()
        for i in range(5):  # wake-ups that pile up before the follower runs: one read
            store.commit_elsewhere(network(f"o{i}", 200 + i))
        reads = store.reads
        while len(applied) < 6:
            await asyncio.sleep(0)
        reads = store.reads - reads
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert store.wakes == []
        return applied, reads

    applied, reads = asyncio.run(scenario())
    assert applied == [1, 2, 3, 4, 5, 6]
    assert reads == 1
