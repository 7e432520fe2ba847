"""The Neutron API's request metrics: every request counted by method, route template and
status, and its latency in a histogram by method and route.

Routes are the dispatcher's templates (``/v2.0/ports/{id}``, left in the scope as
``dispatch.ROUTE``), never raw paths, so the series are bounded by the routes there are; a
request that matched none (a 404 of an unknown path, a 401 before dispatch) counts under
``route="unmatched"``, and a method of a client's making as ``OTHER``. A request costs two dict
lookups (the series are bound once per label set and kept), a counter increment and a
histogram observation.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alcor.api import dispatch

UNMATCHED = "unmatched"
# seconds: from a quarter of a millisecond (a read served from memory) to 10 s
BUCKETS = (0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)

# the methods counted by name; any other a client makes up counts as OTHER (bounded series)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetrics:
    """ASGI middleware over the API application: counts and times every HTTP request."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self._app = app
        self._requests = Counter(
            "alcor_api_requests",
            "Neutron API requests answered, by method, route template and status code",
            ("method", "route", "status"),
            registry=registry,
        )
        self._latency = Histogram(
            "alcor_api_request_duration_seconds",
            "Neutron API request latency, from the request to the last byte of the answer",
            ("method", "route"),
            registry=registry,
            buckets=BUCKETS,
        )
        self._counted: dict[tuple[str, str, int], Counter] = {}
        self._timed: dict[tuple[str, str], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an application that raised before it answered

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, send_noting_status)
        finally:
            self._note(scope, status, time.perf_counter() - started)

    def _note(self, scope: Scope, status: int, seconds: float) -> None:
        template = scope.get(dispatch.ROUTE)
        route = "/" + "/".join(template) if template is not None else UNMATCHED
        method: str = scope["method"] if scope["method"] in METHODS else "OTHER"
        counted = self._counted.get((method, route, status))
        if counted is None:
            counted = self._counted[method, route, status] = self._requests.labels(
                method, route, str(status)
            )
        counted.inc()
        timed = self._timed.get((method, route))
        if timed is None:
            timed = self._timed[method, route] = self._latency.labels(method, route)
        timed.observe(seconds)
