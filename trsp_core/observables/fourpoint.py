"""Four-point structure factor S4(q, t) and its Ornstein-Zernike fit.

Q(q, t) = (1/N) sum_i I_i(t) e^{i q.r_i} is the FFT of the persistence
indicator field; S4 = N (<|Q(q)|^2> - |<Q(q)>|^2) over time origins and
seeds. At q = 0 it is chi4(t) exactly. Small-q shells are fitted to
S4(q) = S4(0) / (1 + (q xi4)^2).

Both four-point observables also have a streamed path (``compute_streamed``): the
indicator fields are accumulated run by run from event chunks
(:class:`IndicatorAccumulator`, :class:`OverlapAccumulator` for tau_alpha), so
no event log is held. Its numbers equal ``compute``'s to float rounding (tested
to 1e-12; bitwise while a run's fields fit in one FFT batch).
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from trsp_core.observables._labels import in_seed_order, var
from trsp_core.observables.stats import bootstrap, bootstrap_picks
from trsp_core.plugin.interfaces import Observable
from scipy.optimize import curve_fit

from trsp_core.observables.shells import shell_index, wavevectors
from trsp_core.observables.overlap import default_lags, overlap_samples, persistence_times


# ---- persistence accumulated from event chunks ------------------------------------------
# Each site of a firing cluster rearranges (a site repeated in a padded cluster row, as in
# mixtures of cluster rules, counts once: only its first event after an origin matters).
# Events must arrive in time order within a run; nothing but times and cluster ids is read.
def _overlap_add(times, clusters, cluster_sites, origins, lags, ptr, cnt):  # pragma: no cover - numba
    """For every site of every event, the origins whose next rearrangement it is.

    ``ptr[i]``: first origin whose next rearrangement of site i is still unseen.
    Event (t, site i) is the next one after every origin o_k < t with k >= ptr[i]
    (events arrive in time order); its persistence time t - o_k falls in lag bin
    b = #{lags < t - o_k}, counted in ``cnt[k, b]``.
    """
    n_o = origins.shape[0]
    n_l = lags.shape[0]
    m = cluster_sites.shape[1]
    for e in range(times.shape[0]):
        t = times[e]
        c = clusters[e]
        for j in range(m):
            i = cluster_sites[c, j]
            k = ptr[i]
            while k < n_o and origins[k] < t:
                tau = t - origins[k]
                lo, hi = 0, n_l
                while lo < hi:
                    mid = (lo + hi) // 2
                    if lags[mid] < tau:
                        lo = mid + 1
                    else:
                        hi = mid
                cnt[k, lo] += 1
                k += 1
            ptr[i] = k


def _indicator_add(times, clusters, cluster_sites, origins, t_eval, ptr, alive):  # pragma: no cover - numba
    """alive[k, i] = False once site i's first event after origin o_k comes within t_eval.

    The test is (t - o_k) <= t_eval in float64, the negation of ``persistence_times > t``
    of :func:`indicator_fields`, so the fields are bitwise the in-memory ones.
    """
    n_o = origins.shape[0]
    m = cluster_sites.shape[1]
    for e in range(times.shape[0]):
        t = times[e]
        c = clusters[e]
        for j in range(m):
            i = cluster_sites[c, j]
            k = ptr[i]
            while k < n_o and origins[k] < t:
                if t - origins[k] <= t_eval:
                    alive[k, i] = False
                k += 1
            ptr[i] = k


def _window_axis(a, side, out):  # pragma: no cover - numba
    """out[p, x, q] = sum of a[p, y, q] over y in [x, x + side) (periodic): a running sum,
    exact for the 0/1 indicator fields (integers in float64). Explicit loops: numba
    array expressions would allocate a temporary per statement."""
    n = a.shape[1]
    nq = a.shape[2]
    for p in range(a.shape[0]):
        for q in range(nq):
            out[p, 0, q] = 0.0
        for y in range(side):
            yy = y % n
            for q in range(nq):
                out[p, 0, q] += a[p, yy, q]
        for x in range(1, n):
            add = (x + side - 1) % n
            for q in range(nq):          # contiguous in q: vectorised
                out[p, x, q] = out[p, x - 1, q] + a[p, add, q] - a[p, x - 1, q]


def _window_last_moments(a, side, scale):  # pragma: no cover - numba
    """(sum of w, sum of w^2) over every anchor of w = scale x the periodic window sum of
    a[p, :] over [x, x + side): the last axis, where the running sum along a row would be
    one serial chain, is run for 16 rows at a time (independent chains), and the block
    counts go straight into the two moments instead of an array.

    The counts are integers: their sums over 16 rows stay exact in float64 (< 2^53 up to
    L = 128), and the partial sums are added with Kahan compensation, so the moments are
    as accurate as numpy's pairwise mean of the array they replace."""
    rows, n = a.shape
    s1 = c1 = s2 = c2 = 0.0
    run = np.empty(16)
    for p0 in range(0, rows, 16):
        p1 = min(p0 + 16, rows)
        for p in range(p0, p1):
            acc = 0.0
            for y in range(side):
                acc += a[p, y % n]
            run[p - p0] = acc
        l1 = 0.0
        l2 = 0.0
        for x in range(n):
            add = (x + side) % n
            for p in range(p0, p1):
                w = run[p - p0]
                l1 += w
                l2 += w * w
                run[p - p0] += a[p, add] - a[p, x]
        y1 = l1 - c1                      # Kahan: the low bits lost by s1 + l1 carried on
        t1 = s1 + y1
        c1 = (t1 - s1) - y1
        s1 = t1
        y2 = l2 - c2
        t2 = s2 + y2
        c2 = (t2 - s2) - y2
        s2 = t2
    return s1 * scale, s2 * scale * scale


try:
    from numba import njit

    _overlap_add = njit(cache=True, nogil=True)(_overlap_add)
    _indicator_add = njit(cache=True, nogil=True)(_indicator_add)
    _window_axis = njit(cache=True, nogil=True)(_window_axis)
    _window_last_moments = njit(cache=True, nogil=True)(_window_last_moments)
except ImportError:  # pragma: no cover - without numba the loops run in Python
    pass


def _pointer(n_sites: int, n_origins: int) -> np.ndarray:
    dtype = np.int16 if n_origins < np.iinfo(np.int16).max else np.int32
    return np.zeros(int(n_sites), dtype)


class OverlapAccumulator:
    """Q(origin, lag) of one run from its event chunks, in O(N) memory.

    Bitwise equal to ``overlap_from_persistence(persistence_times(...))`` of
    :mod:`trsp_core.observables.overlap` for the same origins and lags: a site's
    persistence time after origin o is t - o for its first event t > o, and Q is
    1 - #{persistence time <= lag} / N, an integer count here.
    """

    def __init__(self, cluster_sites: np.ndarray, n_sites: int, origins: np.ndarray, lags: np.ndarray):
        self.cluster_sites = np.ascontiguousarray(cluster_sites, np.int64)
        self.n_sites = int(n_sites)
        self.origins = np.ascontiguousarray(origins, float)
        self.lags = np.ascontiguousarray(lags, float)
        self.ptr = _pointer(self.n_sites, len(self.origins))
        self.cnt = np.zeros((len(self.origins), len(self.lags) + 1), np.int64)

    def add(self, times: np.ndarray, clusters: np.ndarray) -> None:
        _overlap_add(np.ascontiguousarray(times, float), np.ascontiguousarray(clusters, np.int64),
                     self.cluster_sites, self.origins, self.lags, self.ptr, self.cnt)

    def result(self) -> np.ndarray:
        """Q[origin, lag]."""
        below = np.cumsum(self.cnt[:, :-1], axis=1)
        return 1.0 - below / self.n_sites


class IndicatorAccumulator:
    """I_i(t0, t) of one run at one time t from its event chunks: :func:`indicator_fields`
    of that run (same origins, spread over [0, t_end - t]) without its event log.
    Memory: one byte per (origin, site)."""

    def __init__(self, cluster_sites: np.ndarray, n_sites: int, t_end: float, t: float, n_origins: int = 64,
                 seed=None):
        span = t_end - t
        if span < 0:
            raise ValueError(f"run of seed {seed} (t_end={t_end:.4g}) is shorter than t={t:.4g}")
        self.cluster_sites = np.ascontiguousarray(cluster_sites, np.int64)
        self.t = float(t)
        self.origins = np.ascontiguousarray(np.linspace(0.0, span, n_origins), float)
        self.ptr = _pointer(n_sites, n_origins)
        self.alive = np.ones((n_origins, int(n_sites)), np.bool_)

    def add(self, times: np.ndarray, clusters: np.ndarray) -> None:
        _indicator_add(np.ascontiguousarray(times, float), np.ascontiguousarray(clusters, np.int64),
                       self.cluster_sites, self.origins, self.t, self.ptr, self.alive)

    def result(self) -> np.ndarray:
        """I[origin, site] as float 0/1."""
        return self.alive.astype(float)


def memory_chunks(runs):
    """``chunks(k)`` for runs held in memory: their whole event log as one chunk."""
    return lambda k: [(runs[k].times, runs[k].clusters)]


def _feed(chunks, accumulators) -> None:
    for times, clusters in chunks:
        for acc in accumulators:
            acc.add(times, clusters)


#: lags and origins of the overlap samples from which the four-point observables take tau_alpha
ALPHA_LAGS, ALPHA_ORIGINS = 48, 64


def alpha_samples(model, runs, chunks, n_lags: int = ALPHA_LAGS, n_origins: int = ALPHA_ORIGINS):
    """(lags, Q (run, origin, lag)) that :func:`_alpha_time` computes, from event chunks.

    ``chunks(k)`` yields (times, clusters) of ``runs[k]`` in time order; the runs need
    only ``seed`` and ``t_end``. Q is in the order of ``runs``.
    """
    lags = default_lags(min(r.t_end for r in runs), n_lags)
    Q = []
    for k, r in enumerate(runs):
        span = r.t_end - lags.max()
        if span < 0:
            raise ValueError(f"run of seed {r.seed} (t_end={r.t_end:.4g}) is shorter than the largest lag "
                             f"{lags.max():.4g}")
        acc = OverlapAccumulator(model.cluster_sites, model.n_sites, np.linspace(0.0, span, n_origins), lags)
        _feed(chunks(k), [acc])
        Q.append(acc.result())
    return lags, np.asarray(Q)


#: (origins x sites) of one FFT batch in the streamed path; a run with more is split by origins
FFT_BATCH = 1 << 22


def _origin_batches(n_origins: int, n_sites: int):
    step = max(1, min(n_origins, FFT_BATCH // max(int(n_sites), 1)))
    return [slice(a, min(a + step, n_origins)) for a in range(0, n_origins, step)]


def run_fields_streamed(model, run, chunks, times, n_origins: int) -> list[np.ndarray]:
    """Boolean I[origin, site] of one run at each of ``times``, in one pass over its chunks."""
    accs = [IndicatorAccumulator(model.cluster_sites, model.n_sites, run.t_end, t, n_origins, run.seed)
            for t in times]
    _feed(chunks, accs)
    return [a.alive for a in accs]


def run_fourier_moments(alive: np.ndarray, shape) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fourier_moments` of one run's field (origin, site), origins in FFT batches."""
    n_orig = alive.shape[0]
    q2 = q1 = 0.0
    for sl in _origin_batches(n_orig, alive.shape[1]):
        w = (sl.stop - sl.start) / n_orig
        a2, a1 = fourier_moments(alive[None, sl].astype(float), shape)
        q2, q1 = (a2[0], a1[0]) if w == 1.0 else (q2 + w * a2[0], q1 + w * a1[0])
    return q2, q1


def run_block_moments(alive: np.ndarray, shape, sides) -> np.ndarray:
    """:func:`block_chi4` of one run's field (origin, site): (len(sides), 2), origins in FFT batches."""
    n_orig = alive.shape[0]
    out = 0.0
    for sl in _origin_batches(n_orig, alive.shape[1]):
        w = (sl.stop - sl.start) / n_orig
        m = block_chi4(alive[None, sl].astype(float), shape, sides)[0]
        out = m if w == 1.0 else out + w * m
    return out


def indicator_fields(runs, cluster_sites, n_sites: int, t: float, n_origins: int = 64) -> np.ndarray:
    """I_i(t0, t) for every (run, origin, site): shape (n_runs, n_origins, N), float 0/1.

    Origins are spread over [0, t_end - t] so every window lies in the run.
    """
    out = []
    for r in runs:
        span = r.t_end - t
        if span < 0:
            raise ValueError(f"run of seed {r.seed} (t_end={r.t_end:.4g}) is shorter than t={t:.4g}")
        origins = np.linspace(0.0, span, n_origins)
        tau = persistence_times(r.site_event_times(cluster_sites, n_sites), origins)
        out.append((tau > t).astype(float))
    return np.asarray(out)


def fourier_moments(fields: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Per run: (mean over origins of |Q(q)|^2, mean of Q(q)) on the full reciprocal grid.

    fields (n_runs, n_origins, N) -> two arrays (n_runs, N) (flattened q grid).
    """
    n_runs, n_orig, N = fields.shape
    f = fields.reshape(n_runs, n_orig, *shape)
    axes = tuple(range(2, 2 + len(shape)))
    Q = np.fft.fftn(f, axes=axes).reshape(n_runs, n_orig, N) / N
    return (np.abs(Q) ** 2).mean(axis=1), Q.mean(axis=1)


def s4_from_moments(q2: np.ndarray, q1: np.ndarray, n_sites: int) -> np.ndarray:
    """S4 on the q grid from pooled moments of runs (equal origin counts per run).

    Bias-corrected as chi4 (:func:`trsp_core.observables.overlap.chi4_from_samples`):
    the pooled |<Q(q)>|^2 exceeds |E Q(q)|^2 by Var(<Q(q)>) = Var(run mean)/R, added
    back from the spread of the runs' means (R > 1). At q = 0 this equals the corrected chi4.
    """
    s4 = q2.mean(axis=0) - np.abs(q1.mean(axis=0)) ** 2
    R = q1.shape[0]
    if R > 1:
        s4 = s4 + (np.abs(q1 - q1.mean(axis=0)) ** 2).sum(axis=0) / (R - 1) / R
    return n_sites * s4


class ShellAverage:
    """Average a field on the reciprocal grid over shells of equal |q|."""

    def __init__(self, lattice):
        self.q, self.inverse = shell_index(wavevectors(lattice))
        self.counts = np.bincount(self.inverse, minlength=len(self.q))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, float)
        return np.bincount(self.inverse, weights=v, minlength=len(self.q)) / self.counts


def ornstein_zernike(q, s0, xi):
    return s0 / (1.0 + (q * xi) ** 2)


def fit_oz(q: np.ndarray, s4: np.ndarray, err: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares OZ fit -> (params [S4(0), xi4], covariance). Errors absolute when given."""
    q, s4 = np.asarray(q, float), np.asarray(s4, float)
    if len(q) < 3:
        raise ValueError(f"an OZ fit needs at least 3 q shells, got {len(q)}")
    p0 = [max(s4[0], 1e-12), 1.0]
    sigma = None if err is None else np.where(np.asarray(err) > 0, err, np.nanmax(err) if np.any(err > 0) else 1.0)
    popt, pcov = curve_fit(ornstein_zernike, q, s4, p0=p0, sigma=sigma, absolute_sigma=err is not None,
                           bounds=([0.0, 0.0], [np.inf, np.inf]), maxfev=20000)
    return popt, pcov


def fit_oz_shells(q: np.ndarray, s4: np.ndarray, counts: np.ndarray, iterations: int = 4):
    """OZ fit of shell-averaged S4 with *model-based* weights -> (params [S4(0), xi4], covariance).

    A shell average of n_q wavevectors has a relative error ~ c / sqrt(n_q) (each
    |Q(q)|^2 fluctuates by about its own mean), so sigma_i = OZ(q_i) / sqrt(n_i),
    iterated from the data to the fitted curve. Weights estimated from the same
    seeds (bootstrap errors per shell) are noisy and correlated with the data: the
    fit then moved by about one error bar with the mere order of the runs. The scale
    c is taken from the residuals (absolute_sigma=False).
    """
    q, s4, counts = np.asarray(q, float), np.asarray(s4, float), np.asarray(counts, float)
    if len(q) < 3:
        raise ValueError(f"an OZ fit needs at least 3 q shells, got {len(q)}")
    floor = 1e-12 + 1e-6 * max(float(np.max(np.abs(s4))), 0.0)
    shape = np.maximum(s4, floor)
    popt = np.array([max(s4[0], floor), 1.0])
    pcov = np.full((2, 2), np.nan)
    for _ in range(iterations):
        popt, pcov = curve_fit(ornstein_zernike, q, s4, p0=popt, sigma=shape / np.sqrt(counts),
                               absolute_sigma=False, bounds=([0.0, 0.0], [np.inf, np.inf]), maxfev=20000)
        shape = np.maximum(ornstein_zernike(q, *popt), floor)
    return popt, pcov


def small_q_window(q: np.ndarray, n_shells: int = 6, q_max: float | None = None) -> np.ndarray:
    """Shells of the OZ fit: q = 0 and the ``n_shells`` smallest non-zero |q| (or all q <= q_max).

    S4 here is not one Lorentzian: a long-range small-q part sits on a broad
    short-range one (the cluster's own form factor), so the fitted xi4 depends on how
    far out the window reaches. A fixed wide window (q <= 2 / sigma_AA) let the broad
    part dominate at low T: xi4 ~ 5 with S4(0) ~ 30 where S4(q=0) = chi4 ~ 7 (L = 20,
    T = 0.42). The window therefore stays at small q; q = 0 is in it since
    S4(0) = chi4 exactly (no conserved quantity in the lattice model).
    """
    q = np.asarray(q, float)
    nz = np.sort(q[q > 0])
    if q_max is not None:
        mask = q <= q_max + 1e-9
    else:
        if len(nz) < 3:
            raise ValueError(f"an OZ fit needs at least 3 non-zero q shells, got {len(nz)}")
        mask = q <= nz[min(n_shells, len(nz)) - 1] + 1e-9
    if np.count_nonzero(mask & (q > 0)) < 3:
        mask = q <= nz[min(3, len(nz)) - 1] + 1e-9
    return mask


def interpolate_log_time(values: np.ndarray, offsets: np.ndarray, x: float, clamp: float = 1.5) -> float:
    """Quadratic (3 points) or linear (2) interpolation of values(ln t) at offset x.

    ``offsets`` are ln(t_j / t_ref); x is clamped to ``clamp`` x the outermost offset
    so that a wild bootstrap tau cannot extrapolate far.
    """
    values, offsets = np.asarray(values, float), np.asarray(offsets, float)
    if len(values) == 1:
        return float(values[0])
    lim = clamp * np.max(np.abs(offsets))
    x = float(np.clip(x, -lim, lim))
    coef = np.polyfit(offsets, values, min(2, len(values) - 1))
    return float(np.polyval(coef, x))


def block_pair_counts(lattice, side: int) -> np.ndarray:
    """A(r) = number of ordered site pairs at offset r inside one cubic block of the given side."""
    box = np.zeros(lattice.shape)
    box[tuple(slice(0, min(side, n)) for n in lattice.shape)] = 1.0
    F = np.fft.fftn(box)
    return np.rint(np.fft.ifftn(np.abs(F) ** 2).real).reshape(-1)


def block_chi4(fields: np.ndarray, shape: tuple[int, ...], sides) -> np.ndarray:
    """chi4_B(L_B) = N_B Var Q_B over origins, runs and every block position (periodic).

    Q_B is the overlap of a cubic block of side L_B; all L^d block positions are
    pooled (overlapping blocks give correlated samples but an unbiased variance).
    Returns (n_runs, len(sides), 2): per run, [mean Q_B, mean Q_B^2] so callers
    can pool or bootstrap runs.
    """
    n_runs, n_orig, N = fields.shape
    f = np.ascontiguousarray(fields, dtype=float).reshape(n_runs, n_orig, *shape)
    out = np.empty((n_runs, len(sides), 2))
    for r in range(n_runs):
        for k, side in enumerate(sides):
            s1, s2 = block_moments(f[r], int(side))
            out[r, k] = s1 / (n_orig * N), s2 / (n_orig * N)
    return out


def block_moments(f: np.ndarray, side: int) -> tuple[float, float]:
    """(sum Q_B, sum Q_B^2) over every anchor x and batch entry of f (batch, *shape), Q_B the
    mean of f over the periodic cubic block [x, x + side)^d.

    A box is separable: a running window sum along each axis in turn, O(N) per axis (the
    circular cross-correlation by FFT it replaces cost O(N log N) in complex arithmetic and
    rounded sums that are exact here: integers in float64). Sides beyond an axis' length
    wrap around, as the FFT form did with min(side, n).
    """
    b, shape = f.shape[0], f.shape[1:]
    cur = f
    for ax, n in enumerate(shape[:-1]):
        pre = b * int(np.prod(shape[:ax], dtype=np.int64))
        post = int(np.prod(shape[ax + 1:], dtype=np.int64))
        out = np.empty((pre, n, post))
        _window_axis(cur.reshape(pre, n, post), min(side, n), out)
        cur = out
    n = shape[-1]
    return _window_last_moments(cur.reshape(-1, n), min(side, n), 1.0 / side ** len(shape))


def chi4_from_block_moments(moments: np.ndarray, sides, dim: int) -> np.ndarray:
    """N_B Var Q_B from per-run moments, bias-corrected like chi4 (R > 1 runs)."""
    m = moments.mean(axis=0)
    var = m[:, 1] - m[:, 0] ** 2
    R = moments.shape[0]
    if R > 1:
        var = var + moments[:, :, 0].var(axis=0, ddof=1) / R
    return np.asarray(sides, float) ** dim * var


def block_scaling_model(lattice, sides):
    """chi4_B(L_B; g0, g1, xi4) for G4(0) = g0, G4(r>0) = g1 exp(-r/xi4) (minimum image).

    chi4_B = (1/N_B) sum_{i,j in B} G4(r_ij); the scaling variable is L_B a / xi4.
    """
    dist = lattice.stencil_distances().reshape(-1)
    pairs = [block_pair_counts(lattice, s) / (s ** lattice.dim) for s in sides]
    pairs = np.stack(pairs)
    self_pairs = pairs[:, dist == 0].sum(axis=1)
    far = dist > 0
    # pair counts summed per distinct distance, once: a model evaluation is then
    # (sides x distances) instead of (sides x sites) -- the fit calls it hundreds of
    # times (it was 36 s of a compose with block-chi4 at L = 64)
    r, where = np.unique(np.round(dist[far], 12), return_inverse=True)
    per_r = np.zeros((len(sides), len(r)))
    for k in range(len(sides)):
        per_r[k] = np.bincount(where, weights=pairs[k, far], minlength=len(r))

    def model(_, g0, g1, xi):
        return g0 * self_pairs + g1 * (per_r @ np.exp(-r / xi))

    return model


def infinite_chi4(g0: float, g1: float, xi: float, spacing: float, dim: int) -> float:
    """chi4 of an infinite system with the same G4: g0 + g1 sum_{r>0} exp(-r/xi) on the lattice.

    The lattice sum is exact inside a sphere of at most 30 spacings; beyond it the
    tail is the continuum integral (an unconstrained fit can return xi of many
    box sizes, and a brute-force grid of 40 xi would not fit in memory).
    """
    n = min(int(np.ceil(40 * xi / spacing)) + 1, 30)
    R = n * spacing
    ax = np.arange(-n, n + 1) * spacing
    r = np.sqrt(sum(g**2 for g in np.meshgrid(*([ax] * dim), indexing="ij")))
    inside = (r > 0) & (r <= R)
    total = np.exp(-r[inside] / xi).sum()
    tail = np.exp(-R / xi) * xi
    if dim == 1:
        total += 2 * tail / spacing
    elif dim == 2:
        total += 2 * np.pi * tail * (R + xi) / spacing**2
    else:
        total += 4 * np.pi * tail * (R * R + 2 * R * xi + 2 * xi * xi) / spacing**3
    return float(g0 + g1 * total)


def fit_block_scaling(lattice, sides, chi4_b, err=None):
    """Fit (g0, g1, xi4) of :func:`block_scaling_model` -> (params, covariance)."""
    model = block_scaling_model(lattice, sides)
    sigma = None
    if err is not None:
        err = np.asarray(err, float)
        sigma = np.where(err > 0, err, np.nanmax(err[err > 0]) if np.any(err > 0) else 1.0)
    p0 = [chi4_b[0], max(chi4_b[-1] - chi4_b[0], 1e-3) / 10.0, lattice.spacing]
    popt, pcov = curve_fit(model, np.asarray(sides, float), chi4_b, p0=p0, sigma=sigma,
                           absolute_sigma=err is not None,
                           bounds=([0, -np.inf, 1e-3 * lattice.spacing], [np.inf, np.inf, 10 * max(lattice.shape) * lattice.spacing]),
                           maxfev=20000)
    return popt, pcov


def alpha_time(model, runs, n_lags: int = 48, n_origins: int = 64, picks=None):
    """tau_alpha = argmax chi4(t) of the runs (the paper's definition).

    With ``picks`` (a sequence of index arrays, e.g. bootstrap resamples of the runs)
    also returns tau_alpha of every resample: (tau, array of resampled taus).
    """
    tau, boot, _ = _alpha_time(model, runs, n_lags, n_origins, picks)
    return tau if picks is None else (tau, boot)


def _alpha_time(model, runs, n_lags: int = 48, n_origins: int = 64, picks=None):
    """(tau, resampled taus or None, edge): ``edge`` if chi4 peaks at the first or last lag,
    when tau is the lag window's edge and no measured alpha time."""
    lags = default_lags(min(r.t_end for r in runs), n_lags)
    Q = overlap_samples(runs, model.cluster_sites, model.n_sites, lags, n_origins)
    return _alpha_from_samples(lags, Q, model.n_sites, picks)


def _alpha_from_samples(lags, Q, n_sites: int, picks=None):
    """:func:`_alpha_time` from its overlap samples Q (run, origin, lag), runs in seed order."""
    from trsp_core.observables.overlap import chi4_from_samples, peak, peak_at_edge, resampled_peaks

    _, chi4 = chi4_from_samples(Q, n_sites)
    tau = peak(lags, chi4)[0]
    boot = None if picks is None else resampled_peaks(Q, lags, n_sites, picks)[:, 0]
    return tau, boot, peak_at_edge(chi4)


#: why xi4 is NaN when S4 / block chi4 would be evaluated at the lag window's edge
EDGE_NOTE = ("xi4 not measured (NaN): chi4 peaks at the edge of the lag window, so tau_alpha is not measured; "
             "use a longer --duration")


def _check_time(name: str, t) -> None:
    """A given evaluation time must be a time: NaN is an unmeasured tau_alpha (``trsp validate``)."""
    if t is not None and not (np.isfinite(t) and t > 0):
        from trsp_core.errors import ParameterError

        raise ParameterError(f"observable '{name}': evaluation time t must be finite and > 0, got {t!r} "
                             "(tau_alpha not measured? use a longer run)")


def _unmeasured(ds: xr.Dataset, names) -> xr.Dataset:
    import warnings

    warnings.warn(EDGE_NOTE, stacklevel=3)
    for name in names:
        ds[name] = ds[name].copy(data=np.full_like(ds[name].values, np.nan, dtype=float))
        ds[name].attrs["comment"] = EDGE_NOTE
    return ds


class FourPointStructureFactor(Observable):
    """S4(q, t) at t = tau_alpha, shell-averaged, with an Ornstein-Zernike fit for xi4.

    Runs are used in seed order, so nothing depends on the order they were loaded in.
    The OZ fit uses q = 0 and the ``n_shells`` smallest non-zero shells
    (``small_q_window``; ``q_max`` overrides) and weights shells by their
    wavevector count (``fit_oz_shells``), not by errors estimated from the
    same seeds. ``xi4_oz_qxi`` = (largest fitted q) x xi4 says whether the window is
    still in the OZ regime (<~ 1.5). Errors: bootstrap over seeds. When
    t is tau_alpha (``t=None``) every resample also re-estimates tau_alpha and xi4 is
    interpolated to it from fits at tau_alpha * exp(-h, 0, +h), so ``xi4_oz_err_boot``
    includes the uncertainty of the time at which S4 is evaluated.
    """

    name = "s4"
    requires = ('events',)
    provides = ('S4', 'S4_err', 'S4_zero', 'xi4_oz', 'xi4_oz_err', 'xi4_oz_err_boot', 'xi4_oz_qxi')

    def __init__(self, t: float | None = None, n_origins: int = 64, n_shells: int = 6, q_max: float | None = None,
                 n_boot: int = 100, log_spread: float = 0.15):
        self.t, self.n_origins, self.n_shells, self.q_max, self.n_boot = t, n_origins, n_shells, q_max, n_boot
        self.log_spread = log_spread

    def compute(self, model, runs):
        runs = in_seed_order(runs)
        _check_time(self.name, self.t)
        alpha = None
        if self.t is None:
            lags = default_lags(min(r.t_end for r in runs), ALPHA_LAGS)
            alpha = lags, overlap_samples(runs, model.cluster_sites, model.n_sites, lags, ALPHA_ORIGINS)
        t, tau_boot, edge, offsets, picks = self._plan(model, runs, alpha)
        moments = []
        for off in offsets:
            I = indicator_fields(runs, model.cluster_sites, model.n_sites, t * np.exp(off), self.n_origins)
            moments.append(fourier_moments(I, model.lattice.shape))
            del I
        return self._finish(model, runs, t, tau_boot, edge, offsets, picks, moments)

    def compute_streamed(self, model, runs, chunks, alpha=None):
        """:meth:`compute` without event logs: ``chunks(k)`` yields (times, clusters) of
        ``runs[k]`` in time order (the runs need only ``seed`` and ``t_end``); ``alpha``
        is :func:`alpha_samples` of these runs (in their order) if already accumulated.
        Each run is read once for tau_alpha (unless ``alpha``) and once for its fields;
        memory: the per-run Fourier moments and one run's fields, not the event logs."""
        _check_time(self.name, self.t)
        order = sorted(range(len(runs)), key=lambda k: runs[k].seed)
        runs, src = [runs[k] for k in order], (lambda k: chunks(order[k]))
        if self.t is None:
            alpha = alpha_samples(model, runs, src) if alpha is None else (alpha[0], np.asarray(alpha[1])[order])
        t, tau_boot, edge, offsets, picks = self._plan(model, runs, alpha)
        per_run = []
        for k, r in enumerate(runs):
            fields = run_fields_streamed(model, r, src(k), [t * np.exp(off) for off in offsets], self.n_origins)
            per_run.append([run_fourier_moments(f, model.lattice.shape) for f in fields])
            del fields
        moments = [(np.stack([m[j][0] for m in per_run]), np.stack([m[j][1] for m in per_run]))
                   for j in range(len(offsets))]
        return self._finish(model, runs, t, tau_boot, edge, offsets, picks, moments)

    def _plan(self, model, runs, alpha):
        """(t, resampled taus, edge, ln-time offsets, bootstrap picks) of runs in seed order;
        ``alpha`` = (lags, Q) of :func:`alpha_samples` when t is tau_alpha."""
        n = len(runs)
        picks = bootstrap_picks(n, self.n_boot) if n > 1 else []  # the resamples of Overlap's errors
        edge = False
        if self.t is None:
            t, tau_boot, edge = _alpha_from_samples(alpha[0], alpha[1], model.n_sites, picks)
            h = self.log_spread if picks else 0.0
        else:
            t, tau_boot, h = float(self.t), np.full(len(picks), float(self.t)), 0.0
        t_room = 0.95 * min(r.t_end for r in runs)
        # ln(t'/t) of the extra evaluation times (kept only where the runs are long enough)
        offsets = np.array([o for o in (-h, 0.0, h) if o == 0.0 or t * np.exp(o) < t_room]) if h > 0 else np.zeros(1)
        return t, tau_boot, edge, offsets, picks

    def _finish(self, model, runs, t, tau_boot, edge, offsets, picks, moments):
        """The Dataset from per-run Fourier moments [(q2, q1) (run, q) per offset]."""
        N, lat = model.n_sites, model.lattice
        shells = ShellAverage(lat)
        k0 = int(np.flatnonzero(offsets == 0.0)[0])
        q2, q1 = moments[k0]
        s4 = shells(s4_from_moments(q2, q1, N))
        # S4 of every resample at every evaluation time: (n_offsets, n_picks, n_shells)
        boot = np.asarray([[shells(s4_from_moments(m2[k], m1[k], N)) for k in picks] for m2, m1 in moments])
        err = boot[k0].std(axis=0, ddof=1) if len(picks) > 1 else np.full_like(s4, np.nan)
        fit = small_q_window(shells.q, self.n_shells, self.q_max)
        qf, cf = shells.q[fit], shells.counts[fit]
        (s0, xi), cov = fit_oz_shells(qf, s4[fit], cf)
        xi_boot = []
        for b, tau_b in enumerate(tau_boot):
            try:
                xs = [fit_oz_shells(qf, s4_t[b][fit], cf)[0][1] for s4_t in boot]
            except (RuntimeError, ValueError):
                continue
            xi_boot.append(interpolate_log_time(xs, offsets, np.log(tau_b / t)))
        q = xr.Variable("q_shell", shells.q, {"units": "1/sigma_AA", "long_name": "wavevector magnitude |q|"})
        ds = xr.Dataset(
            {
                "S4": var("q_shell", s4, "1", "four-point structure factor S4(q, tau_alpha), shell average"),
                "S4_err": var("q_shell", err, "1", "bootstrap std error of S4 over seeds"),
                "S4_n_vectors": var("q_shell", shells.counts, "1", "reciprocal vectors in the shell"),
                "S4_fitted": var("q_shell", fit, "1", "shell used in the Ornstein-Zernike fit"),
                "S4_time": var((), t, "frames", "time t at which S4 is evaluated (tau_alpha)"),
                "S4_zero": var((), s0, "1", "Ornstein-Zernike S4(q -> 0)"),
                "S4_zero_err": var((), np.sqrt(cov[0, 0]), "1", "S4(0) std error (fit covariance)"),
                "xi4_oz": var((), xi, "sigma_AA", "dynamic correlation length xi4 from the OZ fit"),
                "xi4_oz_err": var((), np.sqrt(cov[1, 1]), "sigma_AA", "xi4 std error (fit covariance, fixed t)"),
                "xi4_oz_qxi": var((), qf.max() * xi, "1", "largest fitted |q| times xi4 (OZ regime: <~ 1.5)"),
                "xi4_oz_err_boot": var((), np.std(xi_boot, ddof=1) if len(xi_boot) > 1 else np.nan, "sigma_AA",
                                        "xi4 std error (OZ refit on bootstrap resamples of seeds, each at its own tau_alpha)"
                                        if self.t is None else "xi4 std error (OZ refit on bootstrap resamples of seeds)"),
            },
            coords={"q_shell": q},
        )
        ds.attrs["s4_log_time_offsets"] = offsets
        if edge:
            ds = _unmeasured(ds, ("S4_zero", "S4_zero_err", "xi4_oz", "xi4_oz_err", "xi4_oz_qxi", "xi4_oz_err_boot"))
        return ds


class BlockChi4(Observable):
    """chi4 of cubic sub-blocks of side L_B at t = tau_alpha, and the scaling fit for xi4.

    chi4_B(L_B) = (1/N_B) sum_{i,j in B} G4(r_ij) is fitted with G4(0) = g0,
    G4(r > 0) = g1 exp(-r/xi4); chi4_B / chi4_inf is then a function of L_B a / xi4
    alone (the finite-size scaling collapse of the paper's App. H).
    """

    name = "block-chi4"
    requires = ('events',)
    provides = ('chi4_block', 'chi4_block_err', 'xi4_block', 'xi4_block_err', 'chi4_inf')

    def __init__(self, t: float | None = None, n_origins: int = 64, n_boot: int = 100):
        self.t, self.n_origins, self.n_boot = t, n_origins, n_boot

    def compute(self, model, runs):
        runs = in_seed_order(runs)
        lat = model.lattice
        if len(set(lat.shape)) != 1:
            raise ValueError(f"block chi4 needs a lattice with equal sides, got {lat.shape}")
        _check_time(self.name, self.t)
        t, _, edge = (self.t, None, False) if self.t is not None else _alpha_time(model, runs)
        I = indicator_fields(runs, model.cluster_sites, model.n_sites, t, self.n_origins)
        sides = np.arange(1, lat.shape[0] + 1)
        return self._finish(model, runs, t, edge, block_chi4(I, lat.shape, sides))

    def compute_streamed(self, model, runs, chunks, alpha=None):
        """:meth:`compute` without event logs (arguments as
        :meth:`FourPointStructureFactor.compute_streamed`)."""
        lat = model.lattice
        if len(set(lat.shape)) != 1:
            raise ValueError(f"block chi4 needs a lattice with equal sides, got {lat.shape}")
        _check_time(self.name, self.t)
        order = sorted(range(len(runs)), key=lambda k: runs[k].seed)
        runs, src = [runs[k] for k in order], (lambda k: chunks(order[k]))
        if self.t is None:
            lags, Q = alpha_samples(model, runs, src) if alpha is None else (alpha[0], np.asarray(alpha[1])[order])
            t, _, edge = _alpha_from_samples(lags, Q, model.n_sites)
        else:
            t, edge = self.t, False
        sides = np.arange(1, lat.shape[0] + 1)
        mom = np.stack([run_block_moments(run_fields_streamed(model, r, src(k), [t], self.n_origins)[0],
                                          lat.shape, sides) for k, r in enumerate(runs)])
        return self._finish(model, runs, t, edge, mom)

    def _finish(self, model, runs, t, edge, mom):
        """The Dataset from per-run block moments (run, side, [mean Q_B, mean Q_B^2])."""
        lat = model.lattice
        sides = np.arange(1, lat.shape[0] + 1)
        chi = chi4_from_block_moments(mom, sides, lat.dim)
        boot = bootstrap(lambda k: chi4_from_block_moments(mom[k], sides, lat.dim), len(runs), self.n_boot)
        err = boot.std(axis=0, ddof=1) if len(runs) > 1 else np.full_like(chi, np.nan)
        e = err if np.all(np.isfinite(err)) and np.all(err > 0) else None
        (g0, g1, xi), cov = fit_block_scaling(lat, sides, chi, e)
        chi_inf = infinite_chi4(g0, g1, xi, lat.spacing, lat.dim)
        fitted = block_scaling_model(lat, sides)(None, g0, g1, xi)
        side = xr.Variable("block_side", sides, {"units": "lattice spacings", "long_name": "block side L_B"})
        ds = xr.Dataset(
            {
                "chi4_block": var("block_side", chi, "1", "block four-point susceptibility N_B Var Q_B at tau_alpha"),
                "chi4_block_err": var("block_side", err, "1", "bootstrap std error of block chi4 over seeds"),
                "chi4_block_fit": var("block_side", fitted, "1", "block chi4 of the fitted G4"),
                "block_time": var((), t, "frames", "time at which block chi4 is evaluated (tau_alpha)"),
                "xi4_block": var((), xi, "sigma_AA", "xi4 from the block scaling fit"),
                "xi4_block_err": var((), np.sqrt(cov[2, 2]), "sigma_AA", "xi4 std error (fit covariance)"),
                "chi4_inf": var((), chi_inf, "1", "infinite-system chi4 implied by the fitted G4"),
                "G4_self": var((), g0, "1", "fitted G4(0)"),
                "G4_amplitude": var((), g1, "1", "fitted G4(r > 0) amplitude"),
            },
            coords={"block_side": side},
        )
        return _unmeasured(ds, ("xi4_block", "xi4_block_err", "chi4_inf")) if edge else ds
