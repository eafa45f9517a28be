"""Progress of a long grading run: a bar with rate and ETA on a terminal, periodic lines otherwise."""
from __future__ import annotations

import sys
import time


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    """Call with (done, total, cached). `tty` draws a bar in place; otherwise a line every `every` s."""

    def __init__(self, stream=None, tty: bool | None = None, every: float = 5.0, width: int = 30):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.every = every
        self.width = width
        self.start = time.monotonic()
        self.last = 0.0
        self.base = None   # work already done when the run began (cache hits): not counted in the rate
        self.finished = False

    def line(self, done: int, total: int, cached: int) -> str:
        elapsed = time.monotonic() - self.start
        fresh = done - (self.base or 0)
        rate = fresh / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else float("inf")
        eta_text = _clock(eta) if eta != float("inf") else "?"
        cache_text = f", {cached} cached" if cached else ""
        return f"{done}/{total} graded{cache_text}  {rate:.1f}/s  elapsed {_clock(elapsed)}  ETA {eta_text}"

    def __call__(self, done: int, total: int, cached: int) -> None:
        if self.base is None:
            self.base = done
        now = time.monotonic()
        end = done >= total
        if self.tty:
            if not end and now - self.last < 0.1:
                return
            filled = int(self.width * done / total) if total else self.width
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(f"\r[{bar}] {self.line(done, total, cached)}\x1b[K")
            if end:
                self.stream.write("\n")
        else:
            if not end and now - self.last < self.every and done != self.base:
                return
            if end and self.finished:
                return
            self.stream.write(f"grading: {self.line(done, total, cached)}\n")
        self.finished = self.finished or end
        self.last = now
        self.stream.flush()
