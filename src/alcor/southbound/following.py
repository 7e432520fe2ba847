"""Following the change log: every committed change reaches the engine once, in revision order.

At start the follower first subscribes to the store's commit feed (fed batches wait in a queue),
then replays the change log from revision 0 in pages, so that after a controller restart the
engine holds exactly the revisions and removals it held before. Then it takes the queued and
the new batches, skipping every change the replay already covered, and reading from the store
whatever a batch skips over. So the replay's end and the first fed batch may interleave in any
way: there is no gap and no duplicate.

The feed's callback runs in the store's writer thread; it only hands the batch to this loop
(``call_soon_threadsafe``). Everything else runs in the loop that owns the engine.

The feed carries only this process's commits. Other processes may write to the same store (API
processes on PostgreSQL, or on the same SQLite file): the store's wake-ups (``Store.wakeups``:
LISTEN/NOTIFY, SQLite's data_version) say when they may have, and the follower then reads the
store's log after its revision and applies what they committed. Wake-ups are hints, coalesced
here (one read for any number of them waiting); a missed one is made up for by a slow safety
poll: whenever nothing came for ``poll`` seconds, the log is read all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from alcor.store.interface import Change, Reader, Store

log = logging.getLogger(__name__)

PAGE = 2000
POLL = 1.0  # seconds of a quiet feed and no wake-up after which the store's log is read anyway


class Following:
    def __init__(
        self,
        store: Store,
        apply: Callable[[Change], None],
        *,
        loop: asyncio.AbstractEventLoop,
        page: int = PAGE,
        poll: float = POLL,
        retry_after: float = 1.0,
    ) -> None:
        self.revision = 0  # the last change applied
        self._store = store
        self._apply = apply
        self._loop = loop
        self._page = page
        self._poll = poll
        self._retry_after = retry_after
        # the feed's batches; an empty one is a wake-up, queued while none is waiting
        self._queue: asyncio.Queue[list[Change]] = asyncio.Queue()
        self._woken = False

    def feed(self, changes: list[Change]) -> None:
        """The store's writer thread hands over a commit's rows: queue them, nothing more."""
        with contextlib.suppress(RuntimeError):  # the loop is closed: we are shutting down
            self._loop.call_soon_threadsafe(self._queue.put_nowait, changes)

    def wake(self) -> None:
        """The store's signal says another process may have committed (from its thread)."""
        with contextlib.suppress(RuntimeError):  # the loop is closed: we are shutting down
            self._loop.call_soon_threadsafe(self._woken_up)

    def _woken_up(self) -> None:
        if not self._woken:
            self._woken = True
            self._queue.put_nowait([])

    async def run(self, on_ready: Callable[[], None]) -> None:
        """Replay, say so, then follow the feed until cancelled."""
        stop = self._store.follow(self.feed)
        stop_waking = self._store.wakeups(self.wake)
        try:
            await self._retrying(self._catch_up)
            on_ready()
            while True:
                try:
                    changes = await asyncio.wait_for(self._queue.get(), self._poll)
                except TimeoutError:  # quiet: read what a missed wake-up may have announced
                    await self._retrying(self._catch_up)
                    continue
                if not changes:  # woken: read what other processes committed
                    self._woken = False
                    await self._retrying(self._catch_up)
                    continue
                if changes[-1].revision <= self.revision:
                    continue  # the replay covered it
                if changes[0].revision > self.revision + 1:
                    await self._retrying(self._catch_up)  # a gap: read it from the store
                self._take(changes)
        finally:
            stop_waking()
            stop()

    async def catch_up(self) -> None:
        """Apply what the store has after ``revision``, up to its head (before ``run``: the
        replay), retrying while the store is away."""
        await self._retrying(self._catch_up)

    async def _retrying(self, step: Callable[[], Awaitable[None]]) -> None:
        while True:
            try:
                await step()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reading the change log failed; retrying")
                await asyncio.sleep(self._retry_after)

    async def _catch_up(self) -> None:
        """Apply what the store has after ``revision``, up to its head."""
        while True:
            after = self.revision

            def page(reader: Reader, after: int = after) -> list[Change]:
                return reader.changes_since(after, self._page)

            changes = await self._store.read(page)
            self._take(changes)
            if len(changes) < self._page:
                return
            await asyncio.sleep(0)  # let the loop breathe between pages

    def _take(self, changes: list[Change]) -> None:
        for change in changes:
            if change.revision > self.revision:
                self.revision = change.revision
                self._apply(change)
