"""Pair distances in a periodic box and the radial bins shared by C(r), s(r), rho(r).

Lattice data (static positions) get exact shells -- one bin per distinct
distance -- so fits see the true lattice distances; particle data get
uniform bins and the mean pair distance of each bin as its coordinate.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def wrap(positions: np.ndarray, box: np.ndarray) -> np.ndarray:
    return np.mod(positions, box)


def tree(positions, box) -> cKDTree:
    # boxsize makes cKDTree use minimum-image (periodic) distances.
    return cKDTree(wrap(positions, box) % box, boxsize=box)


def pairs_within(positions, box, r_max: float) -> tuple[np.ndarray, np.ndarray]:
    """(pairs (P, 2), distances (P,)) of all pairs closer than r_max (periodic)."""
    t = tree(positions, box)
    p = t.query_pairs(r_max, output_type="ndarray")
    d = positions[p[:, 0]] - positions[p[:, 1]]
    d -= box * np.round(d / box)
    return p, np.sqrt((d * d).sum(-1))


def radial_edges(distances: np.ndarray, r_max: float, width: float, static: bool) -> np.ndarray:
    """Bin edges in r (excluding r = 0, which is always its own point)."""
    if static:
        shells = np.unique(np.round(distances[distances <= r_max], 6))
        if shells.size and shells.size < 400:
            mid = 0.5 * (shells[1:] + shells[:-1])
            return np.concatenate([[0.5 * shells[0]], mid, [shells[-1] + 1e-6]])
    n = max(1, int(np.ceil(r_max / width)))
    return width * np.arange(n + 1) + 1e-9


def first_peak(positions, box, r_max: float = 3.0, width: float = 0.02) -> float:
    """Position of the first peak of g(r) (the paper's lattice spacing a).

    Peak = highest bin within 25% beyond the first r where g > 1 (avoids the
    tie between equal-height lattice shells); its mean pair distance.
    """
    r_max = min(r_max, 0.5 * float(np.min(box)))
    _, d = pairs_within(positions, box, r_max)
    if d.size == 0:
        return float("nan")
    edges = np.arange(0.0, r_max + width, width)
    h, _ = np.histogram(d, edges)
    dim = len(box)
    shell = np.diff(edges**dim) * (np.pi if dim == 2 else 4.0 / 3.0 * np.pi)
    n = len(positions)
    g = h / (shell * 0.5 * n * n / np.prod(box))
    above = np.nonzero(g > 1.0)[0]
    if above.size == 0:
        return float("nan")
    r_first = edges[above[0]]
    win = (edges[:-1] >= r_first) & (edges[:-1] <= 1.25 * r_first + width)
    k = np.nonzero(win)[0][np.argmax(g[win])]
    sel = (d >= edges[k]) & (d < edges[k + 1])
    return float(d[sel].mean())
