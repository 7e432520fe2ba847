"""Two processes writing one SQLite file: a writer waits for the other's write transaction in
short steps (not SQLite's own back-off to 100 ms sleeps), and gives up after ``LOCK_WAIT`` with
the driver's error, which the store treats as an outage (503)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from alcor.store import committing


def connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


def test_a_writer_takes_the_lock_as_soon_as_the_other_process_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "alcor.db"
    holder, waiter = connect(path), connect(path)
    holder.execute("BEGIN IMMEDIATE")
    released = 0.0

    def release() -> None:
        nonlocal released
        time.sleep(0.2)
        released = time.monotonic()
        holder.execute("COMMIT")

    thread = threading.Thread(target=release)
    thread.start()
    committing.begin_immediate(waiter)  # blocks until the holder commits
    took = time.monotonic()
    thread.join()
    assert waiter.in_transaction
    assert took >= released
    waiter.execute("COMMIT")
    busy = waiter.execute("PRAGMA busy_timeout").fetchone()[0]
    assert busy == committing.LOCK_WAIT * 1000  # the connection's own timeout is back


def test_a_writer_gives_up_after_the_lock_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "alcor.db"
    holder, waiter = connect(path), connect(path)
    holder.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(committing, "LOCK_WAIT", 0.1)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        committing.begin_immediate(waiter)
    assert not waiter.in_transaction
    holder.execute("ROLLBACK")
