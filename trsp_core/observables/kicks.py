"""Softness change Delta S around a rearrangement (model-side analogue of the paper's Fig. 3).

Estimator ("kick instrument"): rather than infer Delta S from snapshots (a
snapshot pair mixes many events), draw S exactly from the state law
conditioned on a rearrangement of cluster c, P(S | R_c) = Normal(mu', K'), and
apply the model's own kernel once -- twice with independent noise from the
same S ("paired kicks"). Then, per distance r from c (nearest cluster site,
as measured in MD):

* mean and variance of Delta S, and eta(r) = -Cov(Delta S_x, S_x)/Var(S_x),
  the slope of <Delta S> vs S (Fig. 3b);
* Var(Delta S | S) = E[(Delta S^1 - Delta S^2)^2] / 2 from the paired kicks,
  to compare with the target c_f s(r)^2 (Fig. 3a,c);
* the correlation of Delta S at r with the rearranger's own Delta S (Fig. 3d).

Detailed balance makes (S, S + Delta S) exchangeable given R_c, so for every
site <Delta S> = 0 and <S_after^2 - S_before^2> = 0: an exact target that a
kernel with the wrong H violates.

Exact conditioned sampling: S ~ Normal(mu, K) via the FFT; the tilt
exp(gamma0 sbar - delta0 sbar^2) only acts along K u, so replace sbar = u.S
by a draw from its tilted law Normal(m', v') and shift S along K u / K_RR.
"""
from __future__ import annotations

import warnings

import attrs
import numpy as np
import xarray as xr

from trsp_core.observables._labels import var
from trsp_core.plugin.interfaces import Observable

from trsp_core.physics import gaussian
from trsp_core.physics.clusters import kick_distances
from trsp_core.physics.kernel import kick_std_profile


def _fft_apply(lam: np.ndarray, x: np.ndarray, power: float) -> np.ndarray:
    """K^power applied to every row of x (n, N), K circulant with spectrum lam."""
    shape = lam.shape
    axes = tuple(range(1, len(shape) + 1))
    y = np.fft.ifftn(lam**power * np.fft.fftn(x.reshape(-1, *shape), axes=axes), axes=axes).real
    return y.reshape(x.shape)


def conditioned_samples(model, orientation: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, N) exact draws of S given a rearrangement of the cluster of ``orientation`` at site 0."""
    lat = model.lattice
    sites = lat.index(model.orientations[orientation])
    u = np.zeros(lat.n_sites)
    u[sites] = 1.0 / len(sites)
    Ku = gaussian.apply(model.spectrum, u)
    K_RR = float(u @ Ku)
    b = model.bare_of(orientation)
    v_t = K_RR / (1.0 + 2.0 * b.delta0 * K_RR)
    m_t = v_t * (model.mu / K_RR + b.gamma0)
    S = gaussian.sample(model.spectrum, model.mu, rng, size=n)
    sbar = S[:, sites].mean(axis=1)
    sbar_new = m_t + np.sqrt(v_t) * rng.standard_normal(n)
    return S + np.outer((sbar_new - sbar) / K_RR, Ku)


def kick_mean(model, orientation: int, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(window sites, mean Delta S on the window) for states S (n, N), cluster at site 0.

    Uses the window form: E[Delta S_W | S] = G [(gamma0 - 2 delta0 sbar) u_W - Z_W],
    Z = K^-1 (S - mu), which equals H (mu' - S) on W.
    """
    k = model.window_kernel(orientation)
    b = model.bare_of(orientation)
    Z = _fft_apply(model.spectrum, S - model.mu, -1.0)[:, k.window]
    sites = model.lattice.index(model.orientations[orientation])
    sbar = S[:, sites].mean(axis=1)
    y = (b.gamma0 - 2.0 * b.delta0 * sbar)[:, None] * k.u_window[None, :] - Z
    return k.window, y @ k.G.T


def target_kick_std(model, orientation: int) -> np.ndarray:
    """(N,) target std of Delta S given S: sqrt(c_f) s(d_c(x)) (or the reset law's sqrt(c_f K'_xx))."""
    p = model.params
    lat = model.lattice
    offs = model.orientations[orientation]
    if not p.reset:
        return kick_std_profile(kick_distances(lat, offs, model.delta_rule), p, model.facilitation)
    sites = lat.index(offs)
    u = np.zeros(lat.n_sites)
    u[sites] = 1.0 / len(sites)
    Ku = gaussian.apply(model.spectrum, u)
    delta0 = model.bare_of(orientation).delta0
    q = 1.0 + 2.0 * delta0 * float(u @ Ku)
    var = np.zeros(lat.n_sites)
    var[sites] = model.facilitation * (p.C0 - 2.0 * delta0 * Ku[sites] ** 2 / q)
    return np.sqrt(var)


@attrs.frozen(eq=False)
class KickSamples:
    """Per-sample, per-shell statistics of the kick instrument (iid samples)."""

    r: np.ndarray             # (R,) shell distance (nearest cluster site), sigma
    n_sites: np.ndarray       # (R,) sites per shell (summed over orientations / n_orient)
    d_mean: np.ndarray        # (n, R) shell mean of Delta S per sample
    d_sq: np.ndarray          # (n, R) shell mean of Delta S^2
    s_dd: np.ndarray          # (n, R) shell mean of S Delta S
    s_sq: np.ndarray          # (n, R) shell mean of S^2
    s_mean: np.ndarray        # (n, R) shell mean of S
    exch: np.ndarray          # (n, R) shell mean of S_after^2 - S_before^2
    cond_ratio: np.ndarray    # (n, R) shell mean of (dS1 - dS2)^2 / (2 target^2) (NaN where target = 0)
    cond_var: np.ndarray      # (n, R) shell mean of (dS1 - dS2)^2 / 2
    target_var: np.ndarray    # (R,) shell mean of the target conditional variance
    rearranger: np.ndarray    # (n,) mean Delta S over the cluster's own sites
    d_rearranger: np.ndarray  # (n, R) shell mean of Delta S_x * rearranger


def kick_samples(model, n_per_orientation: int, rng: np.random.Generator, r_max: float | None = None) -> KickSamples:
    """Run the kick instrument for every orientation; shells by nearest-site distance."""
    lat = model.lattice
    parts = []
    for o, offs in enumerate(model.orientations):
        dist = kick_distances(lat, offs, "nearest")
        S = conditioned_samples(model, o, n_per_orientation, rng)
        window, mean = kick_mean(model, o, S)
        k = model.window_kernel(o)
        z1 = rng.standard_normal((n_per_orientation, len(window)))
        z2 = rng.standard_normal((n_per_orientation, len(window)))
        dS1 = np.zeros_like(S)
        dS1[:, window] = mean + z1 @ k.noise.T
        diff = np.zeros_like(S)
        diff[:, window] = (z1 - z2) @ k.noise.T
        tgt = target_kick_std(model, o) ** 2
        sites = lat.index(offs)
        parts.append((dist, S, dS1, diff, tgt, dS1[:, sites].mean(axis=1)))
    # Shells: the union of distances (identical across orientations by symmetry).
    rr = np.round(np.concatenate([p[0] for p in parts]), 8)
    r = np.unique(rr)
    if r_max is not None:
        r = r[r <= r_max + 1e-9]
    stats = {k: [] for k in ("d_mean", "d_sq", "s_dd", "s_sq", "s_mean", "exch", "cond_ratio", "cond_var", "d_rearranger")}
    counts = np.zeros(len(r))
    tvar = np.zeros(len(r))
    rearr = []
    for dist, S, dS, diff, tgt, own in parts:
        idx = np.searchsorted(r, np.round(dist, 8))
        ok = (idx < len(r)) & (r[np.minimum(idx, len(r) - 1)] == np.round(dist, 8))
        M = np.zeros((len(r), lat.n_sites))
        M[idx[ok], np.flatnonzero(ok)] = 1.0
        cnt = M.sum(axis=1)
        counts += cnt
        tvar += M @ tgt
        avg = lambda x: (x @ M.T) / cnt  # noqa: E731 - shell mean of (n, N) rows
        after = S + dS
        cv = 0.5 * diff**2
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(tgt > 0, cv / np.where(tgt > 0, tgt, 1.0), np.nan)
        Mt = M * (tgt > 0)
        cnt_t = Mt.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio_shell = (np.nan_to_num(ratio) @ Mt.T) / np.where(cnt_t > 0, cnt_t, np.nan)
        stats["d_mean"].append(avg(dS))
        stats["d_sq"].append(avg(dS**2))
        stats["s_dd"].append(avg(S * dS))
        stats["s_sq"].append(avg(S**2))
        stats["s_mean"].append(avg(S))
        stats["exch"].append(avg(after**2 - S**2))
        stats["cond_ratio"].append(ratio_shell)
        stats["cond_var"].append(avg(cv))
        stats["d_rearranger"].append(avg(dS * own[:, None]))
        rearr.append(own)
    n_o = len(parts)
    return KickSamples(r=r, n_sites=counts / n_o, target_var=tvar / counts, rearranger=np.concatenate(rearr),
                       **{k: np.concatenate(v) for k, v in stats.items()})


def summarise(ks: KickSamples) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Shell profiles with standard errors (iid samples): name -> (value, se)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # shells beyond r_cut have all-NaN ratios
        return _summarise(ks)


def _summarise(ks: KickSamples) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    n = ks.d_mean.shape[0]
    se = lambda x: np.nanstd(x, axis=0, ddof=1) / np.sqrt(n)  # noqa: E731
    m = lambda x: np.nanmean(x, axis=0)  # noqa: E731
    var_d = m(ks.d_sq) - m(ks.d_mean) ** 2
    var_s = m(ks.s_sq) - m(ks.s_mean) ** 2
    cov_sd = m(ks.s_dd) - m(ks.s_mean) * m(ks.d_mean)
    # Delta-method errors for the derived ratios would be noisier than needed; use batch means.
    batches = np.array_split(np.arange(n), 20)

    def batch_se(fn):
        vals = np.asarray([fn(b) for b in batches])
        return vals.std(axis=0, ddof=1) / np.sqrt(len(batches))

    def eta(b):
        sm, dm = ks.s_mean[b].mean(0), ks.d_mean[b].mean(0)
        return -(ks.s_dd[b].mean(0) - sm * dm) / (ks.s_sq[b].mean(0) - sm**2)

    def var_fn(b):
        return ks.d_sq[b].mean(0) - ks.d_mean[b].mean(0) ** 2

    rv = ks.rearranger.var()

    def corr(b):
        v = ks.d_sq[b].mean(0) - ks.d_mean[b].mean(0) ** 2
        c = ks.d_rearranger[b].mean(0) - ks.d_mean[b].mean(0) * ks.rearranger[b].mean()
        return c / np.sqrt(np.maximum(v, 1e-300) * ks.rearranger[b].var())

    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "mean": (m(ks.d_mean), se(ks.d_mean)),
            "var": (var_d, batch_se(var_fn)),
            "cond_var": (m(ks.cond_var), se(ks.cond_var)),
            "cond_ratio": (m(ks.cond_ratio), se(ks.cond_ratio)),
            "exchange": (m(ks.exch), se(ks.exch)),
            "eta": (-cov_sd / var_s, batch_se(eta)),
            "corr": ((m(ks.d_rearranger) - m(ks.d_mean) * ks.rearranger.mean()) / np.sqrt(np.maximum(var_d, 1e-300) * rv),
                     batch_se(corr)),
        }


class SoftnessChange(Observable):
    """Delta S vs distance from a rearrangement (Fig. 3 analogue) from the kick instrument.

    Independent of the runs: it samples S exactly from the law conditioned on a
    rearrangement and applies the model's kernel (see trsp_core.observables.kicks).
    """

    name = "softness-change"
    requires = ()
    provides = ('dS_mean', 'dS_var', 'dS_eta', 'dS_corr')

    def __init__(self, n_samples: int = 6000, seed: int = 12345):
        self.n_samples, self.seed = n_samples, seed

    def compute(self, model, runs=()):
        rng = np.random.default_rng(self.seed)
        n_o = len(model.orientations)
        ks = kick_samples(model, max(self.n_samples // n_o, 20), rng)
        prof = summarise(ks)
        r = xr.Variable("kick_r", ks.r, {"units": "sigma_AA", "long_name": "distance to the nearest rearranging site"})
        des = {
            "mean": ("descriptor", "mean Delta S"),
            "var": ("descriptor^2", "variance of Delta S"),
            "cond_var": ("descriptor^2", "Var(Delta S | S) from paired kicks"),
            "cond_ratio": ("1", "Var(Delta S | S) / target c_f s(r)^2"),
            "exchange": ("descriptor^2", "<S_after^2 - S_before^2> (0 under detailed balance)"),
            "eta": ("1", "eta(r) = -slope of <Delta S> vs S of the same site"),
            "corr": ("1", "correlation of Delta S with the rearranger's Delta S"),
        }
        data = {}
        for key, (units, long) in des.items():
            v, e = prof[key]
            data[f"dS_{key}"] = var("kick_r", v, units, long)
            data[f"dS_{key}_err"] = var("kick_r", e, units, f"std error of {long}")
        data["dS_target_var"] = var("kick_r", ks.target_var, "descriptor^2", "target Var(Delta S | S) = c_f s(d_c)^2 (shell mean)")
        data["dS_n_sites"] = var("kick_r", ks.n_sites, "1", "sites in the shell per cluster")
        ds = xr.Dataset(data, coords={"kick_r": r})
        ds.attrs["kick_samples"] = int(ks.d_mean.shape[0])
        return ds
