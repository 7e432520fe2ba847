"""Probes for orchestrators: ``GET /healthz`` (alive) and ``GET /readyz`` (fit to be sent
requests), outside ``/v2.0``, with no token in either authentication mode and not in the
OpenAPI document (they are not Neutron resources).

``/healthz`` answers ``ok`` from the event loop and touches nothing else: a process whose loop
answers is alive. ``/readyz`` answers 200 ``{"status": "ready"}`` while the process serves, each
of its ``checks`` passes (facts held in memory: a process serving the southbound adds that its
goal-state engine has caught up with the change log and that it serves agents) and its store
answers a trivial read (the head revision) within ``timeout``; otherwise 503 with
``{"status": "not ready", "reason": ...}``. The same probes answer on the ``--metrics-bind``
listener (``cli.exposition``), with any ``Judge`` (an agent's is its own). At most one such read
is in flight: a probe that comes while one still waits (a store cut off, a connection hanging)
waits on that same read rather than starting another, so probes never pile up threads behind a
dead database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Protocol

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from alcor.api.dispatch import Handler
from alcor.model import errors
from alcor.store.interface import Reader, Store

READY_TIMEOUT = 2.0  # seconds a readiness probe waits for the store


class Judge(Protocol):
    """What ``/readyz`` asks."""

    async def reason(self) -> str:
        """Why the process is not ready ('' when it is)."""
        ...


class Readiness:
    """Whether this process should be sent requests: it serves (``serving``, cleared when it
    starts to stop), every check passes (each says why not, or '') and its store answers."""

    def __init__(
        self,
        store: Store,
        *,
        timeout: float = READY_TIMEOUT,
        checks: Sequence[Callable[[], str]] = (),
    ) -> None:
        self.serving = True
        self._store = store
        self._timeout = timeout
        self._checks = tuple(checks)
        self._pending: asyncio.Future[int] | None = None

    async def reason(self) -> str:
        """Why the process is not ready ('' when it is)."""
        if not self.serving:
            return "the server is stopping"
        for check in self._checks:
            failed = check()
            if failed:
                return failed
        if self._pending is None or self._pending.done():
            self._pending = asyncio.ensure_future(self._store.read(_head_revision))
        try:
            await asyncio.wait_for(asyncio.shield(self._pending), self._timeout)
        except TimeoutError:
            return f"the store did not answer within {self._timeout:g} s"
        except errors.Unavailable as error:
            return f"the store cannot be reached: {error.detail or error.message}"
        except Exception as error:
            return f"the store's read failed: {type(error).__name__}"
        return ""


def _head_revision(reader: Reader) -> int:
    return reader.revision()


_READY = msgspec.json.encode({"status": "ready"})


def routes(readiness: Judge) -> list[tuple[str, str, Handler]]:
    async def healthz(_request: Request) -> Response:
        return Response(b"ok", media_type="text/plain")

    async def readyz(_request: Request) -> Response:
        reason = await readiness.reason()
        if not reason:
            return Response(_READY, media_type="application/json")
        body = msgspec.json.encode({"status": "not ready", "reason": reason})
        return Response(body, status_code=503, media_type="application/json")

    return [("GET", "/healthz", healthz), ("GET", "/readyz", readyz)]
