"""Delta S around rearrangements (paper Sec. V, App. E; MODEL section 9).

For every anchor frame t_R (middle frame of a rearrangement run) the
rearranging set is every particle flagged at t_R. Each particle i gets
r = distance to the nearest rearranging particle j, S = S_i(t_R - w) and
Delta S = S_i(t_R + w) - S_i(t_R - w). Per r bin:

* eta(r) = -slope of <Delta S> vs S; sigma_Delta^2(r) = residual variance;
* far-field background (r >= far_r: undetected / other rearrangements),
  removed with eta = eta1 + eta2 - eta1 eta2 and
  sigma_Delta^2 = sR1^2 + sR2^2 - sR1^2 sR2^2 / sigma^2 (solved for eta1, sR1);
* rho(r) = Cov(e_j, e_i) / (sR1(0) sR1(r) + sR2^2), e = residual of Delta S
  after the linear regression on the particle's own S (K_Delta is a covariance
  given S). The background kicks are spatially correlated too (in the model
  K_Delta(x, y) contains rho(|x - y|) whichever cluster fired), so the raw
  covariance is rho(r) (sR1(0) sR1(r) + sR2^2); dividing by the corrected
  sR1's alone (the variances *are* background-corrected, the covariance is
  not) biased rho(r) up by ~ sR2^2 / (sR1(0) sR1(r)), +5-10% at r = a.

Error bars from blocks of anchor frames.
"""
from __future__ import annotations

import warnings

import attrs
import numpy as np
from scipy.spatial import cKDTree

from trsp_core.measure.data import TemperatureData
from trsp_core.measure.diagnostics import Diagnostics, MeasureError
from trsp_core.measure.events import find_runs
from trsp_core.measure.options import MeasureOptions

# Moment vector v = (1, S_i, D_i, S_j, D_j): 15 distinct products of v v^T.
_IU = np.triu_indices(5)


@attrs.frozen(eq=False)
class KickStats:
    """Per-temperature Delta S statistics. r bins: index 0 is r = 0 (the rearranger)."""

    temperature: float
    r: np.ndarray              # (K,)
    n: np.ndarray              # (K,) samples
    eta: np.ndarray            # (K,) background-corrected
    eta_err: np.ndarray
    var: np.ndarray            # (K,) background-corrected sigma_R1^2
    var_err: np.ndarray
    rho: np.ndarray            # (K,) rho(r), rho(0) = 1
    rho_err: np.ndarray
    eta_raw: np.ndarray        # (K,) before the background subtraction
    var_raw: np.ndarray
    eta_far: float
    var_far: float
    n_far: int
    s_edges: np.ndarray        # (B+1,)
    mean_rs: np.ndarray        # (K, B) <Delta S> per (r, S) bin, corrected for the far-field shift
    var_rs: np.ndarray         # (K, B) corrected Var[Delta S] per (r, S) bin
    n_rs: np.ndarray           # (K, B)


def _moments(M):
    """(n, eta, residual variance, residual covariance j-i, rho_raw) from summed products (..., 15)."""
    full = np.zeros(M.shape[:-1] + (5, 5))
    full[..., _IU[0], _IU[1]] = M
    full[..., _IU[1], _IU[0]] = M
    n = full[..., 0, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = full[..., 0, :] / n[..., None]
        cov = full / n[..., None, None] - mean[..., :, None] * mean[..., None, :]
        b_i = cov[..., 1, 2] / cov[..., 1, 1]
        b_j = cov[..., 3, 4] / cov[..., 3, 3]
        var_i = cov[..., 2, 2] - b_i * cov[..., 1, 2]
        var_j = cov[..., 4, 4] - b_j * cov[..., 3, 4]
        # Cov(D_i - b_i S_i, D_j - b_j S_j)
        cij = cov[..., 2, 4] - b_j * cov[..., 2, 3] - b_i * cov[..., 1, 4] + b_i * b_j * cov[..., 1, 3]
    return n, -b_i, var_i, cij, var_j


def _correct(eta, var, eta2, var2, sigma2):
    """Remove the far-field background (App. E): solve for the rearrangement's own eta1, sR1^2."""
    eta1 = (eta - eta2) / (1.0 - eta2)
    var1 = (var - var2) / (1.0 - var2 / sigma2)
    return eta1, var1


def _rho(cij, var, var2):
    """rho(r) with the far-field background removed from the covariance as well as the variances.

    Raw residual covariance = rho(r) (sR1(0) sR1(r) + sR2^2) when the background
    kicks (variance sR2^2 everywhere) share the spatial correlation rho(r).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = cij / (np.sqrt(np.clip(var[0], 0, None) * np.clip(var, 0, None)) + var2)
    rho[..., 0] = 1.0
    return rho


def anchor_frames(data: TemperatureData, w: int) -> np.ndarray:
    runs = find_runs(data.rearranging, data.valid)
    a = np.unique(runs.anchor[runs.complete])
    F = data.n_frames
    a = a[(a - w >= 0) & (a + w < F)]
    ok = np.array([data.valid[t - w: t + w + 1].all() for t in a], bool) if a.size else np.zeros(0, bool)
    return a[ok]


def kick_stats(data: TemperatureData, options: MeasureOptions, r_edges: np.ndarray, s_edges: np.ndarray,
               sigma2: float, diag: Diagnostics) -> KickStats:
    w = options.delta_window
    where = f"Delta S T={data.temperature:g}"
    anchors = anchor_frames(data, w)
    if anchors.size < options.n_blocks:
        raise MeasureError(f"{where}: {anchors.size} usable rearrangement frames (need >= n_blocks = "
                           f"{options.n_blocks}); the trajectory must extend delta_window = {w} frames around them")
    K = len(r_edges)          # bins: 0 = r = 0, 1..K-1 = between edges
    nb_s = len(s_edges) - 1
    if data.n_segments >= 4:   # independent runs are the honest blocks
        _, blk_of = np.unique(data.segment[anchors], return_inverse=True)
        nblk = int(blk_of.max()) + 1
    else:
        nblk = options.n_blocks
        blk_of = np.minimum((np.arange(anchors.size) * nblk) // anchors.size, nblk - 1)
    M = np.zeros((nblk, K, 15))
    Mfar = np.zeros((nblk, 15))
    rsum = np.zeros(K)
    RS = np.zeros((K * nb_s, 3))  # n, sum D, sum D^2 per (r, S) bin
    static_tree_pos = data.positions if data.static else None
    buf = []

    def flush(block):
        nonlocal buf
        if not buf:
            return
        rb, v, far, rr = (np.concatenate(x) for x in zip(*buf))
        prod = (v[:, :, None] * v[:, None, :])[:, _IU[0], _IU[1]]
        for k in range(15):
            M[block, :, k] += np.bincount(rb, weights=prod[:, k], minlength=K)
            Mfar[block, k] += prod[far, k].sum()
        np.add.at(rsum, rb, rr)
        sb = np.clip(np.searchsorted(s_edges, v[:, 1], "right") - 1, 0, nb_s - 1)
        idx = rb * nb_s + sb
        for k, x in enumerate((np.ones(len(idx)), v[:, 2], v[:, 2] ** 2)):
            RS[:, k] += np.bincount(idx, weights=x, minlength=K * nb_s)
        buf = []

    current = 0
    for a_i, t in enumerate(anchors):
        if blk_of[a_i] != current:
            flush(current)
            current = blk_of[a_i]
        rearr = np.nonzero(data.rearranging[t])[0]
        pos = static_tree_pos if data.static else data.positions[t]
        tr = cKDTree(np.mod(pos[rearr], data.box) % data.box, boxsize=data.box)
        dist, near = tr.query(np.mod(pos, data.box) % data.box)
        j = rearr[near]
        dist[rearr] = 0.0
        j[rearr] = rearr
        S0 = data.descriptor[t - w]
        D = data.descriptor[t + w] - S0
        rb = np.where(dist == 0.0, 0, np.searchsorted(r_edges, dist, "right"))
        inside = rb < K
        far = dist >= options.far_r
        v = np.stack([np.ones_like(S0), S0, D, S0[j], D[j]], axis=1)
        buf.append((rb[inside], v[inside], far[inside], dist[inside]))
        if far.any() and not np.all(inside[far]):
            # Far samples beyond the last r bin still count for the background.
            out = far & ~inside
            prod = (v[out][:, :, None] * v[out][:, None, :])[:, _IU[0], _IU[1]]
            Mfar[blk_of[a_i]] += prod.sum(0)
        if sum(len(b[0]) for b in buf) > 2_000_000:
            flush(current)
    flush(current)

    Mt = M.sum(0)
    n, eta_raw, var_raw, cij, var_j = _moments(Mt)
    nf, eta2, var2, _, _ = _moments(Mfar.sum(0))
    n_far = int(nf)
    if n_far < 100:
        diag.warn(where, f"only {n_far} samples at r >= far_r = {options.far_r:g}: no background subtraction "
                  "(larger system, or smaller far_r)")
        eta2, var2 = 0.0, 0.0
    elif not (0 <= var2 < sigma2 and eta2 < 1):
        diag.warn(where, f"far-field background (eta2 = {eta2:.3g}, sigma_R2^2 = {var2:.3g}) is outside the range "
                  f"the App. E formulas allow (eta2 < 1, sigma_R2^2 < sigma^2 = {sigma2:.3g}); not subtracted")
        eta2, var2 = 0.0, 0.0
    eta, var = _correct(eta_raw, var_raw, eta2, var2, sigma2)
    rho = _rho(cij, var, var2)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = rsum / n

    # Block errors of the corrected quantities (background re-estimated per block).
    eb, vb, rhob = [], [], []
    for b in range(nblk):
        nb_, e_, v_, c_, _ = _moments(M[b])
        _, e2b, v2b, _, _ = _moments(Mfar[b])
        if n_far < 100 or not np.isfinite(e2b):
            e2b, v2b = eta2, var2
        e1, v1 = _correct(e_, v_, e2b, v2b, sigma2)
        rh = _rho(c_, v1, v2b)
        eb.append(e1), vb.append(v1), rhob.append(rh)
    se = lambda x: np.nanstd(np.array(x), axis=0, ddof=1) / np.sqrt(nblk)  # noqa: E731
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # r bins empty in some blocks -> NaN error
        eta_err, var_err, rho_err = se(eb), se(vb), se(rhob)
    rho_err[0] = 0.0

    # Per (r, S) bin: mean and variance of Delta S, far-field corrected as in Fig. 3(a, b).
    with np.errstate(invalid="ignore", divide="ignore"):
        n_rs = RS[:, 0].reshape(K, nb_s)
        mean_rs = (RS[:, 1] / RS[:, 0]).reshape(K, nb_s)
        var_rs = (RS[:, 2] / RS[:, 0]).reshape(K, nb_s) - mean_rs**2
        var_rs = (var_rs - var2) / (1.0 - var2 / sigma2)
    if np.any(var[: np.searchsorted(r, options.kick_r_max) ] < 0):
        diag.warn(where, "the background-corrected Var[Delta S] is negative at some r <= kick_r_max: "
                  "the far-field background is larger than the signal there")
    return KickStats(data.temperature, r, n, eta, eta_err, var, var_err, rho, rho_err, eta_raw, var_raw,
                     float(eta2), float(var2), n_far, s_edges, mean_rs, var_rs, n_rs)


def pooled(stats: list[KickStats]) -> dict[str, np.ndarray]:
    """Inverse-variance mean over temperatures (K_Delta is taken T-independent, as in the paper)."""
    r = stats[0].r
    out = {"r": r}
    for name in ("eta", "var", "rho"):
        V = np.array([getattr(s, name) for s in stats])
        E = np.array([getattr(s, name + "_err") for s in stats])
        with np.errstate(divide="ignore", over="ignore"):
            W = np.where(np.isfinite(V) & (E > 0), 1.0 / np.maximum(E, 1e-300) ** 2, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = np.nansum(np.nan_to_num(V) * W, 0) / W.sum(0)
            out[name + "_err"] = 1.0 / np.sqrt(W.sum(0))
    out["rho"][0], out["rho_err"][0] = 1.0, 0.0
    return out
