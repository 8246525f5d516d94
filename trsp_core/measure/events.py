"""Rearrangements as runs of consecutive flagged frames of one particle.

A run is a maximal stretch of frames with the flag set; its length L is the
duration of that rearrangement. d = mean L (paper: ~4 frames). Runs that
touch the first or last valid frame are cut by the trajectory and left out of
d. The anchor frame of a run (its "time" t_R) is its middle frame.
"""
from __future__ import annotations

import attrs
import numpy as np


@attrs.frozen(eq=False)
class Runs:
    particle: np.ndarray   # (R,)
    start: np.ndarray      # (R,) first flagged frame
    length: np.ndarray     # (R,) number of frames
    complete: np.ndarray   # (R,) not cut by the ends of the valid frames

    @property
    def anchor(self) -> np.ndarray:
        return self.start + (self.length - 1) // 2

    @property
    def n(self) -> int:
        return int(self.start.size)


def find_runs(flags: np.ndarray, valid: np.ndarray | None = None) -> Runs:
    """Runs of True along axis 0 of ``flags`` (F, N), within valid frames only."""
    f = np.asarray(flags, bool).copy()
    F = f.shape[0]
    valid = np.ones(F, bool) if valid is None else np.asarray(valid, bool)
    f[~valid] = False
    pad = np.zeros((1, f.shape[1]), bool)
    x = np.concatenate([pad, f, pad]).astype(np.int8)
    dx = np.diff(x, axis=0)          # +1 at a start, -1 one past an end
    starts = np.argwhere(dx.T == 1)  # (particle, frame) in particle-major order
    ends = np.argwhere(dx.T == -1)
    particle = starts[:, 0]
    start = starts[:, 1]
    length = ends[:, 1] - start
    # A run is cut if it touches an invalid frame or the trajectory edge.
    okf = np.concatenate([[False], valid, [False]])
    complete = okf[start] & okf[start + length + 1]
    return Runs(particle=particle, start=start, length=length, complete=complete)


def duration_stats(runs: Runs) -> tuple[float, float, float]:
    """(d = mean run length, its standard error, dispersion phi = E[L^2]/E[L]) from complete runs."""
    L = runs.length[runs.complete].astype(float)
    if L.size == 0:
        L = runs.length.astype(float)
    if L.size == 0:
        return float("nan"), float("nan"), 1.0
    d = float(L.mean())
    err = float(L.std(ddof=1) / np.sqrt(L.size)) if L.size > 1 else float("nan")
    return d, err, float((L**2).mean() / d)
