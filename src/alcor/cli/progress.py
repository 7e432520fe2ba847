"""A progress bar on stderr for long work (``alcor nodes load``), with no dependency.

On a terminal it redraws one line (``\\r``) at most every ``interval`` seconds; into a file or a
pipe it writes a line at most every ``log_interval`` seconds, so logs stay short. The last state
is always written when it is closed:

    nodes  45,000/100,000 [#########...........]  45%  12,345/s  ETA 4s
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 20


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.5))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress:
    def __init__(
        self,
        total: int,
        *,
        label: str,
        stream: TextIO | None = None,
        enabled: bool = True,
        interval: float = 0.1,
        log_interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.done = 0
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self._terminal = self.stream.isatty()
        self._interval = interval if self._terminal else log_interval
        self._clock = clock
        self._started = clock()
        self._drawn = self._started - self._interval  # the first step draws at once

    def advance(self, count: int) -> None:
        self.done += count
        if self.enabled and self._clock() - self._drawn >= self._interval:
            self._draw()

    def close(self) -> None:
        if self.enabled:
            self._draw()
            if self._terminal:
                self.stream.write("\n")
                self.stream.flush()

    def line(self) -> str:
        elapsed = max(self._clock() - self._started, 1e-9)
        fraction = self.done / self.total if self.total else 1.0
        filled = int(WIDTH * fraction)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        timing = f"ETA {_duration(left)}" if self.done < self.total else _duration(elapsed)
        return (
            f"{self.label} {self.done:,}/{self.total:,} "
            f"[{'#' * filled}{'.' * (WIDTH - filled)}] {fraction:4.0%}  {rate:,.0f}/s  {timing}"
        )

    def _draw(self) -> None:
        self._drawn = self._clock()
        if self._terminal:
            self.stream.write("\r" + self.line())
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()
