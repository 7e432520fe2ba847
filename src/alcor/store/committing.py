"""The store's engines and its one writer: group commit over a single connection.

Requests hand their write work to ``SqlStore.write``. One writer thread takes whatever work is
waiting, runs each piece in its own savepoint inside one transaction, writes the change-log rows,
bumps the global revision, commits once, and only then answers every waiting request. A piece
that fails is rolled back alone (its savepoint) and its in-memory undo callbacks run; the others
still commit. SQLite allows one writer anyway; many small transactions fighting over its lock
are slower than one that carries them all.

Reads run on pooled connections; on SQLite in WAL mode they never wait for the writer.

After each COMMIT the writer hands the commit's change-log rows to its followers (``follow``),
before it answers the requests: the goal-state engine hears of a change as soon as it is
durable, and never of one that was rolled back. Other processes' commits are news of another
kind (``wakeups``, ``signals.py``): on PostgreSQL the writer also sends a NOTIFY in every
transaction that logged changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import queue
import sqlite3
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa

from alcor.model import errors
from alcor.store import migrations, signals
from alcor.store.caching import TopologyCache
from alcor.store.counting import ProjectCounts
from alcor.store.interface import Change, Follower, OthersFollower, Reader, Writer
from alcor.store.sql import SqlReader, SqlWriter
from alcor.store.statements import Statements

T = TypeVar("T")
log = logging.getLogger(__name__)

MAX_BATCH = 256
# Beyond this many rows committed by other processes since our last write, the caches forget
# everything rather than read them all.
MAX_OTHERS_CHANGES = 10_000
RECONNECT_PAUSE = 0.1
MAX_RECONNECT_PAUSE = 2.0
RETRY_AFTER = 1  # seconds: what a 503 tells a client to wait


def outages(engine: sa.Engine) -> tuple[type[BaseException], ...]:
    """The errors that mean the database cannot be reached or cannot take the work now (down,
    failing over, read-only standby, locked): SQLAlchemy's, and the driver's own (raw cursors
    raise those)."""
    dbapi = engine.dialect.dbapi
    driver = tuple(getattr(dbapi, name) for name in ("OperationalError", "InterfaceError"))
    return (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.InternalError, *driver)


def unreachable(error: BaseException) -> errors.Unavailable:
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return errors.Unavailable(
        "The store cannot be reached right now; try again.",
        detail=first_line[:200],
        retry_after=RETRY_AFTER,
    )


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def driver_url(url: str) -> str:
    """``url`` with its driver named: a plain ``postgresql://`` means psycopg 3 (SQLAlchemy's own
    default there is psycopg2, which we do not ship). libpq's several hosts
    (``postgresql://user@h1:5432,h2:5432/db?target_session_attrs=read-write``, which SQLAlchemy
    cannot parse) become SQLAlchemy's ``?host=h1:5432&host=h2:5432``."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            url = "postgresql+psycopg://" + url[len(plain) :]
    if not url.startswith("postgresql"):
        return url
    parts = urllib.parse.urlsplit(url)
    credentials, _, hosts = parts.netloc.rpartition("@")
    if "," not in hosts:
        return url
    user = f"{credentials}@" if credentials else ""
    query = "&".join(
        [
            *(f"host={urllib.parse.quote(host, safe=':[]')}" for host in hosts.split(",")),
            parts.query,
        ]
    ).rstrip("&")
    return f"{parts.scheme}://{user}{parts.path}?{query}"


def create_engine(url: str, *, synchronous: str = "FULL", writer: bool = False) -> sa.Engine:
    """An engine for ``url``. On SQLite: WAL, foreign keys, and explicit BEGIN (IMMEDIATE for
    the writer) so that savepoints work and a write transaction holds the lock from its start.
    On PostgreSQL: psycopg 3, and connections checked before use (a failed-over server)."""
    url = driver_url(url)
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True)
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        poolclass=sa.pool.StaticPool if ":memory:" in url or url == "sqlite://" else None,
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        if writer:
            begin_immediate(connection.connection.driver_connection)
        else:
            connection.exec_driver_sql("BEGIN")

    return engine


LOCK_WAIT = 30.0  # seconds a writer waits for another process's write transaction
LOCK_POLL = 0.0005  # seconds between its tries


def begin_immediate(connection: Any) -> None:
    """BEGIN IMMEDIATE on an sqlite3 connection, trying again every half millisecond while
    another process holds the write lock. SQLite's own busy handler sleeps ever longer (up to
    100 ms a try), so a writer waiting behind another process's stream of short transactions
    keeps missing the moments between them: with the roles split, the southbound's status rows
    waited up to half a second behind the API's commits."""
    deadline = time.monotonic() + LOCK_WAIT
    connection.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
            time.sleep(LOCK_POLL)
    finally:
        connection.execute(f"PRAGMA busy_timeout = {int(LOCK_WAIT * 1000)}")


class _Job:
    __slots__ = ("future", "loop", "work")

    def __init__(self, work: Callable[[Writer], Any], loop: asyncio.AbstractEventLoop) -> None:
        self.work = work
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()

    def settle(self, result: Any, error: BaseException | None) -> None:
        def resolve() -> None:
            if self.future.done():
                return
            if error is not None:
                self.future.set_exception(error)
            else:
                self.future.set_result(result)

        with contextlib.suppress(RuntimeError):  # the caller's loop is gone: nobody to answer
            self.loop.call_soon_threadsafe(resolve)


class SqlStore:
    """The ``Store`` over SQLAlchemy: pooled readers, one group-committing writer thread."""

    def __init__(self, url: str, *, synchronous: str = "FULL", now: Callable[[], str] = utc_now):
        self.url = url
        self._now = now
        shared_memory = url in ("sqlite://", "sqlite:///:memory:")
        self._write_engine = create_engine(url, synchronous=synchronous, writer=True)
        self._read_engine = (
            self._write_engine if shared_memory else create_engine(url, synchronous=synchronous)
        )
        self._inline_reads = url.startswith("sqlite")
        self._shared_memory = shared_memory
        # names this store's commits in its NOTIFYs (PostgreSQL), so that its own listener can
        # leave them to the commit feed
        self._token = uuid.uuid4().hex
        postgresql = self._write_engine.dialect.name != "sqlite"
        self._notify = signals.notify_statement(self._token) if postgresql else None
        self._notify_status = (
            signals.notify_statement(self._token, channel=signals.STATUS_CHANNEL)
            if postgresql
            else None
        )
        self._outages = outages(self._read_engine)
        migrations.upgrade(self._write_engine)
        self._cache = TopologyCache()
        self._counts = ProjectCounts()
        self._statements = Statements(self._write_engine.dialect)
        self._readers = threading.local()
        self._reader_lock = threading.Lock()
        self._reader_connections: list[sa.Connection] = []
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._followers: tuple[Follower, ...] = ()
        self._followers_lock = threading.Lock()
        self._others_followers: tuple[OthersFollower, ...] = ()
        self._signals: dict[str, signals.Shared] = {}
        self._signals_lock = threading.Lock()
        # The revision the store had after this process's last write (None: not known, so the
        # caches are not trusted); written and read by the writer thread only.
        self._seen: int | None = None
        # told (in the writer thread) the seconds each commit took and its pieces of work
        self.on_commit: Callable[[float, int], None] | None = None
        self._thread = threading.Thread(target=self._run, name="alcor-store-writer", daemon=True)
        self._thread.start()

    async def read(self, work: Callable[[Reader], T]) -> T:
        if self._inline_reads:  # SQLite reads are local and short: no thread hop
            return self.read_now(work)
        return await asyncio.to_thread(self.read_now, work)

    def read_now(self, work: Callable[[Reader], T]) -> T:
        try:
            connection = self._reading_connection()
            with connection.begin():
                return work(SqlReader(connection, self._statements))
        except self._outages as error:  # the next read on this thread connects anew
            kept: sa.Connection | None = getattr(self._readers, "connection", None)
            self._readers.connection = None
            if kept is not None:
                with contextlib.suppress(Exception):
                    kept.invalidate()
            raise unreachable(error) from error

    def _reading_connection(self) -> sa.Connection:
        """One connection per reading thread, kept open: checking one out of the pool for
        every read cost as much as a small read itself."""
        connection: sa.Connection | None = getattr(self._readers, "connection", None)
        if connection is None or connection.closed or connection.invalidated:
            connection = self._read_engine.connect()
            self._readers.connection = connection
            with self._reader_lock:
                self._reader_connections.append(connection)
        return connection

    async def write(self, work: Callable[[Writer], T]) -> T:
        job = _Job(work, asyncio.get_running_loop())
        self._jobs.put(job)
        result: T = await job.future
        return result

    def follow(self, follower: Follower) -> Callable[[], None]:
        with self._followers_lock:
            self._followers = (*self._followers, follower)

        def stop() -> None:
            with self._followers_lock:
                self._followers = tuple(f for f in self._followers if f is not follower)

        return stop

    def wakeups(self, wake: signals.Wake) -> Callable[[], None]:
        return self._signal(signals.CHANNEL).add(wake)

    def status_wakeups(self, wake: signals.Wake) -> Callable[[], None]:
        return self._signal(signals.STATUS_CHANNEL).add(wake)

    def _signal(self, channel: str) -> signals.Shared:
        """One signal per channel; SQLite's ``data_version`` has no channels: one for all."""
        url = sa.engine.make_url(driver_url(self.url))
        sqlite = url.get_backend_name() == "sqlite"
        key = "" if sqlite else channel
        with self._signals_lock:
            shared = self._signals.get(key)
            if shared is None:
                if self._shared_memory:
                    make: Callable[[], signals.ChangeSignal] = signals.NoSignal
                elif sqlite:
                    make = functools.partial(signals.DataVersionSignal, url.database or "")
                else:
                    make = functools.partial(self._listener, url, channel)
                shared = self._signals[key] = signals.Shared(make)
        return shared

    def _listener(self, url: sa.URL, channel: str) -> signals.ChangeSignal:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        return signals.ListenSignal(engine, token=self._token, channel=channel)

    def follow_others(self, follower: OthersFollower) -> None:
        self._others_followers = (*self._others_followers, follower)

    def _catch_up(self, connection: sa.Connection, revision: int) -> None:
        """Make the caches forget what other processes committed since our last write: they
        are true for the store at ``revision`` (this transaction's start) after this."""
        if revision == self._seen:
            return
        changes = None if self._seen is None else self._others_changes(connection, revision)
        self._cache.follow_others(changes)
        self._counts.follow_others(changes)
        for follower in self._others_followers:
            follower(changes)
        self._seen = revision

    def _others_changes(self, connection: sa.Connection, revision: int) -> list[Change] | None:
        assert self._seen is not None
        reader = SqlReader(connection, self._statements)
        if reader.compacted_through() > self._seen or revision - self._seen > MAX_OTHERS_CHANGES:
            return None
        return reader.changes_since(self._seen, MAX_OTHERS_CHANGES)

    def _publish(self, writer: SqlWriter) -> None:
        followers = self._followers
        if not followers or not writer.pending_changes:
            return
        changes = writer.logged_changes()
        for follower in followers:
            try:
                follower(changes)
            except Exception:
                log.exception("a follower of the commit feed failed")

    async def close(self) -> None:
        self._jobs.put(None)
        await asyncio.to_thread(self._thread.join)
        with self._reader_lock:
            for connection in self._reader_connections:
                connection.close()
        self._write_engine.dispose()
        self._read_engine.dispose()

    def _run(self) -> None:
        """Serve batches until closed. Nothing may end this loop but ``close``: a batch that
        fails in an unforeseen way is answered with Unavailable, and the connection renewed."""
        pause = RECONNECT_PAUSE
        while True:
            try:
                with self._write_engine.connect() as connection:
                    pause = RECONNECT_PAUSE
                    while (batch := self._next_batch()) is not None:
                        try:
                            self._commit(connection, batch)
                        except BaseException as error:
                            if not isinstance(error, self._outages):
                                log.exception("store writer failed; renewing its connection")
                            failure = errors.Unavailable(f"The store could not commit: {error}")
                            for job in batch:
                                job.settle(None, failure)
                            raise
                    return
            except Exception as error:
                self._seen = None  # every cache starts again from the store it reconnects to
                if not self._refuse_waiting(unreachable(error)):
                    return
                time.sleep(pause)
                pause = min(pause * 2, MAX_RECONNECT_PAUSE)

    def _refuse_waiting(self, failure: errors.Unavailable) -> bool:
        """Answer the work waiting while the store is unreachable with ``failure``, rather than
        let it hang; False once the store is closed."""
        with contextlib.suppress(queue.Empty):
            while True:
                job = self._jobs.get_nowait()
                if job is None:
                    return False
                job.settle(None, failure)
        return True

    def _next_batch(self) -> list[_Job] | None:
        """Whatever work is waiting (at least one piece, at most MAX_BATCH); None once closed."""
        first = self._jobs.get()
        if first is None:
            return None
        batch = [first]
        with contextlib.suppress(queue.Empty):
            while len(batch) < MAX_BATCH:
                job = self._jobs.get_nowait()
                if job is None:
                    self._jobs.put(None)
                    break
                batch.append(job)
        return batch

    def _commit(self, connection: sa.Connection, batch: list[_Job]) -> None:
        """One transaction for the whole batch. Alone, a piece of work needs no savepoint: if it
        fails, the transaction is rolled back."""
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        writer: SqlWriter | None = None
        started = time.perf_counter()
        try:
            with connection.begin():
                writer = SqlWriter.begin(
                    connection,
                    now=self._now,
                    cache=self._cache,
                    counts=self._counts,
                    statements=self._statements,
                )
                self._catch_up(connection, writer.start[0])
                for job in batch:
                    outcomes.append(self._attempt(connection, writer, job, alone=len(batch) == 1))
                writer.flush_changes()
                if self._notify is not None and writer.pending_changes:
                    connection.exec_driver_sql(self._notify)  # delivered at COMMIT
                if self._notify_status is not None and writer.status_written:
                    connection.exec_driver_sql(self._notify_status)
        except _Abandoned as abandoned:  # the only piece of work failed and was rolled back
            batch[0].settle(None, abandoned.error)
            return
        except Exception as error:  # the commit itself failed: nothing of the batch happened
            self._seen = None  # did it commit? The caches cannot tell: they start again
            if isinstance(error, self._outages):
                log.warning("store unreachable, %d writes refused: %s", len(batch), error)
            else:
                log.exception("store commit failed")
            if writer is not None:
                writer.rewind(writer.start)
            failure = unreachable(error)
            for job in batch:
                job.settle(None, failure)
            if connection.invalidated or isinstance(error, self._outages):
                raise  # a connection that failed is not trusted again: ``_run`` renews it
            return
        self._seen = writer.revision()
        if self.on_commit is not None:
            self.on_commit(time.perf_counter() - started, len(batch))
        self._publish(writer)
        for job, result, failed in outcomes:
            job.settle(result, failed)

    def _attempt(
        self, connection: sa.Connection, writer: SqlWriter, job: _Job, *, alone: bool
    ) -> tuple[_Job, Any, BaseException | None]:
        mark = writer.mark()
        savepoint = None if alone else connection.begin_nested()
        try:
            result = job.work(writer)
        except self._outages:
            raise  # not this work's fault: the whole batch is refused, the connection renewed
        except Exception as error:
            if not isinstance(error, errors.AlcorError):
                log.exception("write failed")
            writer.rewind(mark)
            if savepoint is None:
                raise _Abandoned(error) from error
            savepoint.rollback()
            return job, None, error
        if savepoint is not None:
            savepoint.commit()
        return job, result, None


class _Abandoned(Exception):
    """Unwinds the transaction of a batch whose only piece of work failed."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error
