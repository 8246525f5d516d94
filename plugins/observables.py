"""Built-in observables, each a small compute object returning labelled data."""
from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from trsp_core import hookimpl
from trsp_core.analysis import detailed_balance as dbal
from trsp_core.analysis import fourpoint, rate_law, softness_change, statics
from trsp_core.analysis.stats import bootstrap, bootstrap_picks
from trsp_core.interfaces import Observable
from trsp_core.overlap import bootstrap_peak, chi4_from_samples, default_lags, overlap_samples, peak


class Overlap(Observable):
    """Q(t), chi4(t) = N Var Q over origins and seeds, tau_alpha = argmax chi4, chi4*."""

    name = "overlap"

    def __init__(self, n_lags: int = 48, n_origins: int = 64, lags=None):
        self.n_lags, self.n_origins, self.lags = n_lags, n_origins, lags

    def compute(self, model, runs):
        runs = _in_seed_order(runs)
        t_end = min(r.t_end for r in runs)
        lags = np.asarray(self.lags) if self.lags is not None else default_lags(t_end, self.n_lags)
        N = model.n_sites
        Q = overlap_samples(runs, model.cluster_sites, N, lags, self.n_origins)
        q_mean, chi4 = chi4_from_samples(Q, N)
        tau, chi_star = peak(lags, chi4)
        tau_err, chi_err = bootstrap_peak(Q, lags, N)
        lag = xr.Variable("lag", lags, {"units": "frames", "long_name": "lag time t"})
        ds = xr.Dataset(
            {
                "Q": ("lag", q_mean, {"units": "1", "long_name": "overlap Q(t): fraction of sites not rearranged"}),
                "chi4": ("lag", chi4, {"units": "1", "long_name": "four-point susceptibility N Var Q(t)"}),
                "Q_run": (("run", "lag"), Q.mean(axis=1), {"units": "1", "long_name": "Q(t) per run"}),
                "tau_alpha": ((), tau, {"units": "frames", "long_name": "alpha time (argmax chi4)"}),
                "tau_alpha_err": ((), tau_err, {"units": "frames", "long_name": "bootstrap std error of tau_alpha over seeds"}),
                "chi4_star": ((), chi_star, {"units": "1", "long_name": "peak of chi4"}),
                "chi4_star_err": ((), chi_err, {"units": "1", "long_name": "bootstrap std error of chi4* over seeds"}),
            },
            coords={"lag": lag, "run": _seeds(runs)},
        )
        ds.attrs["overlap_n_origins"] = self.n_origins
        return ds



def _var(dims, data, units, long_name):
    return (dims, np.asarray(data), {"units": units, "long_name": long_name})


def _in_seed_order(runs):
    """Runs sorted by seed: bootstrap resamples (hence errors and fits) then do not
    depend on the order in which files were found on disk."""
    return sorted(runs, key=lambda r: r.seed)


def _seeds(runs):
    return xr.Variable("run", np.asarray([r.seed for r in runs], np.int64), {"units": "1", "long_name": "random seed of the run"})


class FourPointStructureFactor(Observable):
    """S4(q, t) at t = tau_alpha, shell-averaged, with an Ornstein-Zernike fit for xi4.

    Runs are used in seed order, so nothing depends on the order they were loaded in.
    The OZ fit uses q = 0 and the ``n_shells`` smallest non-zero shells
    (``fourpoint.small_q_window``; ``q_max`` overrides) and weights shells by their
    wavevector count (``fourpoint.fit_oz_shells``), not by errors estimated from the
    same seeds. ``xi4_oz_qxi`` = (largest fitted q) x xi4 says whether the window is
    still in the OZ regime (<~ 1.5). Errors: bootstrap over seeds. When
    t is tau_alpha (``t=None``) every resample also re-estimates tau_alpha and xi4 is
    interpolated to it from fits at tau_alpha * exp(-h, 0, +h), so ``xi4_oz_err_boot``
    includes the uncertainty of the time at which S4 is evaluated.
    """

    name = "s4"

    def __init__(self, t: float | None = None, n_origins: int = 64, n_shells: int = 6, q_max: float | None = None,
                 n_boot: int = 100, log_spread: float = 0.15):
        self.t, self.n_origins, self.n_shells, self.q_max, self.n_boot = t, n_origins, n_shells, q_max, n_boot
        self.log_spread = log_spread

    def compute(self, model, runs):
        runs = _in_seed_order(runs)
        n = len(runs)
        picks = bootstrap_picks(n, self.n_boot) if n > 1 else []  # the resamples of Overlap's errors
        if self.t is None:
            t, tau_boot = fourpoint.alpha_time(model, runs, picks=picks)
            h = self.log_spread if picks else 0.0
        else:
            t, tau_boot, h = float(self.t), np.full(len(picks), float(self.t)), 0.0
        t_room = 0.95 * min(r.t_end for r in runs)
        # ln(t'/t) of the extra evaluation times (kept only where the runs are long enough)
        offsets = np.array([o for o in (-h, 0.0, h) if o == 0.0 or t * np.exp(o) < t_room]) if h > 0 else np.zeros(1)
        N, lat = model.n_sites, model.lattice
        shells = fourpoint.ShellAverage(lat)
        moments = []
        for off in offsets:
            I = fourpoint.indicator_fields(runs, model.cluster_sites, N, t * np.exp(off), self.n_origins)
            moments.append(fourpoint.fourier_moments(I, lat.shape))
            del I
        k0 = int(np.flatnonzero(offsets == 0.0)[0])
        q2, q1 = moments[k0]
        s4 = shells(fourpoint.s4_from_moments(q2, q1, N))
        # S4 of every resample at every evaluation time: (n_offsets, n_picks, n_shells)
        boot = np.asarray([[shells(fourpoint.s4_from_moments(m2[k], m1[k], N)) for k in picks] for m2, m1 in moments])
        err = boot[k0].std(axis=0, ddof=1) if len(picks) > 1 else np.full_like(s4, np.nan)
        fit = fourpoint.small_q_window(shells.q, self.n_shells, self.q_max)
        qf, cf = shells.q[fit], shells.counts[fit]
        (s0, xi), cov = fourpoint.fit_oz_shells(qf, s4[fit], cf)
        xi_boot = []
        for b, tau_b in enumerate(tau_boot):
            try:
                xs = [fourpoint.fit_oz_shells(qf, s4_t[b][fit], cf)[0][1] for s4_t in boot]
            except (RuntimeError, ValueError):
                continue
            xi_boot.append(fourpoint.interpolate_log_time(xs, offsets, np.log(tau_b / t)))
        q = xr.Variable("q_shell", shells.q, {"units": "1/sigma_AA", "long_name": "wavevector magnitude |q|"})
        ds = xr.Dataset(
            {
                "S4": _var("q_shell", s4, "1", "four-point structure factor S4(q, tau_alpha), shell average"),
                "S4_err": _var("q_shell", err, "1", "bootstrap std error of S4 over seeds"),
                "S4_n_vectors": _var("q_shell", shells.counts, "1", "reciprocal vectors in the shell"),
                "S4_fitted": _var("q_shell", fit, "1", "shell used in the Ornstein-Zernike fit"),
                "S4_time": _var((), t, "frames", "time t at which S4 is evaluated (tau_alpha)"),
                "S4_zero": _var((), s0, "1", "Ornstein-Zernike S4(q -> 0)"),
                "S4_zero_err": _var((), np.sqrt(cov[0, 0]), "1", "S4(0) std error (fit covariance)"),
                "xi4_oz": _var((), xi, "sigma_AA", "dynamic correlation length xi4 from the OZ fit"),
                "xi4_oz_err": _var((), np.sqrt(cov[1, 1]), "sigma_AA", "xi4 std error (fit covariance, fixed t)"),
                "xi4_oz_qxi": _var((), qf.max() * xi, "1", "largest fitted |q| times xi4 (OZ regime: <~ 1.5)"),
                "xi4_oz_err_boot": _var((), np.std(xi_boot, ddof=1) if len(xi_boot) > 1 else np.nan, "sigma_AA",
                                        "xi4 std error (OZ refit on bootstrap resamples of seeds, each at its own tau_alpha)"
                                        if self.t is None else "xi4 std error (OZ refit on bootstrap resamples of seeds)"),
            },
            coords={"q_shell": q},
        )
        ds.attrs["s4_log_time_offsets"] = offsets
        return ds


class BlockChi4(Observable):
    """chi4 of cubic sub-blocks of side L_B at t = tau_alpha, and the scaling fit for xi4.

    chi4_B(L_B) = (1/N_B) sum_{i,j in B} G4(r_ij) is fitted with G4(0) = g0,
    G4(r > 0) = g1 exp(-r/xi4); chi4_B / chi4_inf is then a function of L_B a / xi4
    alone (the finite-size scaling collapse of the paper's App. H).
    """

    name = "block-chi4"

    def __init__(self, t: float | None = None, n_origins: int = 64, n_boot: int = 100):
        self.t, self.n_origins, self.n_boot = t, n_origins, n_boot

    def compute(self, model, runs):
        runs = _in_seed_order(runs)
        lat = model.lattice
        if len(set(lat.shape)) != 1:
            raise ValueError(f"block chi4 needs a lattice with equal sides, got {lat.shape}")
        t = self.t if self.t is not None else fourpoint.alpha_time(model, runs)
        I = fourpoint.indicator_fields(runs, model.cluster_sites, model.n_sites, t, self.n_origins)
        sides = np.arange(1, lat.shape[0] + 1)
        mom = fourpoint.block_chi4(I, lat.shape, sides)
        chi = fourpoint.chi4_from_block_moments(mom, sides, lat.dim)
        boot = bootstrap(lambda k: fourpoint.chi4_from_block_moments(mom[k], sides, lat.dim), len(runs), self.n_boot)
        err = boot.std(axis=0, ddof=1) if len(runs) > 1 else np.full_like(chi, np.nan)
        e = err if np.all(np.isfinite(err)) and np.all(err > 0) else None
        (g0, g1, xi), cov = fourpoint.fit_block_scaling(lat, sides, chi, e)
        chi_inf = fourpoint.infinite_chi4(g0, g1, xi, lat.spacing, lat.dim)
        fitted = fourpoint.block_scaling_model(lat, sides)(None, g0, g1, xi)
        side = xr.Variable("block_side", sides, {"units": "lattice spacings", "long_name": "block side L_B"})
        return xr.Dataset(
            {
                "chi4_block": _var("block_side", chi, "1", "block four-point susceptibility N_B Var Q_B at tau_alpha"),
                "chi4_block_err": _var("block_side", err, "1", "bootstrap std error of block chi4 over seeds"),
                "chi4_block_fit": _var("block_side", fitted, "1", "block chi4 of the fitted G4"),
                "block_time": _var((), t, "frames", "time at which block chi4 is evaluated (tau_alpha)"),
                "xi4_block": _var((), xi, "sigma_AA", "xi4 from the block scaling fit"),
                "xi4_block_err": _var((), np.sqrt(cov[2, 2]), "sigma_AA", "xi4 std error (fit covariance)"),
                "chi4_inf": _var((), chi_inf, "1", "infinite-system chi4 implied by the fitted G4"),
                "G4_self": _var((), g0, "1", "fitted G4(0)"),
                "G4_amplitude": _var((), g1, "1", "fitted G4(r > 0) amplitude"),
            },
            coords={"block_side": side},
        )


class TimeWeightedStatics(Observable):
    """Time-weighted <S> per seed and C_S(r) from fixed-time snapshots, with targets."""

    name = "statics"

    def __init__(self, r_max: float | None = None):
        self.r_max = r_max

    def compute(self, model, runs):
        lat = model.lattice
        r_max = self.r_max if self.r_max is not None else 0.5 * min(lat.shape) * lat.spacing
        shells = statics.CorrelationShells(lat, r_max)
        mean = np.asarray([statics.time_weighted_mean(r) for r in runs])
        C = np.stack([shells.compute(r.snapshots) for r in runs])
        n = len(runs)
        r = xr.Variable("r_shell", shells.radii, {"units": "sigma_AA", "long_name": "site separation r"})
        return xr.Dataset(
            {
                "S_mean_run": _var("run", mean, "descriptor", "time-weighted <S> of each run"),
                "S_mean": _var((), mean.mean(), "descriptor", "time-weighted <S> over runs"),
                "S_mean_err": _var((), mean.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan, "descriptor", "std error of <S> over seeds"),
                "S_mean_target": _var((), model.mu, "descriptor", "target mu(T)"),
                "C_run": _var(("run", "r_shell"), C, "descriptor^2", "C_S(r) of each run (snapshot average, centred on the snapshot mean)"),
                "C": _var("r_shell", C.mean(axis=0), "descriptor^2", "C_S(r) over runs"),
                "C_err": _var("r_shell", C.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full(C.shape[1], np.nan),
                              "descriptor^2", "std error of C_S(r) over seeds"),
                "C_target": _var("r_shell", shells.target(model.params.correlation), "descriptor^2",
                                 "target C(r) - lambda0/N (the expectation of the mean-centred estimator)"),
                "C_model": _var("r_shell", model.params.correlation(shells.radii), "descriptor^2", "target C(r) as given"),
                "C_pairs": _var("r_shell", shells.multiplicity, "1", "lattice offsets in the shell"),
            },
            coords={"r_shell": r, "run": _seeds(runs)},
        )


class ObservedRateLaw(Observable):
    """Observed per-site P(R|S) = d * counts / occupancy per S bin, against the target law."""

    name = "rate-law"

    def compute(self, model, runs):
        counts, occ = rate_law.per_seed_rates(runs)
        edges = runs[0].hist_edges
        d = model.observed.d
        with np.errstate(invalid="ignore", divide="ignore"):
            P = d * counts.sum(0) / occ.sum(0)
            P_run = d * counts / occ
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # empty tail bins: NaN, not an error
            boot = bootstrap(lambda k: d * counts[k].sum(0) / occ[k].sum(0), len(runs)) if len(runs) > 1 else None
            err = np.nanstd(boot, axis=0, ddof=1) if boot is not None else np.full_like(P, np.nan)
        target = d * rate_law.bin_target(model.observed, model.mu, model.params.C0, edges)
        centre = xr.Variable("rate_bin", 0.5 * (edges[1:] + edges[:-1]), {"units": "descriptor", "long_name": "S bin centre"})
        return xr.Dataset(
            {
                "P_R": _var("rate_bin", P, "1/frame", "observed P(R|S) per frame (d x counts / occupancy)"),
                "P_R_err": _var("rate_bin", err, "1/frame", "bootstrap std error of P(R|S) over seeds"),
                "P_R_target": _var("rate_bin", target, "1/frame", "target A exp(gamma S - delta S^2), equilibrium-weighted bin average"),
                "P_R_run": _var(("run", "rate_bin"), P_run, "1/frame", "observed P(R|S) per run"),
                "rate_counts": _var(("run", "rate_bin"), counts, "1", "site rearrangements per S bin"),
                "rate_occupancy": _var(("run", "rate_bin"), occ, "site frames", "time-weighted site occupancy per S bin"),
                "rate_bin_lo": _var("rate_bin", edges[:-1], "descriptor", "lower bin edge"),
                "rate_bin_hi": _var("rate_bin", edges[1:], "descriptor", "upper bin edge"),
            },
            coords={"rate_bin": centre, "run": _seeds(runs)},
        )


class DetailedBalanceTest(Observable):
    """App. F1: N(A->B) vs N(B->A) for S of rearranging sites binned before (A) and after (B)."""

    name = "detailed-balance"

    def __init__(self, n_bins: int = 6, n_boot: int = 200):
        self.n_bins, self.n_boot = n_bins, n_boot

    def compute(self, model, runs):
        edges = dbal.quantile_edges(runs, self.n_bins)
        N = np.stack([dbal.transition_counts(r, edges) for r in runs])  # (run, A, B)
        a, b = dbal.upper_pairs(self.n_bins)
        fwd, rev = N[:, a, b], N[:, b, a]
        total = N.sum(axis=(1, 2))

        def ratio(k):
            with np.errstate(invalid="ignore", divide="ignore"):
                return fwd[k].sum(0) / rev[k].sum(0)

        boot = bootstrap(ratio, len(runs), self.n_boot) if len(runs) > 1 else None
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            r_err = np.nanstd(boot, axis=0, ddof=1) if boot is not None else np.full(len(a), np.nan)
        pair = np.arange(len(a))
        return xr.Dataset(
            {
                "db_counts": _var(("run", "db_from", "db_to"), N, "1", "rearranging sites moved from S bin A to bin B"),
                "db_edges": _var("db_edge", edges, "descriptor", "S bin edges (quantiles of rearranging sites' S)"),
                "db_from_bin": _var("db_pair", a, "1", "bin A of the pair (A < B)"),
                "db_to_bin": _var("db_pair", b, "1", "bin B of the pair"),
                "db_forward": _var(("run", "db_pair"), fwd, "1", "N(A->B) per run"),
                "db_reverse": _var(("run", "db_pair"), rev, "1", "N(B->A) per run"),
                "db_joint": _var("db_pair", fwd.sum(0) / total.sum(), "1", "P(A|R) P(A->B) (pooled frequency)"),
                "db_ratio": _var("db_pair", ratio(np.arange(len(runs))), "1", "P(A|R)P(A->B) / (P(B|R)P(B->A))"),
                "db_ratio_err": _var("db_pair", r_err, "1", "bootstrap std error of the ratio over seeds"),
            },
            coords={"db_pair": xr.Variable("db_pair", pair, {"units": "1", "long_name": "bin pair (A < B)"}),
                    "run": _seeds(runs)},
        )


class SoftnessChange(Observable):
    """Delta S vs distance from a rearrangement (Fig. 3 analogue) from the kick instrument.

    Independent of the runs: it samples S exactly from the law conditioned on a
    rearrangement and applies the model's kernel (see trsp_core.analysis.softness_change).
    """

    name = "softness-change"

    def __init__(self, n_samples: int = 6000, seed: int = 12345):
        self.n_samples, self.seed = n_samples, seed

    def compute(self, model, runs=()):
        rng = np.random.default_rng(self.seed)
        n_o = len(model.orientations)
        ks = softness_change.kick_samples(model, max(self.n_samples // n_o, 20), rng)
        prof = softness_change.summarise(ks)
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
            data[f"dS_{key}"] = _var("kick_r", v, units, long)
            data[f"dS_{key}_err"] = _var("kick_r", e, units, f"std error of {long}")
        data["dS_target_var"] = _var("kick_r", ks.target_var, "descriptor^2", "target Var(Delta S | S) = c_f s(d_c)^2 (shell mean)")
        data["dS_n_sites"] = _var("kick_r", ks.n_sites, "1", "sites in the shell per cluster")
        ds = xr.Dataset(data, coords={"kick_r": r})
        ds.attrs["kick_samples"] = int(ks.d_mean.shape[0])
        return ds


@hookimpl
def trsp_observables():
    return {
        "overlap": Overlap,
        "s4": FourPointStructureFactor,
        "block-chi4": BlockChi4,
        "statics": TimeWeightedStatics,
        "rate-law": ObservedRateLaw,
        "detailed-balance": DetailedBalanceTest,
        "softness-change": SoftnessChange,
    }
