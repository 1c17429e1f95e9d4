"""A progress line for long runs: events done, events per second, time left."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, label: str, total: int, stream: TextIO = sys.stderr, every: float = 0.5) -> None:
        self.label = label
        self.total = max(total, 1)
        self.stream = stream
        self.every = every
        self.started = time.monotonic()
        self._shown = 0.0
        self.position = 0
        self.done_events = 0

    def advance(self, events: int, position: int) -> None:
        self.done_events += events
        self.position = position
        now = time.monotonic()
        if now - self._shown >= self.every:
            self._shown = now
            self._draw(now)

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done_events / elapsed if elapsed > 0 else 0.0

    def _draw(self, now: float) -> None:
        rate = self.rate()
        left = (self.total - self.position) / rate if rate > 0 else float("inf")
        width = 30
        filled = int(width * min(1.0, self.position / self.total))
        eta = "--:--" if left == float("inf") else f"{int(left // 60):d}:{int(left % 60):02d}"
        self.stream.write(
            f"\r{self.label:<22} [{'#' * filled}{'.' * (width - filled)}] "
            f"{self.position:>10,}/{self.total:,}  {rate:>9,.0f} events/s  {eta} left "
        )
        self.stream.flush()

    def finish(self) -> None:
        self._draw(time.monotonic())
        elapsed = time.monotonic() - self.started
        self.stream.write(f"\n{self.label}: {self.done_events:,} events in {elapsed:.1f} s\n")
        self.stream.flush()
