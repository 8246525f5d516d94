"""Neighbour lists for the structural descriptors, through freud's AABB query.

Every descriptor here works on one frame: ``box`` (d,) orthorhombic lengths,
``positions`` (N, d), and returns per-particle values. freud wants 3D points
centred on the origin; 2D frames get z = 0 and a 2D box.
"""
from __future__ import annotations

import attrs
import numpy as np

from trsp_core.errors import ParameterError
from trsp_core.validators import parameter


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


@attrs.frozen
class Shell:
    """Which neighbours count: within ``r_max`` or the ``num_neighbors`` nearest (if set, it wins)."""

    r_max: float = attrs.field(default=1.4, converter=float, validator=parameter.positive)
    num_neighbors: int | None = attrs.field(default=None, validator=_optional_positive_int)

    def query_args(self) -> dict:
        if self.num_neighbors is not None:
            return {"num_neighbors": int(self.num_neighbors), "exclude_ii": True}
        return {"r_max": self.r_max, "exclude_ii": True}


def check_box(box, r_max: float, what: str) -> None:
    if np.any(np.asarray(box) < 2 * r_max):
        raise ParameterError(f"{what}: the box {np.asarray(box).tolist()} must exceed 2 x r_max = {2 * r_max:g} "
                             "in every direction (minimum image)")


NEIGHBOUR_BACKENDS = ("freud", "scipy")


def neighbour_pairs(box, positions, shell: Shell, backend: str = "freud", sort_j: bool = True):
    """(i, j, r_ij vectors (M, d) pointing i -> j, distances (M,)), grouped by i (and j ascending
    within each i if ``sort_j``), each ordered pair once.

    ``backend``: freud's AABB query (default) or scipy's periodic cKDTree (cutoff only; the
    same pairs, several times faster for long cutoffs such as s2's 3.5).
    """
    box = np.asarray(box, float)
    positions = np.asarray(positions, float)
    if backend not in NEIGHBOUR_BACKENDS:
        raise ParameterError(f"parameter 'neighbours' must be one of {NEIGHBOUR_BACKENDS}, got {backend!r}")
    if shell.num_neighbors is None:
        check_box(box, shell.r_max, "neighbour query")
    if backend == "scipy" and shell.num_neighbors is None:
        from scipy.spatial import cKDTree

        pts = positions - box * np.floor(positions / box)
        pts = np.where(pts >= box, 0.0, pts)   # floor rounding can give exactly L
        pairs = cKDTree(pts, boxsize=box).query_pairs(shell.r_max, output_type="ndarray")
        i = np.concatenate([pairs[:, 0], pairs[:, 1]]).astype(np.int64)
        j = np.concatenate([pairs[:, 1], pairs[:, 0]]).astype(np.int64)
    else:
        import freud

        fbox, fpts = freud_system(box, positions)
        nq = freud.locality.AABBQuery(fbox, fpts)
        nl = nq.query(fpts, shell.query_args()).toNeighborList(sort_by_distance=False)
        i = np.asarray(nl.query_point_indices, np.int64)
        j = np.asarray(nl.point_indices, np.int64)
    order = np.lexsort((j, i)) if sort_j else np.argsort(i, kind="stable")
    i, j = i[order], j[order]
    # vectors in float64 by minimum image (freud's are float32)
    vec = positions[j] - positions[i]
    vec -= box * np.round(vec / box)
    return i, j, vec, np.sqrt(np.sum(vec * vec, axis=1))


def csr(i: np.ndarray, j: np.ndarray, n: int):
    """Neighbour lists as (offsets (n+1,), neighbours) from pairs sorted by i (then j)."""
    counts = np.bincount(i, minlength=n)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets, np.ascontiguousarray(j, np.int64)
