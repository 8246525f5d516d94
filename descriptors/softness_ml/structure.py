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

Neighbours come from a numba cell list (backend "cells", the default),
freud's AABB query (float32 inside freud) or scipy's periodic cKDTree; bond
vectors and distances are computed in float64 by the same minimum-image
arithmetic and the cutoff applied in float64, with the freud search radius
padded so no pair within the cutoff is lost to float32 rounding.

Two implementations: :func:`structure_functions` (fast path, below) and
:func:`structure_functions_reference` (the original straightforward kernels,
kept as the executable specification; tests and benchmarks/softness_apply.py
compare the two).
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


NEIGHBOUR_BACKENDS = ("cells", "freud", "scipy")
_PAIR_BACKENDS = ("freud", "scipy")        # the ones that return a pair list


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
        raise ParameterError(f"parameter 'backend' must be one of {_PAIR_BACKENDS}, got {backend!r}")
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


def structure_functions_reference(positions, types, box, params: StructureParams = StructureParams(),
                                  query=None, backend: str = "freud") -> np.ndarray:
    """The original implementation of :func:`structure_functions`, kept as its reference.

    Straightforward kernels over a freud/scipy pair list: one ``math.exp``
    per (pair, shell) and per (triplet, xi). About 14x slower; the fast
    path is tested against it to 1e-10 and ``benchmarks/softness_apply.py``
    times the two side by side.
    """
    if backend not in _PAIR_BACKENDS:
        raise ParameterError(f"parameter 'backend' must be one of {_PAIR_BACKENDS} for the reference, "
                             f"got {backend!r}")
    pos, types = _check_inputs(positions, types, params)
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


def _check_inputs(positions, types, params: StructureParams):
    pos = np.asarray(positions, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] not in (2, 3):
        raise ParameterError(f"parameter 'positions' must have shape (N, d) with d in (2, 3), got {pos.shape}")
    types = np.asarray(types, dtype=np.int64)
    if types.shape != (pos.shape[0],):
        raise ParameterError(f"parameter 'types' must have shape ({pos.shape[0]},), got {types.shape}")
    if types.size and (types.min() < 0 or types.max() >= params.n_species):
        raise ParameterError(f"parameter 'types' must lie in 0..{params.n_species - 1} (n_species), "
                             f"got {types.min()}..{types.max()}")
    return pos, types


# ------------------------------------------------------------------ fast path
#
# The same sums as the reference kernels above, rearranged so the cost is
# arithmetic in loops LLVM vectorises instead of one libm exp() per term:
#
# * radial shells by the Gaussian recurrence: with x = (r - mu_lo)/L and
#   d = mu_step/L, exp(-(x - m d)^2) = exp(-x^2) * exp(2 d x)^m * exp(-m^2 d^2):
#   two exponentials per pair instead of one per shell;
# * angular triplets of a particle flattened into arrays of s = r_ij^2 +
#   r_ik^2 + r_jk^2 and cos theta. For the integer zetas <= 4 of the usual
#   grid, (1 + lambda cos)^zeta is expanded in powers of cos: per xi five
#   moments sum exp(-s / xi^2) cos^n, n = 0..4, combined with binomial
#   coefficients at the end. The Gaussian, y = s / xi^2 <= 6 r_ang^2 / xi_min^2,
#   is a table entry in s (shared by all xi) times a degree-5 polynomial in
#   the offset from it (_TAB_DEG, _lane_moments): one vectorised pass per xi,
#   no serial squarings; other grids take the general path (powers and
#   Cody-Waite exp per L1-sized block);
# * exp() on arrays by Cody-Waite reduction and a polynomial (_exp_array);
# * neighbours from a numba cell list (backend "cells"), bond vectors by the
#   same minimum-image arithmetic as neighbour_pairs, cutoffs in float64.
#
# Only the summation order and the rounding of the exponentials differ from
# the reference: agreement is ~1e-13 relative (tested to 1e-10). Hot loops
# index from 0 or with unsigned integers: numba adds a negative-index
# wraparound to signed computed indices, which stops vectorisation; and
# numba leaves LLVM's SLP vectoriser off, so only loops are vectorised
# (a pass per xi rather than the xi values side by side in one vector).

# exp(r), |r| <= ln2/2: Taylor to degree 12, truncation < 2e-16 relative.
_E2, _E3, _E4, _E5, _E6, _E7 = (1 / math.factorial(k) for k in range(2, 8))
_E8, _E9, _E10, _E11, _E12 = (1 / math.factorial(k) for k in range(8, 13))
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01      # fdlibm's split of ln 2: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_EXP_MIN, _EXP_MAX = -708.0, 709.0        # exp(-708) = 3e-308: below, the result is that, not 0
_EXP_MAGIC = 2.0 ** 52 + 1023.0           # k + this, integer k in [-1022, 1023]: mantissa bits k + 1023
_RECURRENCE_MAX_STEP = 4.0                # mu_step / L above this: direct exp per shell (no overflow)
# Gaussian of the angular sum (_gauss_table, _lane_moments), c_k = 1 / xi_k^2: with
# s = (j + 1/2) h + t, |t| <= h / 2, exp(-c_k s) = tab[j, k] P_k(t), where
# tab[j, k] = exp(-c_k (j + 1/2) h) (np.exp) and P_k is the degree-_TAB_DEG
# Chebyshev interpolant of exp(-c_k t) on [-h/2, h/2]. h = 2 _TAB_HALF / c_max, so
# x = c_k h / 2 <= _TAB_HALF and the interpolation error is at most
# x^6 e^x / (2^5 6!) = 4.2e-14 relative; with the roundings of table, coefficients,
# Horner and product < 6e-14 relative (tested). Used when y_max = 6 r_ang^2 / xi_min^2
# <= _TAB_YMAX: at most 16 _TAB_YMAX + 1 = 718 rows (the default grid: 601 x 11, 53 kB).
_TAB_DEG = 5
_TAB_HALF = 1.0 / 32
_TAB_YMAX = 44.8                          # the default grid needs 6 * 2.5^2 / 1^2 = 37.5
_BLOCK = 1024                             # triplets per block of the general angular path (L1)
_CHUNK = 16                               # central particles per parallel task
_U0, _U1, _U2, _U3, _U4 = (np.uint64(k) for k in range(5))
_CELL_DIVISIONS = 2                       # cell side >= r_cut / 2: visit 5^d cells


@numba.njit(cache=True, fastmath={"contract"})
def _exp_array(y, n, out, bits):
    """out[:n] = exp(y[:n]), y clamped to [-708, 709], relative error ~2e-16."""
    fbits = bits.view(np.float64)
    for t in range(n):       # all float arithmetic (np.floor, not math.floor's int): vectorised
        v = min(max(y[t], _EXP_MIN), _EXP_MAX)
        k = np.floor(v * _LOG2E + 0.5)
        r = (v - k * _LN2_HI) - k * _LN2_LO
        p = _E12
        p = p * r + _E11
        p = p * r + _E10
        p = p * r + _E9
        p = p * r + _E8
        p = p * r + _E7
        p = p * r + _E6
        p = p * r + _E5
        p = p * r + _E4
        p = p * r + _E3
        p = p * r + _E2
        p = p * r + 1.0
        out[t] = p * r + 1.0
        fbits[t] = k + _EXP_MAGIC             # low mantissa bits: the integer k + 1023
    for t in range(n):
        bits[t] <<= 52                         # the double 2^k (AVX2 has no vector double -> int64)
    for t in range(n):
        out[t] *= fbits[t]


@numba.njit(cache=True, fastmath={"contract", "reassoc"})
def _dot(e, a, n):
    s = 0.0
    for t in range(n):
        s += e[t] * a[t]
    return s


@numba.njit(cache=True, fastmath={"contract", "reassoc"})
def _dot3(e, a, b, c, n):
    sa = 0.0
    sb = 0.0
    sc = 0.0
    for t in range(n):
        et = e[t]
        sa += et * a[t]
        sb += et * b[t]
        sc += et * c[t]
    return sa, sb, sc


@numba.njit(cache=True)
def _radial_one(R, T, n, kp, ws, out_row):
    """Radial shells of one particle: R[:n] distances, T[:n] neighbour species."""
    mus, width, mu0, dmu, step, chain = kp[0], kp[1], kp[2], kp[3], kp[4], kp[5]
    lo_buf, y1, y2, e1, e2, bits, hi_buf = ws[6], ws[7], ws[8], ws[9], ws[10], ws[11], ws[21]
    n_mu = mus.size
    reach = _SHELL_REACH * width
    if step > _RECURRENCE_MAX_STEP:
        for p in range(n):
            r = R[p]
            base = T[p] * n_mu
            lo = max(0, int(math.floor((r - reach - mu0) / dmu)))
            hi = min(n_mu, int(math.ceil((r + reach - mu0) / dmu)) + 1)
            for k in range(lo, hi):
                x = (r - mus[k]) / width
                out_row[base + k] += math.exp(-x * x)
        return
    inv_dmu = 1.0 / dmu
    inv_width = 1.0 / width
    mu_step = kp[13]                              # mus[k] = mu0 + mu_step * k exactly
    top = n_mu - 1.0
    for p in range(n):          # vectorised; shells as the reference picks them
        r = R[p]
        lo = min(max(np.floor((r - reach - mu0) * inv_dmu), 0.0), top)
        lo_buf[p] = lo
        hi_buf[p] = min(top + 1.0, np.ceil((r + reach - mu0) * inv_dmu) + 1.0)
        x = (r - (mu0 + mu_step * lo)) * inv_width   # |x| <= 8 + step for every shell used
        y1[p] = -x * x
        y2[p] = 2.0 * step * x
    _exp_array(y1, n, e1, bits)
    _exp_array(y2, n, e2, bits)
    for p in range(n):
        lo = int(lo_buf[p])
        hi = int(hi_buf[p])
        if hi <= lo:
            continue
        # unsigned indices (constants too: uint64 + int64 is float64 in numba), so
        # numba adds no negative-index wraparound to the accumulation
        base = np.uint64(T[p] * n_mu + lo)
        n_sh = np.uint64(hi - lo)
        q = e2[p]
        # shell lo + m gets exp(-x^2) q^m chain[m], chain[m] = exp(-m^2 step^2);
        # four interleaved products so the multiplications do not wait on each other
        g0 = e1[p]
        g1 = g0 * q
        g2 = g1 * q
        g3 = g2 * q
        q2 = q * q
        q4 = q2 * q2
        m = _U0
        while m + _U4 <= n_sh:
            out_row[base + m] += g0 * chain[m]
            out_row[base + m + _U1] += g1 * chain[m + _U1]
            out_row[base + m + _U2] += g2 * chain[m + _U2]
            out_row[base + m + _U3] += g3 * chain[m + _U3]
            g0 *= q4
            g1 *= q4
            g2 *= q4
            g3 *= q4
            m += _U4
        if m < n_sh:
            out_row[base + m] += g0 * chain[m]
        if m + _U1 < n_sh:
            out_row[base + m + _U1] += g1 * chain[m + _U1]
        if m + _U2 < n_sh:
            out_row[base + m + _U2] += g2 * chain[m + _U2]


@numba.njit(cache=True)
def _triplets(X, Y, Z, RA, IR, m, S, C, C2, J, kp):
    """Over unordered bond pairs {a, b}: S = r_ij^2 + r_ik^2 + r_jk^2, C = cos theta_ijk;
    m (m - 1) / 2 entries. Returns that count. On the moments path (kp[11]) also
    C2 = C^2, and s located in the Gaussian table (_TAB_DEG): J = j * n_xi, S = t.
    IR: scratch for the m inverse bond lengths (cos by products, no division)."""
    for a in range(m):
        IR[a] = 1.0 / RA[a]
    h, inv_h, top = kp[16], kp[17], kp[14].size // kp[15].shape[1] - 1.0
    lanes = kp[15].shape[1]                             # n_xi
    t0 = 0
    for a in range(m - 1):
        xa, ya, za, ra, ia = X[a], Y[a], Z[a], RA[a], IR[a]
        # unsigned indices: numba adds no negative-index wraparound, the loop vectorises
        ua = np.uint64(a + 1)
        ut = np.uint64(t0)
        if kp[11]:
            for j in range(np.uint64(m - 1 - a)):
                b = ua + j
                xb, yb, zb, rb = X[b], Y[b], Z[b], RA[b]
                dx, dy, dz = xb - xa, yb - ya, zb - za
                c = (xa * xb + ya * yb + za * zb) * (ia * IR[b])
                s = ra * ra + rb * rb + (dx * dx + dy * dy + dz * dz)
                c2 = c * c
                C[ut + j] = c
                C2[ut + j] = c2
                k = min(np.floor(s * inv_h), top)       # clamp: s < 6 r_ang^2 up to rounding
                S[ut + j] = s - (k + 0.5) * h
                J[ut + j] = np.int32(k * lanes)
        else:
            for j in range(np.uint64(m - 1 - a)):
                b = ua + j
                xb, yb, zb, rb = X[b], Y[b], Z[b], RA[b]
                dx, dy, dz = xb - xa, yb - ya, zb - za
                C[ut + j] = (xa * xb + ya * yb + za * zb) * (ia * IR[b])
                S[ut + j] = ra * ra + rb * rb + (dx * dx + dy * dy + dz * dz)
        t0 += m - 1 - a
    return t0


@numba.njit(cache=True, fastmath={"contract", "reassoc"})
def _lane_moments(T, J, C1, C2, nb, tab, poly, k, mom):
    """mom[k, n] += sum_u exp(-c_k s_u) C[u]^n, n = 0..4, over nb triplets (see _TAB_DEG).

    exp(-c_k s_u) = tab[J[u] + k] P_k(T[u]), P_k(t) = sum_d poly[d, k] t^d. Per 4
    triplets 5 FMAs and a product for the Gaussian, 4 more and 3 additions for the
    moments (C^3 = C C^2, C^4 = C^2 C^2 here: fewer arrays to stream), and four
    scalar loads for the table entries (AVX2 code has no fast gather).
    """
    m0 = 0.0
    m1 = 0.0
    m2 = 0.0
    m3 = 0.0
    m4 = 0.0
    for u in range(nb):           # indices from 0: no negative-index wraparound in the loop
        t = T[u]
        p = poly[_TAB_DEG, k]
        for d in range(_TAB_DEG - 1, -1, -1):      # unrolled; the coefficients stay in registers
            p = p * t + poly[d, k]
        e = tab[np.uint64(J[u] + k)] * p
        c1, c2 = C1[u], C2[u]
        e1 = e * c1
        e2 = e * c2
        m0 += e
        m1 += e1
        m2 += e2
        m3 += e1 * c2
        m4 += e2 * c2
    mom[k, 0] += m0
    mom[k, 1] += m1
    mom[k, 2] += m2
    mom[k, 3] += m3
    mom[k, 4] += m4


@numba.njit(cache=True)
def _table_moments(T, J, C1, C2, nt, n_xi, tab, poly, mom):
    """_lane_moments for every xi: one vectorised pass over all nt triplets each
    (blocking them for L1 measured slower: the per-call overhead costs more)."""
    for k in range(n_xi):
        _lane_moments(T, J, C1, C2, nt, tab, poly, k, mom)


@numba.njit(cache=True)
def _powers(C, s0, nb, lambdas, zetas, zint, B, PW):
    """PW[l * n_z + z, :nb] = (1 + lambda_l cos)^zeta_z for the block's triplets."""
    n_z = zetas.size
    for li in range(lambdas.size):
        lam = lambdas[li]
        for u in range(nb):
            base = 1.0 + lam * C[s0 + u]
            B[u] = base if base > 0.0 else 0.0       # |lambda cos| > 1 only by rounding
        for zi in range(n_z):
            row = PW[li * n_z + zi]
            k = zint[zi]
            if k == 1:
                for u in range(nb):
                    row[u] = B[u]
            elif k == 2:
                for u in range(nb):
                    row[u] = B[u] * B[u]
            elif k == 4:
                for u in range(nb):
                    b2 = B[u] * B[u]
                    row[u] = b2 * b2
            elif k == 0:
                for u in range(nb):
                    row[u] = 1.0
            else:
                z = zetas[zi]
                for u in range(nb):
                    row[u] = _power(B[u], z)


@numba.njit(cache=True)
def _angular_one(X, Y, Z, RA, m, kp, ws, S, C, C2, J, out_row):
    """Angular functions of one particle from its m bonds (X, Y, Z)[:m], lengths RA[:m].

    S, C, C2, J hold m (m - 1) / 2 entries.
    """
    inv_xi2, lambdas, zetas, zint, coef, moments = kp[6], kp[7], kp[8], kp[9], kp[10], kp[11]
    bits, B, PW, G, YB, MOM = ws[11], ws[12], ws[13], ws[14], ws[15], ws[16]
    n_xi = inv_xi2.size
    n_lz = lambdas.size * zetas.size
    nt = _triplets(X, Y, Z, RA, ws[22], m, S, C, C2, J, kp)
    if moments:
        # (1 + lambda cos)^zeta = sum_n binom(zeta, n) lambda^n cos^n for zeta in 0..4:
        # five moments per xi, combined once at the end (coef[c, n]).
        MOM[:, :] = 0.0
        _table_moments(S, J, C, C2, nt, n_xi, kp[14], kp[15], MOM)
        for xi in range(n_xi):
            for cc in range(n_lz):
                acc = 0.0
                for k in range(5):
                    acc += coef[cc, k] * MOM[xi, k]
                out_row[xi * n_lz + cc] += acc
        return
    for s0 in range(0, nt, _BLOCK):
        nb = min(_BLOCK, nt - s0)
        _powers(C, s0, nb, lambdas, zetas, zint, B, PW)
        for xi in range(n_xi):
            c = inv_xi2[xi]
            for u in range(nb):
                YB[u] = -S[s0 + u] * c
            _exp_array(YB, nb, G, bits)
            o = xi * n_lz
            cc = 0
            while cc + 3 <= n_lz:
                a, b, d = _dot3(G, PW[cc], PW[cc + 1], PW[cc + 2], nb)
                out_row[o + cc] += a
                out_row[o + cc + 1] += b
                out_row[o + cc + 2] += d
                cc += 3
            while cc < n_lz:
                out_row[o + cc] += _dot(G, PW[cc], nb)
                cc += 1


@numba.njit(cache=True)
def _workspace(n_pairs, n_lz, n_xi):
    """Per-task scratch: neighbour lists (n_pairs) and one block of triplets."""
    nb = max(n_pairs, _BLOCK)
    return (np.empty(n_pairs), np.empty(n_pairs, np.int64),                       # 0 R, 1 T
            np.empty(n_pairs), np.empty(n_pairs), np.empty(n_pairs), np.empty(n_pairs),  # 2-5 X Y Z RA
            np.empty(n_pairs), np.empty(n_pairs), np.empty(n_pairs),              # 6 lo, 7 y1, 8 y2
            np.empty(n_pairs), np.empty(n_pairs), np.empty(nb, np.int64),         # 9 e1, 10 e2, 11 bits
            np.empty(_BLOCK), np.empty((max(n_lz, 1), _BLOCK)),                   # 12 B, 13 PW
            np.empty(_BLOCK), np.empty(_BLOCK),                                   # 14 G, 15 YB
            np.zeros((max(n_xi, 1), 5)),                                          # 16 MOM
            np.empty(n_pairs), np.empty(n_pairs), np.empty(n_pairs), np.empty(n_pairs),  # 17-20 candidates
            np.empty(n_pairs), np.empty(n_pairs))                                 # 21 hi, 22 IR


@numba.njit(cache=True)
def _one_particle(n, m, kp, ws, trip, row):
    _radial_one(ws[0], ws[1], n, kp, ws, row)
    _angular_one(ws[2], ws[3], ws[4], ws[5], m, kp, ws, trip[0], trip[1], trip[2], trip[3], row[kp[12]:])


@numba.njit(cache=True)
def _triplet_arrays(m, trip):
    """Arrays for m (m - 1) / 2 triplets: trip itself if big enough, else new ones."""
    need = m * (m - 1) // 2
    if need <= trip[0].size:
        return trip
    cap = need + need // 4
    return np.empty(cap), np.empty(cap), np.empty(cap), np.empty(cap, np.int32)     # S, C, C2, J


@numba.njit(cache=True)
def _cells_to_visit(c, nc, out):
    """Distinct cell indices within _CELL_DIVISIONS of c along one axis (periodic), ascending."""
    if nc <= 2 * _CELL_DIVISIONS + 1:
        for k in range(nc):
            out[k] = k
        return nc
    for k in range(2 * _CELL_DIVISIONS + 1):
        out[k] = (c + k - _CELL_DIVISIONS) % nc
    return 2 * _CELL_DIVISIONS + 1


@numba.njit(parallel=True, cache=True)
def _features_cells(px, py, pz, bx, by, bz, types_sorted, rank, cell_start, ncx, ncy, ncz, cell_of,
                    query, r_cut, r_ang, kp, out):
    """All features of the query particles; neighbours from the cell list.

    p* and types_sorted are positions (as given) and types sorted by cell
    (entry rank[i] is particle i); cell_of[i] = (cx, cy, cz) of particle i
    in the wrapped box.
    """
    nq = query.size
    n_lz = kp[7].size * kp[8].size
    ibx, iby, ibz = 1.0 / bx, 1.0 / by, 1.0 / bz
    width = 2 * _CELL_DIVISIONS + 1
    n_chunks = (nq + _CHUNK - 1) // _CHUNK
    for ch in numba.prange(n_chunks):
        ws = _workspace(px.size, n_lz, kp[6].size)
        R, T, X, Y, Z, RA = ws[0], ws[1], ws[2], ws[3], ws[4], ws[5]
        DX, DY, DZ, RR = ws[17], ws[18], ws[19], ws[20]
        trip = (np.empty(0), np.empty(0), np.empty(0), np.empty(0, np.int32))
        cx_list = np.empty(width, np.int64)
        cy_list = np.empty(width, np.int64)
        cz_list = np.empty(width, np.int64)
        for q in range(ch * _CHUNK, min(nq, (ch + 1) * _CHUNK)):
            i = query[q]
            k_i = rank[i]
            xi_, yi_, zi_ = px[k_i], py[k_i], pz[k_i]
            n_x = _cells_to_visit(cell_of[i, 0], ncx, cx_list)
            n_y = _cells_to_visit(cell_of[i, 1], ncy, cy_list)
            n_z = _cells_to_visit(cell_of[i, 2], ncz, cz_list)
            n = 0
            m = 0
            for a in range(n_x):
                for b in range(n_y):
                    row0 = (cx_list[a] * ncy + cy_list[b]) * ncz
                    c = 0
                    while c < n_z:
                        # cells adjacent along z hold adjacent particles: one range
                        k0 = cell_start[row0 + cz_list[c]]
                        k1 = cell_start[row0 + cz_list[c] + 1]
                        while c + 1 < n_z and cz_list[c + 1] == cz_list[c] + 1:
                            c += 1
                            k1 = cell_start[row0 + cz_list[c] + 1]
                        c += 1
                        nk = k1 - k0
                        pxs, pys, pzs = px[k0:k1], py[k0:k1], pz[k0:k1]
                        for k in range(nk):              # vectorised: min image, distance
                            dx = pxs[k] - xi_
                            dx -= bx * np.rint(dx * ibx)
                            dy = pys[k] - yi_
                            dy -= by * np.rint(dy * iby)
                            dz = pzs[k] - zi_
                            dz -= bz * np.rint(dz * ibz)
                            DX[k] = dx
                            DY[k] = dy
                            DZ[k] = dz
                            RR[k] = math.sqrt(dx * dx + dy * dy + dz * dz)
                        tys = types_sorted[k0:k1]
                        if 0 <= k_i - k0 < nk:
                            RR[k_i - k0] = np.inf        # i itself
                        # compaction, branch-free for the pairs; unsigned indices, so numba
                        # adds no negative-index wraparound (which made this loop ~3x slower)
                        un = np.uint64(n)
                        for k in range(np.uint64(nk)):
                            r = RR[k]
                            R[un] = r
                            T[un] = tys[k]
                            un += np.uint64(r < r_cut)
                            if r < r_ang:                # bonds of the angular sum: ~1 in 20
                                X[m] = DX[k]
                                Y[m] = DY[k]
                                Z[m] = DZ[k]
                                RA[m] = r
                                m += 1
                        n = np.int64(un)
            trip = _triplet_arrays(m, trip)
            _one_particle(n, m, kp, ws, trip, out[q])


@numba.njit(parallel=True, cache=True)
def _features_pairs(seg, j, vec, dist, types, r_ang, kp, out):
    """All features from a pair list sorted by central particle (freud/scipy backends)."""
    nq = seg.size - 1
    n_lz = kp[7].size * kp[8].size
    max_pairs = 0
    for q in range(nq):
        max_pairs = max(max_pairs, seg[q + 1] - seg[q])
    n_chunks = (nq + _CHUNK - 1) // _CHUNK
    dim = vec.shape[1]
    for ch in numba.prange(n_chunks):
        ws = _workspace(max_pairs, n_lz, kp[6].size)
        R, T, X, Y, Z, RA = ws[0], ws[1], ws[2], ws[3], ws[4], ws[5]
        trip = (np.empty(0), np.empty(0), np.empty(0), np.empty(0, np.int32))
        for q in range(ch * _CHUNK, min(nq, (ch + 1) * _CHUNK)):
            n = 0
            m = 0
            for p in range(seg[q], seg[q + 1]):
                r = dist[p]
                R[n] = r
                T[n] = types[j[p]]
                n += 1
                if r < r_ang:
                    X[m] = vec[p, 0]
                    Y[m] = vec[p, 1]
                    Z[m] = vec[p, 2] if dim == 3 else 0.0
                    RA[m] = r
                    m += 1
            trip = _triplet_arrays(m, trip)
            _one_particle(n, m, kp, ws, trip, out[q])


def _moment_coefficients(params: StructureParams):
    """(coef, use): coef[l * n_z + z, n] = binom(zeta_z, n) lambda_l^n, the expansion of
    (1 + lambda cos)^zeta in cos^n; use = all zetas integers in 0..4 and the
    Gaussian's argument within _TAB_YMAX (else the general path)."""
    zetas_ok = all(z == int(z) and 0 <= z <= 4 for z in params.zetas)
    y_max = 6 * params.angular_cut ** 2 / min(params.xis) ** 2   # s < 6 r_ang^2
    coef = np.zeros((len(params.lambdas) * len(params.zetas), 5))
    if zetas_ok:
        for li, lam in enumerate(params.lambdas):
            for zi, z in enumerate(params.zetas):
                for n in range(int(z) + 1):
                    coef[li * len(params.zetas) + zi, n] = math.comb(int(z), n) * lam ** n
    return coef, bool(zetas_ok and y_max <= _TAB_YMAX)


def _gauss_table(params: StructureParams, use: bool):
    """(tab, poly, h, 1/h) for _lane_moments (see _TAB_DEG): tab flat (rows, n_xi),
    poly[d, k] the coefficient of t^d in P_k."""
    c = 1.0 / np.array(params.xis) ** 2
    if not use:
        return np.zeros(c.size), np.zeros((_TAB_DEG + 1, c.size)), 1.0, 1.0
    h = 2 * _TAB_HALF / c.max()                                      # |c_k t| <= _TAB_HALF
    rows = int(6 * params.angular_cut ** 2 / h) + 1                  # s < 6 r_ang^2
    tab = np.exp(-np.outer((np.arange(rows) + 0.5) * h, c)).ravel()
    half = h / 2
    poly = np.zeros((_TAB_DEG + 1, c.size))
    for k, ck in enumerate(c):
        # interpolate in x = t / half in [-1, 1] (well conditioned), then rescale to powers of t
        cheb = np.polynomial.chebyshev.Chebyshev.interpolate(lambda x: np.exp(-ck * half * x), _TAB_DEG)
        coef = np.polynomial.chebyshev.cheb2poly(cheb.coef)
        poly[:coef.size, k] = coef / half ** np.arange(coef.size)
    return tab, poly, h, 1.0 / h


_KERNEL_CACHE: dict = {}


def _kernel_params(params: StructureParams) -> tuple:
    kp = _KERNEL_CACHE.get(params)
    if kp is None:
        mus = params.mus
        mu0 = float(mus[0])
        dmu = float(mus[1] - mus[0]) if params.n_mu > 1 else 1.0     # as the reference kernel
        step = params.mu_step / params.width
        chain = np.exp(-(np.arange(params.n_mu + 4.0) * step) ** 2) if step <= _RECURRENCE_MAX_STEP \
            else np.zeros(1)
        zint = np.array([int(z) if z == int(z) and z <= 64 else -1 for z in params.zetas], dtype=np.int64)
        coef, moments = _moment_coefficients(params)
        tab, poly, h, inv_h = _gauss_table(params, moments)
        kp = (mus, params.width, mu0, dmu, step, chain, 1.0 / np.array(params.xis) ** 2,
              np.array(params.lambdas), np.array(params.zetas), zint, coef, moments, params.n_radial,
              params.mu_step, tab, poly, h, inv_h)
        if len(_KERNEL_CACHE) > 16:
            _KERNEL_CACHE.clear()
        _KERNEL_CACHE[params] = kp
    return kp


def _cell_list(pos: np.ndarray, box: np.ndarray, r_cut: float):
    """Cells of side >= (r_cut + pad) / _CELL_DIVISIONS in the wrapped box, particles sorted by cell."""
    n, dim = pos.shape
    side_min = (r_cut + _FREUD_PAD) / _CELL_DIVISIONS
    nc = np.ones(3, dtype=np.int64)
    nc[:dim] = np.maximum(1, np.floor(box / side_min)).astype(np.int64)
    wrapped = pos - box * np.floor(pos / box)
    cell_of = np.zeros((n, 3), dtype=np.int64)
    cell_of[:, :dim] = np.clip(np.floor(wrapped / (box / nc[:dim])).astype(np.int64), 0, nc[:dim] - 1)
    flat = (cell_of[:, 0] * nc[1] + cell_of[:, 1]) * nc[2] + cell_of[:, 2]
    order = np.argsort(flat, kind="stable")
    cell_start = np.zeros(int(nc.prod()) + 1, dtype=np.int64)
    np.cumsum(np.bincount(flat, minlength=int(nc.prod())), out=cell_start[1:])
    coords = np.zeros((3, n))
    coords[:dim] = pos[order].T
    b3 = np.ones(3)
    b3[:dim] = box
    rank = np.empty_like(order)
    rank[order] = np.arange(n)
    return coords, b3, order, rank, cell_start, nc, cell_of


def structure_functions(positions, types, box, params: StructureParams = StructureParams(),
                        query=None, backend: str = "cells") -> np.ndarray:
    """Features (n_query, params.n_features) of one configuration.

    positions (N, d) with d in (2, 3), types (N,) in 0..n_species-1,
    box (d,) orthorhombic periodic lengths, query = indices of the central
    particles (default: all), backend = neighbour search: "cells" (numba
    cell list, the fastest), "freud" or "scipy" (pair lists, see
    :func:`neighbour_pairs`). The features do not depend on it; they equal
    :func:`structure_functions_reference` to ~1e-13 relative.
    """
    if backend not in NEIGHBOUR_BACKENDS:
        raise ParameterError(f"parameter 'backend' must be one of {NEIGHBOUR_BACKENDS}, got {backend!r}")
    pos, types = _check_inputs(positions, types, params)
    n, dim = pos.shape
    kp = _kernel_params(params)
    if backend != "cells":
        n_query = n if query is None else len(query)
        i, j, vec, dist = neighbour_pairs(pos, box, params.r_cut, query, backend)
        out = np.zeros((n_query, params.n_features))
        _features_pairs(_segments(i, n_query), j, np.ascontiguousarray(vec), dist, types,
                        params.angular_cut, kp, out)
        return out
    box = check_box(box, dim, params.r_cut)
    query = np.arange(n) if query is None else np.asarray(query, dtype=np.int64)
    if query.size and (query.min() < 0 or query.max() >= n or np.unique(query).size != query.size):
        raise ParameterError(f"parameter 'query' must be distinct indices in 0..{n - 1}")
    coords, b3, order, rank, cell_start, nc, cell_of = _cell_list(pos, box, params.r_cut)
    out = np.zeros((query.size, params.n_features))
    _features_cells(coords[0], coords[1], coords[2], b3[0], b3[1], b3[2], types[order], rank, cell_start,
                    nc[0], nc[1], nc[2], cell_of, query, params.r_cut, params.angular_cut, kp, out)
    return out
