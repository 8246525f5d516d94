"""Progress for batch jobs: when stderr is not a terminal, one line every so often.

A live bar (rich) draws nothing useful into a SLURM log or a pipe; there a long
run prints ``trsp compose: 42.0% done, 21,300 events/s, ETA 12 min`` every
``TRSP_PROGRESS_EVERY`` seconds (default 30; 0 switches the lines off).
"""
from __future__ import annotations

import os
import sys
import time

DEFAULT_EVERY = 30.0


def progress_every() -> float:
    """Seconds between progress lines, from TRSP_PROGRESS_EVERY (default 30)."""
    from trsp_core.errors import ParameterError

    text = os.environ.get("TRSP_PROGRESS_EVERY", "")
    if not text:
        return DEFAULT_EVERY
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if not (v >= 0 and v < float("inf")):
        raise ParameterError(f"TRSP_PROGRESS_EVERY must be a number of seconds >= 0, got {text!r}")
    return v


def eta_text(seconds: float) -> str:
    if not seconds < float("inf"):
        return "unknown"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


class LineProgress:
    """``progress(done, total, events=None)`` that prints a line at most every ``every`` seconds."""

    def __init__(self, title: str, every: float | None = None, stream=None, clock=time.monotonic):
        self.title = title
        self.every = progress_every() if every is None else float(every)
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.t0 = clock()
        self.last = self.t0
        self.printed_final = False

    def line(self, done: float, total: float, events: int | None = None) -> str:
        now = self.clock()
        elapsed = now - self.t0
        frac = min(max(done / total, 0.0), 1.0) if total else 1.0
        eta = elapsed * (1 - frac) / frac if frac > 0 else float("inf")
        rate = f", {events / elapsed:,.0f} events/s" if events is not None and elapsed > 0 else ""
        return f"{self.title}: {100 * frac:.1f}% done{rate}, elapsed {eta_text(elapsed)}, ETA {eta_text(eta)}"

    def __call__(self, done: float, total: float, events: int | None = None) -> None:
        if self.every <= 0:
            return
        now = self.clock()
        final = total and done >= total
        if final and self.printed_final:
            return
        if now - self.last >= self.every or (final and now - self.t0 >= self.every):
            print(self.line(done, total, events), file=self.stream, flush=True)
            self.last = now
            self.printed_final = bool(final)
