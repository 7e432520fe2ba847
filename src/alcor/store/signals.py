"""Wake-ups: another process committed to the store, so its change log may have grown.

A signal carries no changes, only the news that there may be some: the change-log table stays
the truth, and whoever is woken reads it after the revision it holds. A wake-up that comes for
nothing costs one read; a missed one loses nothing either, for followers keep a slow safety poll.

Every signal also wakes once as soon as it is watching: a commit made between the follower's
last read and the moment the signal started to watch is then not left to the safety poll.

- ``DataVersionSignal`` (SQLite): SQLite cannot notify, but ``PRAGMA data_version`` on a
  connection of its own changes whenever another connection has committed; it is read every
  ``interval`` seconds (5 ms: about 6 µs a read, and about 2% of a core idle on the machine of
  docs/benchmarks.md, most of it the thread's wake-ups, not SQLite); one such thread serves a
  process's every watcher (``Shared``): the log's and the status rows'.
- ``ListenSignal`` (PostgreSQL): the store's writer sends ``NOTIFY alcor_changes`` in every
  transaction that logged changes (delivered at COMMIT, never for a rollback), its payload the
  writing store's token; a dedicated connection LISTENs, and a notification from another token
  wakes. Status rows (``store/statuses.py``) notify ``STATUS_CHANNEL`` instead, listened for
  on a connection of their own. When that connection fails (the server restarts or fails over)
  it connects again, to the read-write server of a several-host URL, and wakes once more, for
  what it may have missed.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, Protocol

import sqlalchemy as sa

log = logging.getLogger(__name__)

CHANNEL = "alcor_changes"
STATUS_CHANNEL = "alcor_status"  # status rows written (``store/statuses.py``), not the log
DATA_VERSION_INTERVAL = 0.005  # seconds between two reads of SQLite's data_version
LISTEN_TIMEOUT = 0.5  # seconds a listener waits for notifications before it looks for stop
RECONNECT_PAUSE = 0.1
MAX_RECONNECT_PAUSE = 2.0

Wake = Callable[[], None]


class ChangeSignal(Protocol):
    def start(self, wake: Wake) -> None:
        """Call ``wake`` (from a thread of the signal's own) whenever another process may have
        committed, and once when it starts watching; ``wake`` must be cheap and not raise."""
        ...

    def stop(self) -> None: ...


def notify_statement(token: str, *, channel: str = CHANNEL) -> str:
    """What a PostgreSQL writer runs in a transaction that logged changes (or, on
    ``STATUS_CHANNEL``, wrote status rows)."""
    assert token.isalnum()  # made by the store itself (hex): safe to inline
    return f"NOTIFY {channel}, '{token}'"


class Shared:
    """One signal for several watchers: started with the first, stopped with the last; a
    watcher that comes later is woken once at once, as if the signal had just started."""

    def __init__(self, make: Callable[[], ChangeSignal]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._wakes: tuple[Wake, ...] = ()
        self._signal: ChangeSignal | None = None

    def add(self, wake: Wake) -> Callable[[], None]:
        """Watch; returns the function that stops watching."""
        with self._lock:
            self._wakes = (*self._wakes, wake)
            if self._signal is None:
                self._signal = self._make()
                self._signal.start(self._wake)
            else:
                wake()

        def stop() -> None:
            with self._lock:
                self._wakes = tuple(w for w in self._wakes if w is not wake)
                if not self._wakes and self._signal is not None:
                    self._signal.stop()
                    self._signal = None

        return stop

    def _wake(self) -> None:
        for wake in self._wakes:
            wake()


class NoSignal:
    """A store no other process can write to (SQLite in memory): nothing to wait for."""

    def start(self, wake: Wake) -> None:
        pass

    def stop(self) -> None:
        pass


class _Watching:
    """A daemon thread running ``watch`` until ``stop``."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, wake: Wake) -> None:
        self._thread = threading.Thread(
            target=self._watch, args=(wake,), name=self._name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """At once: the thread ends (and closes its connection) within its interval."""
        self._stopped.set()

    def _watch(self, wake: Wake) -> None:
        raise NotImplementedError


class DataVersionSignal(_Watching):
    def __init__(self, path: str, *, interval: float = DATA_VERSION_INTERVAL) -> None:
        super().__init__("alcor-store-data-version")
        self._path = path
        self._interval = interval

    def _watch(self, wake: Wake) -> None:
        seen: int | None = None
        connection: sqlite3.Connection | None = None
        try:
            while not self._stopped.is_set():
                try:
                    if connection is None:
                        connection = sqlite3.connect(self._path, isolation_level=None)
                    version = int(connection.execute("PRAGMA data_version").fetchone()[0])
                except sqlite3.Error as error:
                    log.warning("reading SQLite's data_version failed (%s); retrying", error)
                    if connection is not None:
                        connection.close()
                    connection, seen = None, None
                    self._stopped.wait(MAX_RECONNECT_PAUSE)
                    continue
                if version != seen:
                    seen = version  # the first read: the start's wake-up
                    wake()
                self._stopped.wait(self._interval)
        finally:
            if connection is not None:
                connection.close()


class ListenSignal(_Watching):
    def __init__(self, engine: sa.Engine, *, token: str, channel: str = CHANNEL) -> None:
        """``engine``: one of the listener's own (no pool), for the store's URL."""
        super().__init__("alcor-store-listen")
        self._engine = engine
        self._token = token
        self._channel = channel
        self._listening = False

    def _watch(self, wake: Wake) -> None:
        pause = RECONNECT_PAUSE
        try:
            while not self._stopped.is_set():
                try:
                    self._listen(wake)
                    return
                except Exception as error:
                    if self._stopped.is_set():
                        return  # stopped while its server went away: nothing to say
                    log.warning("listening for commits failed (%s); reconnecting", error)
                if self._listening:  # it had worked: the first retry comes soon again
                    self._listening, pause = False, RECONNECT_PAUSE
                self._stopped.wait(pause)
                pause = min(pause * 2, MAX_RECONNECT_PAUSE)
        finally:
            self._engine.dispose()

    def _listen(self, wake: Wake) -> None:
        pooled = self._engine.raw_connection()
        try:
            connection: Any = pooled.driver_connection  # psycopg's own
            connection.autocommit = True
            connection.execute(f"LISTEN {self._channel}")
            self._listening = True
            wake()  # listening from here: what came before is read once
            while not self._stopped.is_set():
                for notification in connection.notifies(timeout=LISTEN_TIMEOUT):
                    if notification.payload != self._token:
                        wake()
        finally:
            with contextlib.suppress(Exception):
                pooled.invalidate()
            with contextlib.suppress(Exception):
                pooled.close()
