"""p_hop, the rearrangement indicator of Candelier, Dauchot and Biroli (PRL 2010).

For particle i at frame t, with a window of W frames (W even, h = W/2),

    A = frames [t - h, t],   B = frames [t, t + h]   (both ends included)
    p_hop(i, t) = sqrt( <|r_i - <r_i>_B|^2>_A  *  <|r_i - <r_i>_A|^2>_B )

<.>_X is the plain average over the frames of X. A particle that jumps by a
distance d exactly at t gets p_hop = d^2; a particle at rest gets 0.
Units: length^2 (sigma_AA^2 for trsp). Frames t < h or t > F - 1 - h, where
the window does not fit, are NaN.

This is the ONE implementation in trsp: ``trsp measure`` and the softness
training both import :func:`phop`; keep its signature stable.
"""
from __future__ import annotations

import numpy as np

from trsp_core.errors import ParameterError

__all__ = ["phop", "unwrap"]


def unwrap(positions: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Continuous paths from (possibly) wrapped positions (F, N, d).

    Each frame-to-frame displacement is taken by minimum image, which is
    right as long as no particle moves more than half a box length between
    stored frames. Already unwrapped input comes back unchanged (up to
    rounding), so calling this is always safe.
    """
    pos = np.asarray(positions, dtype=np.float64)
    box = np.asarray(box, dtype=np.float64)
    step = np.diff(pos, axis=0)
    step -= box * np.round(step / box)
    out = np.empty_like(pos)
    out[0] = pos[0]
    np.cumsum(step, axis=0, out=out[1:])
    out[1:] += pos[0]
    return out


def _window_sums(x: np.ndarray, length: int) -> np.ndarray:
    """Sums over frames [s, s + length - 1] for every start s (axis 0)."""
    c = np.concatenate([np.zeros_like(x[:1]), np.cumsum(x, axis=0)])
    return c[length:] - c[:-length]


def phop(positions, box, window: int) -> np.ndarray:
    """p_hop for every particle and frame.

    Parameters
    ----------
    positions : array (F, N, d)
        Particle positions per frame; wrapped or unwrapped (see :func:`unwrap`).
    box : array (d,)
        Orthorhombic periodic box lengths.
    window : int
        W, the full window in frames; must be even and >= 2 (A and B are
        each W/2 + 1 frames long, sharing frame t).

    Returns
    -------
    ndarray (F, N), float64, NaN where the window does not fit.
    """
    pos = np.asarray(positions, dtype=np.float64)
    if pos.ndim != 3:
        raise ParameterError(f"parameter 'positions' must have shape (F, N, d), got {pos.shape}")
    box = np.asarray(box, dtype=np.float64)
    if box.shape != (pos.shape[2],) or not np.all(box > 0):
        raise ParameterError(f"parameter 'box' must be {pos.shape[2]} positive lengths, got {box.tolist()}")
    if int(window) != window or window < 2 or window % 2:
        raise ParameterError(f"parameter 'window' must be an even integer >= 2, got {window!r}")
    h = int(window) // 2
    n_frames = pos.shape[0]
    out = np.full(pos.shape[:2], np.nan)
    if n_frames < 2 * h + 1:
        return out
    # Relative to each particle's first position: keeps the running sums
    # small so <r^2> - <r>^2 style differences do not lose digits.
    r = unwrap(pos, box)
    r -= r[:1]
    m = h + 1
    mean = _window_sums(r, m) / m                                   # (F-h, N, d), start s
    mean_sq = _window_sums(np.einsum("fnd,fnd->fn", r, r), m) / m   # (F-h, N)
    # Frame t: A starts at t - h, B starts at t, for t in [h, F-1-h].
    a = slice(0, n_frames - 2 * h)
    b = slice(h, n_frames - h)
    mean_a, mean_b = mean[a], mean[b]
    # <|r - c|^2>_X = <r^2>_X - 2 <r>_X . c + |c|^2
    ab = mean_sq[a] - 2 * np.einsum("fnd,fnd->fn", mean_a, mean_b) + np.einsum("fnd,fnd->fn", mean_b, mean_b)
    ba = mean_sq[b] - 2 * np.einsum("fnd,fnd->fn", mean_b, mean_a) + np.einsum("fnd,fnd->fn", mean_a, mean_a)
    # Each factor is >= 0 exactly; clip rounding below zero before the sqrt.
    out[h: n_frames - h] = np.sqrt(np.clip(ab, 0, None) * np.clip(ba, 0, None))
    return out
