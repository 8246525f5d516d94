"""Behler-Parrinello structure functions: the features softness is built from.

Conventions (lengths in sigma_AA; see docs/softness.md):

Radial, one block per neighbour species b (paper eq. A1, 100 shells each):

    G_i(mu; b) = sum_{j != i, type_j = b, r_ij < r_cut} exp(-(r_ij - mu)^2 / L^2)

with mu = 0.05, 0.10, ..., 5.00, L = 0.05 and r_cut = 5.0. Note the
denominator is L^2 (the paper's), not 2 L^2.

Angular, species-blind (paper eq. A2):

    Psi_i(xi, lambda, zeta) = sum_{j < k; r_ij, r_ik < r_ang}
        exp(-(r_ij^2 + r_ik^2 + r_jk^2) / xi^2) (1 + lambda cos theta_ijk)^zeta

over unordered neighbour pairs {j, k} of i (each pair once), with
r_jk = |r_ik - r_ij| built from the two minimum-image bond vectors and
theta_ijk the angle between them. The default grid has 11 x 2 x 3 = 66
entries: xi = 1.0, 1.1, ..., 2.0; lambda = -1, +1; zeta = 1, 2, 4; r_ang = 2.5
(the Gaussian factor of a pair at the cutoff is at most exp(-2 r_ang^2/xi^2)
= 0.044 for the widest xi; the cutoff is part of the definition). Together
2 x 100 + 66 = 266 features, the count of the paper.

Neighbours come from freud's AABB query (float32 inside freud) or scipy's
periodic cKDTree; bond vectors and distances are recomputed here in float64
from the indices and the cutoff applied in float64, with the search radius
padded so no pair within the cutoff is lost to float32 rounding.
"""
from __future__ import annotations

import math

import attrs
import numba
import numpy as np

from trsp_core.validators import parameter
from trsp_core.errors import ParameterError

# Radial shells farther than this many widths from r contribute
# exp(-64) ~ 1e-28 each: skipped, invisible at any tolerance we test.
_SHELL_REACH = 8.0
_FREUD_PAD = 1e-3


_positive = parameter.positive


def _float_tuple(values):
    return tuple(float(v) for v in values)


@attrs.frozen
class StructureParams:
    """The feature definition; stored with every trained model."""

    n_species: int = attrs.field(default=2, converter=int)
    mu_min: float = attrs.field(default=0.05, converter=float, validator=_positive)
    mu_step: float = attrs.field(default=0.05, converter=float, validator=_positive)
    n_mu: int = attrs.field(default=100, converter=int)
    width: float = attrs.field(default=0.05, converter=float, validator=_positive)
    r_cut: float = attrs.field(default=5.0, converter=float, validator=_positive)
    angular_cut: float = attrs.field(default=2.5, converter=float, validator=_positive)
    xis: tuple = attrs.field(default=tuple(round(1.0 + 0.1 * k, 10) for k in range(11)), converter=_float_tuple)
    lambdas: tuple = attrs.field(default=(-1.0, 1.0), converter=_float_tuple)
    zetas: tuple = attrs.field(default=(1.0, 2.0, 4.0), converter=_float_tuple)

    def __attrs_post_init__(self):
        if self.n_species < 1:
            raise ParameterError(f"parameter 'n_species' must be >= 1, got {self.n_species}")
        if self.n_mu < 1:
            raise ParameterError(f"parameter 'n_mu' must be >= 1, got {self.n_mu}")
        if self.angular_cut > self.r_cut:
            raise ParameterError(f"parameter 'angular_cut'={self.angular_cut} must be <= r_cut={self.r_cut}")
        if any(x <= 0 for x in self.xis):
            raise ParameterError(f"parameter 'xis' must all be > 0, got {self.xis}")
        if any(abs(l) > 1 for l in self.lambdas):
            raise ParameterError(f"parameter 'lambdas' must lie in [-1, 1] so (1 + lambda cos) >= 0, got {self.lambdas}")
        if any(z < 0 for z in self.zetas):
            raise ParameterError(f"parameter 'zetas' must be >= 0, got {self.zetas}")

    @property
    def mus(self) -> np.ndarray:
        return self.mu_min + self.mu_step * np.arange(self.n_mu)

    @property
    def n_radial(self) -> int:
        return self.n_species * self.n_mu

    @property
    def n_angular(self) -> int:
        return len(self.xis) * len(self.lambdas) * len(self.zetas)

    @property
    def n_features(self) -> int:
        return self.n_radial + self.n_angular

    def angular_grid(self) -> list[tuple[float, float, float]]:
        """(xi, lambda, zeta) in feature order: xi slowest, zeta fastest."""
        return [(x, l, z) for x in self.xis for l in self.lambdas for z in self.zetas]

    def feature_names(self) -> list[str]:
        radial = [f"G[b={b},mu={m:.4g}]" for b in range(self.n_species) for m in self.mus]
        angular = [f"Psi[xi={x:.4g},lambda={l:+.0f},zeta={z:.4g}]" for x, l, z in self.angular_grid()]
        return radial + angular

    def to_dict(self) -> dict:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "StructureParams":
        return cls(**d)


def check_box(box, dim: int, r_cut: float) -> np.ndarray:
    box = np.asarray(box, dtype=np.float64)
    if box.shape != (dim,) or not np.all(box > 0):
        raise ParameterError(f"parameter 'box' must be {dim} positive lengths, got {box.tolist()}")
    if np.any(box <= 2 * (r_cut + _FREUD_PAD)):
        raise ParameterError(
            f"parameter 'box'={box.tolist()} must exceed 2 * r_cut = {2 * r_cut} in every direction "
            "(minimum image); use a bigger system or a smaller r_cut")
    return box


NEIGHBOUR_BACKENDS = ("freud", "scipy")


def neighbour_pairs(positions, box, r_cut: float, query=None, backend: str = "freud"):
    """Pairs (i, j, vector r_j - r_i, distance) with 0 < r < r_cut, minimum image.

    ``query`` selects the central particles (distinct indices into
    positions; default all); ``i`` is returned as a position in ``query``,
    sorted. ``backend``: "freud" (AABB tree, the project's neighbour
    library) or "scipy" (periodic cKDTree half list, about 5x faster for
    the 5-sigma radial cutoff; same pairs, same result).
    """
    pos = np.asarray(positions, dtype=np.float64)
    n, dim = pos.shape
    box = check_box(box, dim, r_cut)
    query = np.arange(n) if query is None else np.asarray(query, dtype=np.int64)
    if query.size and (query.min() < 0 or query.max() >= n or np.unique(query).size != query.size):
        raise ParameterError(f"parameter 'query' must be distinct indices in 0..{n - 1}")
    if backend == "freud":
        i, j = _pairs_freud(pos, box, r_cut + _FREUD_PAD, query)
    elif backend == "scipy":
        i, j = _pairs_scipy(pos, box, r_cut + _FREUD_PAD, query)
    else:
        raise ParameterError(f"parameter 'backend' must be one of {NEIGHBOUR_BACKENDS}, got {backend!r}")
    vec = pos[j] - pos[query[i]]
    vec -= box * np.round(vec / box)
    dist = np.sqrt(np.einsum("md,md->m", vec, vec))
    keep = (dist < r_cut) & (j != query[i])
    return i[keep], j[keep], vec[keep], dist[keep]


def _sorted_by_i(i, j):
    if np.any(np.diff(i) < 0):          # the kernels rely on contiguous segments
        order = np.argsort(i, kind="stable")
        i, j = i[order], j[order]
    return i, j


def _pairs_freud(pos, box, r_max, query):
    import freud

    n, dim = pos.shape
    fbox = freud.box.Box.from_box(box.tolist())
    centred = pos - box * np.floor(pos / box) - box / 2          # freud wants [-L/2, L/2)
    pts = np.zeros((n, 3), dtype=np.float32)
    pts[:, :dim] = centred
    nl = freud.locality.AABBQuery(fbox, pts).query(
        pts[query], {"r_max": r_max, "exclude_ii": False}).toNeighborList()
    return _sorted_by_i(np.asarray(nl.query_point_indices, dtype=np.int64),
                        np.asarray(nl.point_indices, dtype=np.int64))


def _pairs_scipy(pos, box, r_max, query):
    from scipy.spatial import cKDTree

    wrapped = pos - box * np.floor(pos / box)
    wrapped[wrapped >= box] = 0.0      # floor rounding can land exactly on L
    half = cKDTree(wrapped, boxsize=box).query_pairs(r_max, output_type="ndarray")
    i = np.concatenate([half[:, 0], half[:, 1]]).astype(np.int64)
    j = np.concatenate([half[:, 1], half[:, 0]]).astype(np.int64)
    slot = np.full(len(pos), -1, dtype=np.int64)
    slot[query] = np.arange(query.size)
    i = slot[i]
    keep = i >= 0
    return _sorted_by_i(i[keep], j[keep])


@numba.njit(parallel=True, cache=True)
def _radial_kernel(seg, j, dist, types, mus, width, n_species, out):
    n_mu = mus.size
    mu0, dmu = mus[0], mus[1] - mus[0] if n_mu > 1 else 1.0
    reach = _SHELL_REACH * width
    for q in numba.prange(seg.size - 1):
        for m in range(seg[q], seg[q + 1]):
            r = dist[m]
            base = types[j[m]] * n_mu
            lo = max(0, int(math.floor((r - reach - mu0) / dmu)))
            hi = min(n_mu, int(math.ceil((r + reach - mu0) / dmu)) + 1)
            for k in range(lo, hi):
                x = (r - mus[k]) / width
                out[q, base + k] += math.exp(-x * x)


@numba.njit(cache=True, inline="always")
def _power(base, zeta):
    # Integer zetas (the usual grid) by repeated squaring: pow() dominates otherwise.
    k = int(zeta)
    if k == zeta and 0 <= k <= 64:
        result = 1.0
        while k:
            if k & 1:
                result *= base
            base *= base
            k >>= 1
        return result
    return base ** zeta


@numba.njit(parallel=True, cache=True)
def _angular_kernel(seg, vec, dist, xis, lambdas, zetas, out):
    n_xi, n_l, n_z = xis.size, lambdas.size, zetas.size
    n_lz = n_l * n_z
    inv_xi2 = 1.0 / (xis * xis)
    for q in numba.prange(seg.size - 1):
        g = np.empty(n_xi)
        pw = np.empty(n_lz)
        acc = np.zeros(n_xi * n_lz)
        for a in range(seg[q], seg[q + 1]):
            ra = dist[a]
            for b in range(a + 1, seg[q + 1]):
                rb = dist[b]
                dot = 0.0
                rjk2 = 0.0
                for d in range(vec.shape[1]):
                    dot += vec[a, d] * vec[b, d]
                    diff = vec[b, d] - vec[a, d]
                    rjk2 += diff * diff
                cos = dot / (ra * rb)
                s = ra * ra + rb * rb + rjk2
                for x in range(n_xi):
                    g[x] = math.exp(-s * inv_xi2[x])
                for l in range(n_l):
                    base = 1.0 + lambdas[l] * cos
                    if base < 0.0:     # |lambda cos| > 1 only by rounding
                        base = 0.0
                    for z in range(n_z):
                        pw[l * n_z + z] = _power(base, zetas[z])
                for x in range(n_xi):
                    gx = g[x]
                    for c in range(n_lz):
                        acc[x * n_lz + c] += gx * pw[c]
        for c in range(acc.size):
            out[q, c] += acc[c]


def _segments(i: np.ndarray, n_query: int) -> np.ndarray:
    return np.searchsorted(i, np.arange(n_query + 1)).astype(np.int64)


def structure_functions(positions, types, box, params: StructureParams = StructureParams(),
                        query=None, backend: str = "freud") -> np.ndarray:
    """Features (n_query, params.n_features) of one configuration.

    positions (N, d) with d in (2, 3), types (N,) in 0..n_species-1,
    box (d,) orthorhombic periodic lengths, query = indices of the central
    particles (default: all), backend = neighbour search (see
    :func:`neighbour_pairs`; the features do not depend on it).
    """
    pos = np.asarray(positions, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] not in (2, 3):
        raise ParameterError(f"parameter 'positions' must have shape (N, d) with d in (2, 3), got {pos.shape}")
    types = np.asarray(types, dtype=np.int64)
    if types.shape != (pos.shape[0],):
        raise ParameterError(f"parameter 'types' must have shape ({pos.shape[0]},), got {types.shape}")
    if types.size and (types.min() < 0 or types.max() >= params.n_species):
        raise ParameterError(f"parameter 'types' must lie in 0..{params.n_species - 1} (n_species), "
                             f"got {types.min()}..{types.max()}")
    n_query = pos.shape[0] if query is None else len(query)
    i, j, vec, dist = neighbour_pairs(pos, box, params.r_cut, query, backend)
    out = np.zeros((n_query, params.n_features))
    _radial_kernel(_segments(i, n_query), j, dist, types, params.mus, params.width,
                   params.n_species, out[:, : params.n_radial])
    near = dist < params.angular_cut
    ia = i[near]
    _angular_kernel(_segments(ia, n_query), np.ascontiguousarray(vec[near]), dist[near],
                    np.array(params.xis), np.array(params.lambdas), np.array(params.zetas),
                    out[:, params.n_radial:])
    return out
