"""A progress bar on stderr for long work (``alcor nodes load``): rich's.

On a terminal it redraws one line as the work advances (count, bar, percentage, rate, time
left); into a file or a pipe rich draws nothing while it runs and writes the last state once,
when it is closed, so logs get one line:

    nodes 2500/2500 ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 100% 1,234 nodes/s 0:00:00
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich import progress
from rich.console import Console
from rich.text import Text


class _Rate(progress.ProgressColumn):
    """Items a second (rich's own speed columns are for bytes)."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def render(self, task: progress.Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed or 0:,.0f} {self.label}/s", style="progress.data.speed")


class Progress:
    def __init__(
        self, total: int, *, label: str, stream: TextIO | None = None, enabled: bool = True
    ) -> None:
        self.total = total
        self.done = 0
        self.enabled = enabled
        self._bar = progress.Progress(
            progress.TextColumn("{task.description}"),
            progress.MofNCompleteColumn(),
            progress.BarColumn(),
            progress.TaskProgressColumn(),
            _Rate(label),
            progress.TimeRemainingColumn(elapsed_when_finished=True),
            console=Console(file=stream if stream is not None else sys.stderr),
            disable=not enabled,
        )
        self._task = self._bar.add_task(label, total=total)
        self._bar.start()

    def advance(self, count: int) -> None:
        self.done += count
        self._bar.advance(self._task, count)

    def close(self) -> None:
        self._bar.stop()
