"""Waiting for something to become true, by polling."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from alcor.lab import errors

WAIT = 20.0


def eventually(probe: Callable[[], Any], *, timeout: float = WAIT, what: str = "") -> Any:
    """``probe()``'s first true value, tried every 50 ms until ``timeout`` (then ``TimedOut``)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise errors.TimedOut(f"timed out waiting for {what or probe}")
        time.sleep(0.05)
