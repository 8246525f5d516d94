"""Neighbour lists for the structural descriptors (freud systems, pair lists, CSR rows).

Every descriptor here works on one frame: ``box`` (d,) orthorhombic lengths,
``positions`` (N, d), and returns per-particle values. freud wants 3D points
centred on the origin; 2D frames get z = 0 and a 2D box.
"""
from __future__ import annotations

import numpy as np

from trsp_core.errors import ParameterError


def freud_system(box: np.ndarray, positions: np.ndarray):
    """(freud.box.Box, (N, 3) float32-safe points wrapped into the box centred on 0)."""
    import freud

    box = np.asarray(box, float)
    pos = np.asarray(positions, float)
    d = pos.shape[1]
    if d == 2:
        fbox = freud.box.Box(Lx=box[0], Ly=box[1], is2D=True)
        pts = np.zeros((len(pos), 3))
        pts[:, :2] = pos
    else:
        fbox = freud.box.Box(Lx=box[0], Ly=box[1], Lz=box[2])
        pts = pos.copy()
    # wrap to [-L/2, L/2): freud requires points inside the box
    pts[:, :d] -= box * np.floor(pts[:, :d] / box + 0.5)
    return fbox, pts


def _optional_positive_int(inst, attribute, value):
    if value is not None and (int(value) != value or value < 1):
        raise ParameterError(f"parameter '{attribute.name}' must be None or an integer >= 1, got {value!r}")


def check_box(box, r_max: float, what: str) -> None:
    if np.any(np.asarray(box) < 2 * r_max):
        raise ParameterError(f"{what}: the box {np.asarray(box).tolist()} must exceed 2 x r_max = {2 * r_max:g} "
                             "in every direction (minimum image)")


NEIGHBOUR_BACKENDS = ("freud", "scipy")


def neighbour_pairs(box, positions, r_max: float, backend: str = "freud", sort_j: bool = True):
    """(i, j, r_ij vectors (M, d) pointing i -> j, distances (M,)) with 0 < r_ij < r_max, grouped by i
    (and j ascending within each i if ``sort_j``), each ordered pair once.

    The pair search of the softness structure functions
    (:func:`descriptors.softness_ml.structure.neighbour_pairs`): freud's AABB query or scipy's
    periodic cKDTree (same pairs; scipy is several times faster for long cutoffs such as s2's 3.5).
    """
    from descriptors.softness_ml.structure import neighbour_pairs as pairs

    if backend not in NEIGHBOUR_BACKENDS:
        raise ParameterError(f"parameter 'neighbours' must be one of {NEIGHBOUR_BACKENDS}, got {backend!r}")
    i, j, vec, dist = pairs(np.asarray(positions, float), np.asarray(box, float), r_max, backend=backend)
    if sort_j:
        order = np.lexsort((j, i))
        i, j, vec, dist = i[order], j[order], vec[order], dist[order]
    return i, j, vec, dist


def csr(i: np.ndarray, j: np.ndarray, n: int):
    """Neighbour lists as (offsets (n+1,), neighbours) from pairs sorted by i (then j)."""
    counts = np.bincount(i, minlength=n)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets, np.ascontiguousarray(j, np.int64)
