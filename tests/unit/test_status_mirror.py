"""Status across processes, without processes: a board's changes go through the reporter into
status rows (an in-memory fake of the store's status tables), a mirror follows the rows, and
the mirror answers as the board does; what is written when, and what a mirror reads again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from alcor.services import status
from alcor.services.status_mirror import Combined, StatusMirror
from alcor.southbound import owners
from alcor.southbound.reporting import Reporter
from alcor.store import statuses


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class StatusTables:
    """``store/statuses.py`` in memory: the counter, rows keyed by what they describe, each
    stamped with the counter of its write; doubles as the store and its reader and writer."""

    def __init__(self) -> None:
        self.revision = 0
        self.ports: dict[tuple[str, str], tuple[statuses.PortRow, str, int]] = {}
        self.hosts: dict[str, tuple[statuses.HostRow, int]] = {}
        self.writes = 0
        self.reads = 0  # of rows

    def write_status(
        self,
        *,
        writer: str,
        ports: Any = (),
        hosts: Any = (),
    ) -> int:
        self.revision += 1
        self.writes += 1
        for port in ports:
            self.ports[port.port_id, port.host] = (port, writer, self.revision)
        for host in hosts:
            self.hosts[host.host] = (host, self.revision)
        return self.revision

    def forget_unprogrammed_status(self) -> int:
        gone = [k for k, (row, _w, _r) in self.ports.items() if not row.revision]
        for key in gone:
            del self.ports[key]
        return len(gone)

    def status_revision(self) -> int:
        return self.revision

    def status_since(self, revision: int, *, excluding: str = "") -> statuses.StatusRows:
        self.reads += 1
        return statuses.StatusRows(
            revision=self.revision,
            ports=[p for p, w, r in self.ports.values() if r > revision and w != excluding],
            hosts=[h for h, r in self.hosts.values() if r > revision and h.writer != excluding],
        )

    async def write(self, work: Callable[[Any], Any]) -> Any:
        return work(self)


def setup(
    writer: str = "sb1", *, counters_every: float = 0.0
) -> tuple[Clock, status.StatusBoard, Reporter, StatusTables]:
    """A board on a fake clock whose reporter writes every change at once (no window, and
    counters as soon as they change), unless told otherwise."""
    clock = Clock()
    board = status.StatusBoard(grace=5.0, clock=clock, wall=clock)
    tables = StatusTables()
    reporter = Reporter(
        board=board,
        store=tables,  # type: ignore[arg-type]
        writer=writer,
        clock=clock,
        window=0.0,
        counters_every=counters_every,
    )
    board.on_touch = reporter.touched
    return clock, board, reporter, tables


def report(reporter: Reporter) -> None:
    asyncio.run(reporter.step())


def mirrored(tables: StatusTables, mirror: StatusMirror) -> StatusMirror:
    mirror.take(mirror.read(tables))  # type: ignore[arg-type]
    return mirror


def same(board: status.StatusBoard, mirror: StatusMirror, ports: list[str], host: str) -> None:
    for port in ports:
        assert mirror.port_status(port, host) == board.port_status(port, host), port
        assert dict(mirror.vif_details(port, host)) == dict(board.vif_details(port, host)), port
    assert mirror.report(host) == board.report(host)
    assert mirror.health_of(host) == board.health_of(host)


def test_a_mirror_of_the_rows_answers_as_the_board_through_a_hosts_life() -> None:
    clock, board, reporter, tables = setup()
    mirror = StatusMirror(clock=clock, wall=clock)
    ports = ["p1", "p2", "p3"]
    steps: list[Callable[[], None]] = [
        lambda: board.connected("h1", applied_revision=0, agent_version="1.0", peer="ipv4:x"),
        lambda: [board.program(p, "h1", 7) for p in ports] and None,
        lambda: board.desire("h1", 7),
        lambda: board.acknowledged(
            "h1",
            7,
            failures=[status.Failure(kind="port", id="p3", message="no device")],
            programming_micros=1500,
            bindings={"p1": {"netns": "ns-1"}},
        ),
        lambda: board.acknowledged("h1", 7, failures=[], programming_micros=10),
        lambda: board.program("p2", "h1", 9),  # changed: DOWN until acknowledged again
        lambda: board.unprogram("p1", "h1"),  # gone from the host, details with it
        lambda: board.disconnected("h1"),
    ]
    for step in steps:
        step()
        report(reporter)
        same(board, mirrored(tables, mirror), ports, "h1")
    assert mirror.port_status("p3", "h1") == "ACTIVE"
    clock.now += 5.1  # beyond the writer's grace: the same on both sides, with no new row
    assert mirror.port_status("p3", "h1") == board.port_status("p3", "h1") == "DOWN"


def test_an_ack_making_many_ports_active_writes_one_host_row() -> None:
    _clock, board, reporter, tables = setup()
    board.connected("h1", applied_revision=0)
    for index in range(500):
        board.program(f"p{index}", "h1", 3)
    report(reporter)
    mirror = mirrored(tables, StatusMirror())
    assert mirror.port_status("p0", "h1") == "DOWN"
    before = tables.status_since(tables.revision)
    board.acknowledged("h1", 3, failures=[], programming_micros=10)
    report(reporter)
    rows = tables.status_since(tables.revision - 1)
    assert (len(rows.ports), len(rows.hosts), before.ports) == (0, 1, [])
    mirrored(tables, mirror)
    assert {mirror.port_status(f"p{i}", "h1") for i in range(500)} == {"ACTIVE"}


def test_counters_alone_wait_for_their_period_and_an_ack_does_not() -> None:
    clock, board, reporter, tables = setup(counters_every=1.0)
    board.connected("h1", applied_revision=0)
    report(reporter)
    written = tables.writes
    board.heartbeat("h1", status.Health(at=clock.now, uptime_seconds=5))
    board.sent("h1", entries=3, snapshot=False)

    async def counters_wait() -> None:
        await reporter.step()
        assert tables.writes == written  # not yet: less than a second since the last
        board.acknowledged("h1", 1, failures=[], programming_micros=10)
        await reporter.step()  # an ack is written at once, with the counters touched before
        assert tables.writes == written + 1

    asyncio.run(counters_wait())
    mirror = mirrored(tables, StatusMirror(clock=clock, wall=clock))
    same(board, mirror, [], "h1")
    clock.now += 1.0
    board.heartbeat("h1", status.Health(at=clock.now, uptime_seconds=6))
    report(reporter)
    assert tables.writes == written + 2


def test_changes_within_a_window_after_a_write_wait_for_its_end_and_go_together() -> None:
    board = status.StatusBoard()
    tables = StatusTables()
    reporter = Reporter(board=board, store=tables, writer="sb", window=0.05)  # type: ignore[arg-type]
    board.on_touch = reporter.touched

    async def scenario() -> None:
        board.connected("h1", applied_revision=0)
        await reporter.step()  # the first after a quiet spell: at once
        assert tables.writes == 1
        board.acknowledged("h1", 1, failures=[], programming_micros=10)
        board.program("p1", "h1", 2)
        await reporter.step()
        assert tables.writes == 1  # within the window
        await asyncio.sleep(0.1)
        await reporter.step()
        assert tables.writes == 2

    asyncio.run(scenario())
    rows = tables.status_since(1)
    assert ([p.port_id for p in rows.ports], [h.host for h in rows.hosts]) == (["p1"], ["h1"])


def test_an_ack_is_written_within_the_window_though_counters_wait_for_their_hour() -> None:
    board = status.StatusBoard()
    tables = StatusTables()
    reporter = Reporter(
        board=board,
        store=tables,  # type: ignore[arg-type]
        writer="sb",
        window=0.05,
        counters_every=3600.0,
    )

    async def acked() -> bool:
        rows = tables.status_since(0)
        return any(b'"acked":1' in row.report.encode() for row in rows.hosts)

    async def scenario() -> None:
        running = asyncio.create_task(reporter.run())
        await asyncio.sleep(0.01)  # running: the board's changes are noted from here
        board.connected("h1", applied_revision=0)
        board.connected("h2", applied_revision=0)
        await asyncio.sleep(0.01)  # written at once (the counters with them)
        board.heartbeat("h2", status.Health(at=1.0, uptime_seconds=5))  # counters: in an hour
        await asyncio.sleep(0.01)
        board.acknowledged("h1", 1, failures=[], programming_micros=10)
        for _ in range(3000):  # a generous deadline (30 s), not a measure
            if await acked():
                break
            await asyncio.sleep(0.01)
        running.cancel()
        assert await acked()

    asyncio.run(scenario())


def test_a_mirror_reads_only_what_was_written_after_what_it_holds() -> None:
    _clock, board, reporter, tables = setup()
    board.connected("h1", applied_revision=0)
    board.program("p1", "h1", 2)
    report(reporter)
    mirror = mirrored(tables, StatusMirror())
    assert mirror.read(tables) == statuses.StatusRows(  # type: ignore[arg-type]
        revision=mirror.held, ports=[], hosts=[]
    )
    board.program("p2", "h1", 3)
    report(reporter)
    rows = mirror.read(tables)  # type: ignore[arg-type]
    assert [p.port_id for p in rows.ports] == ["p2"]
    own = mirrored(tables, StatusMirror(excluding="sb1"))
    assert own.hosts() == []
    assert own.port_status("p1", "h1") == "DOWN"


def test_a_mirror_does_not_read_back_what_its_own_process_wrote() -> None:
    _clock, board, reporter, tables = setup("me")
    mirror = StatusMirror(excluding="me")
    reporter.on_written = mirror.own
    board.connected("h1", applied_revision=0)
    report(reporter)
    board.program("p1", "h1", 2)
    report(reporter)
    mirrored(tables, mirror)
    assert (tables.reads, mirror.held) == (0, tables.revision)
    other = statuses.HostRow(host="h2", writer="them", report="{}")
    tables.write_status(writer="them", hosts=[other])
    board.program("p2", "h1", 3)
    report(reporter)
    mirrored(tables, mirror)  # another's write among them: read
    assert (tables.reads, mirror.hosts()) == (1, ["h2"])


def test_a_host_silent_too_long_is_lost_in_every_mirror() -> None:
    _clock, board, reporter, tables = setup()
    board.connected("h1", applied_revision=0)
    board.program("p1", "h1", 2)
    board.acknowledged("h1", 2, failures=[], programming_micros=10)
    report(reporter)
    mirror = mirrored(tables, StatusMirror())
    assert mirror.port_status("p1", "h1") == "ACTIVE"
    board.lose("h1")  # the node watch
    report(reporter)
    assert mirrored(tables, mirror).port_status("p1", "h1") == "DOWN"
    assert mirror.report("h1") is not None
    assert mirror.report("h1").lost


def test_a_southbound_that_starts_disconnects_the_hosts_an_earlier_one_left_connected() -> None:
    clock, board, reporter, tables = setup("old")
    board.connected("h1", applied_revision=0)
    board.program("p1", "h1", 2)
    board.acknowledged("h1", 2, failures=[], programming_micros=10)
    report(reporter)  # then the process dies
    _c, _b, successor, _t = setup("new")
    successor.store = tables  # type: ignore[assignment]
    successor.board = status.StatusBoard(grace=5.0, clock=clock, wall=clock)
    assert asyncio.run(successor.disown()) == 1
    mirror = mirrored(tables, StatusMirror(clock=clock, wall=clock))
    assert mirror.port_status("p1", "h1") == "ACTIVE"  # within the grace, as a stream's end
    clock.now += 5.1
    assert mirror.port_status("p1", "h1") == "DOWN"
    assert asyncio.run(successor.disown()) == 0  # nothing left connected


def test_a_serving_process_reads_its_board_for_its_hosts_and_the_rows_for_the_others() -> None:
    clock, board, _reporter, tables = setup("me")
    other_clock, other, other_reporter, _t = setup("other")
    other_reporter.store = tables  # type: ignore[assignment]
    other.on_touch = other_reporter.touched
    board.connected("h1", applied_revision=0)
    board.program("p1", "h1", 2)
    board.acknowledged("h1", 2, failures=[], programming_micros=10)
    other.connected("h2", applied_revision=0)
    other.program("p2", "h2", 2)
    report(other_reporter)
    view = Combined(board, mirrored(tables, StatusMirror(excluding="me", clock=clock, wall=clock)))
    assert view.port_status("p1", "h1") == "ACTIVE"  # from the board
    assert view.port_status("p2", "h2") == "DOWN"  # from the rows: h2 has not acknowledged
    other.acknowledged("h2", 2, failures=[], programming_micros=10)
    report(other_reporter)
    mirrored(tables, view.mirror)
    assert (view.port_status("p1", "h1"), view.port_status("p2", "h2")) == ("ACTIVE", "ACTIVE")
    assert view.hosts() == ["h1", "h2"]
    assert view.connected_hosts() == 2
    board.disconnected("h1")  # h1 moves to the other process, which writes of it later
    other_clock.now += 1
    other.connected("h1", applied_revision=2)
    other.program("p1", "h1", 2)
    report(other_reporter)
    mirrored(tables, view.mirror)
    link = view.link_of("h1")
    assert link is not None
    assert link.connected
    assert view.port_status("p1", "h1") == "ACTIVE"


class Sharing:
    """Southbound replicas sharing the hosts (rendezvous hashing over ``live``, one set both
    replicas' views share), as replica ``me`` sees them."""

    def __init__(self, me: str, live: dict[str, str]) -> None:
        self.me = me
        self.members = live

    def owns(self, key: str) -> bool:
        return owners.owner(key, self.members) == self.me

    async def until_joined(self) -> None:
        return None


def test_replicas_write_only_their_own_hosts_and_a_newcomer_leaves_a_live_ones_rows() -> None:
    clock, board_a, a, tables = setup("a")
    _c, board_b, b, _t = setup("b")
    b.store = tables  # type: ignore[assignment]
    live = {"a": "10.0.0.1:9697", "b": "10.0.0.2:9697"}
    h1 = next(h for h in (f"h{n}" for n in range(100)) if owners.owner(h, live) == "a")

    async def scenario() -> None:
        running = asyncio.create_task(a.run(replicas=Sharing("a", live)))
        board_a.connected(h1, applied_revision=0)
        board_a.program("p1", h1, 2)
        board_a.acknowledged(h1, 2, failures=[], programming_micros=10)
        await a.step()
        joining = asyncio.create_task(b.run(replicas=Sharing("b", live)))
        await asyncio.sleep(0.01)  # b has disowned what it would
        mirror = mirrored(tables, StatusMirror(clock=clock, wall=clock))
        clock.now += 10  # beyond any grace: only a connected host keeps its ports ACTIVE
        assert mirror.port_status("p1", h1) == "ACTIVE"  # a is live: b left its host alone
        board_b.program("p2", h1, 3)  # b follows the log too; h1 is a's to write of
        await b.step()
        assert mirrored(tables, mirror).port_status("p2", h1) == "DOWN"  # no row of it yet

        del live["a"]  # a dies: h1 is b's now, and comes to it
        b.view_changed()  # b writes whole what it gained, p2 included
        board_b.connected(h1, applied_revision=2)
        board_b.program("p1", h1, 2)
        board_b.acknowledged(h1, 3, failures=[], programming_micros=10)
        await b.step()
        board_a.disconnected(h1)  # a ended h1's stream: not its to write of any more
        await a.step()
        mirrored(tables, mirror)
        assert (mirror.port_status("p1", h1), mirror.port_status("p2", h1)) == ("ACTIVE",) * 2
        link = mirror.link_of(h1)
        assert link is not None
        assert link.connected
        for task in (running, joining):
            task.cancel()
        await asyncio.gather(running, joining, return_exceptions=True)

    asyncio.run(scenario())


def spread(view: status.StatusView, port: str, idle: str = "ACTIVE") -> str:
    return status.spread_status(view, port, router_id="r1", idle=idle)


def test_a_routers_ports_follow_every_host_holding_it_on_the_board_and_in_the_rows() -> None:
    """An interface is held by every host holding its router: DOWN until the engine took it
    in, then ACTIVE while no host holds it, DOWN while a reachable holder has not acknowledged
    the revision that first carried it there, ERROR while one lists the router as failed, not
    waiting for a holder that is away, DOWN when none is reachable; the mirror of the rows
    answers the same at every step."""
    clock, board, reporter, tables = setup()
    mirror = StatusMirror(clock=clock, wall=clock)
    failed = [status.Failure(kind="router", id="r1", message="no namespace")]

    def ack(host: str, revision: int, failures: list[status.Failure]) -> Callable[[], None]:
        return lambda: board.acknowledged(host, revision, failures=failures, programming_micros=1)

    def hold(host: str, revision: int, *ports: str) -> Callable[[], None]:
        return lambda: board.hold_router("r1", host, revision, frozenset(ports))

    expected: list[tuple[Callable[[], None], str, str]] = [
        (lambda: None, "DOWN", "DOWN"),  # not taken in by the engine yet: nobody can tell
        (lambda: [board.know(p, 3) for p in ("i1", "i2")] and None, "ACTIVE", "ACTIVE"),
        (lambda: board.connected("h1", applied_revision=0), "ACTIVE", "ACTIVE"),
        (hold("h1", 4, "i1"), "DOWN", "ACTIVE"),
        (ack("h1", 4, []), "ACTIVE", "ACTIVE"),
        (hold("h1", 6, "i1", "i2"), "ACTIVE", "DOWN"),  # i1 keeps revision 4, i2 new at 6
        (lambda: board.connected("h2", applied_revision=0), "ACTIVE", "DOWN"),
        (hold("h2", 7, "i1", "i2"), "DOWN", "DOWN"),
        (ack("h1", 7, []), "DOWN", "DOWN"),  # waiting for h2
        (ack("h2", 7, failed), "ERROR", "ERROR"),
        (ack("h2", 7, []), "ACTIVE", "ACTIVE"),
        (hold("h1", 8, "i1"), "ACTIVE", "ACTIVE"),
        (hold("h2", 9), "ACTIVE", "ACTIVE"),  # h2 left r1
        (hold("h1", 9), "ACTIVE", "ACTIVE"),  # all left: nothing to wait for
        (lambda: board.know("i2", 9, known=False), "ACTIVE", "DOWN"),  # i2 is gone
    ]
    for step, i1, i2 in expected:
        step()
        report(reporter)
        mirrored(tables, mirror)
        assert (spread(board, "i1"), spread(board, "i2")) == (i1, i2)
        assert (spread(mirror, "i1"), spread(mirror, "i2")) == (i1, i2)
    board.hold_router("r1", "h1", 10, frozenset({"i1"}))
    board.acknowledged("h1", 10, failures=[], programming_micros=1)
    board.disconnected("h1")
    report(reporter)
    mirrored(tables, mirror)
    assert spread(board, "i1") == spread(mirror, "i1") == "ACTIVE"  # within the grace
    clock.now += 5.1  # its only holder away: nothing routes for the router
    assert spread(board, "i1") == spread(mirror, "i1") == "DOWN"
    assert spread(board, "gw", idle="DOWN") == spread(mirror, "gw", idle="DOWN") == "DOWN"
    assert board.ports_on("h1") == 0  # a router's ports are not the host's own


def test_a_serving_process_judges_a_routers_port_by_each_holders_own_view() -> None:
    """Two southbound processes each serve one holder: the interface waits for both, each read
    where its host is served (the board here, the rows of the other process there)."""
    clock, board, _reporter, tables = setup("me")
    _other_clock, other, other_reporter, _t = setup("other")
    other_reporter.store = tables  # type: ignore[assignment]
    for engine_view in (board, other):  # every process's engine programs every host
        engine_view.know("i1", 3)
        engine_view.hold_router("r1", "h1", 3, frozenset({"i1"}))
        engine_view.hold_router("r1", "h2", 3, frozenset({"i1"}))
    board.connected("h1", applied_revision=3)
    other.connected("h2", applied_revision=0)
    report(other_reporter)
    view = Combined(board, mirrored(tables, StatusMirror(excluding="me", clock=clock, wall=clock)))
    assert view.holders("i1") == ["h1", "h2"]
    assert spread(view, "i1") == "DOWN"  # h2 has not acknowledged
    other.acknowledged("h2", 3, failures=[], programming_micros=1)
    report(other_reporter)
    mirrored(tables, view.mirror)
    assert spread(view, "i1") == "ACTIVE"
