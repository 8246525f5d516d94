"""The MD trajectory's own relaxation and dynamical heterogeneity: Q(t), chi4(t),
tau_alpha, chi4*, S4(q, tau_alpha) and xi4, with the model's estimators.

Two indicators of "particle i has not relaxed between t0 and t0 + t":

* ``phop`` -- I_i = 1 if no frame in (t0, t0 + t] has p_hop > threshold: the
  model's definition of a rearrangement, so it is fed through the model's own
  persistence-time code (:func:`trsp_core.observables.overlap.persistence_times`);
* ``overlap`` -- I_i = Theta(a - |r_i(t0 + t) - r_i(t0)|) on the (inherent-state)
  positions, a = 0.3 sigma_AA: the usual MD overlap; a particle that moves away
  and comes back counts as not relaxed.

Either way the result is the array of samples Q[run, origin, lag] and the
indicator fields at t = tau_alpha, and from there everything is the model's code:
``chi4_from_samples``, ``peak``, ``resampled_peaks`` and ``s4_from_moments``,
``fit_oz_shells``. Only the Fourier transform differs: particles are off-lattice,
so Q(q) = (1/N) sum_j I_j exp(i q . r_j(t0)) is a direct sum over the box's
reciprocal vectors q = 2 pi n / L (the lattice uses an FFT of the site field).

Errors: bootstrap over runs (trajectory files at the same temperature). With a
single run the origins are split into ``n_blocks`` contiguous time blocks that
are resampled instead; the block length in units of tau_alpha is reported
(``block_length_over_tau``): blocks shorter than a few tau_alpha are correlated
and the errors are then too small.

Times are in the trajectory's unit (tau for LAMMPS LJ): frame index x dt.
"""
from __future__ import annotations

import warnings

import attrs
import numpy as np
import xarray as xr

from trsp_core.errors import InputFileError, ParameterError
from trsp_core.observables.fourpoint import fit_oz_shells, s4_from_moments, small_q_window
from trsp_core.observables.overlap import (chi4_from_samples, overlap_from_persistence, peak, persistence_times,
                                           resampled_peaks)
from trsp_core.observables.stats import bootstrap_picks
from trsp_core.validators import parameter

INDICATORS = ("phop", "overlap")
#: time blocks shorter than this many tau_alpha are correlated: their error bars are too small
MIN_BLOCK_OVER_TAU = 3.0


# ------------------------------------------------------------------ samples
def frame_lags(n_frames: int, n_lags: int = 40, max_fraction: float = 0.5) -> np.ndarray:
    """Distinct integer lags (frames), log-spaced from 1 to ``max_fraction`` x run length."""
    top = max(int(max_fraction * (n_frames - 1)), 1)
    return np.unique(np.round(np.geomspace(1, top, n_lags)).astype(np.int64))


def origin_frames(first: int, last_start: int, n_origins: int) -> np.ndarray:
    """Up to ``n_origins`` distinct integer origins spread evenly over [first, last_start]."""
    if last_start < first:
        raise ParameterError(f"trajectory too short: no time origin fits (first {first}, last {last_start})")
    return np.unique(np.round(np.linspace(first, last_start, n_origins)).astype(np.int64))


def event_frames(flags: np.ndarray) -> list[np.ndarray]:
    """Per particle, the sorted frames where it is flagged as rearranging (flags (F, N) bool)."""
    return [np.flatnonzero(flags[:, i]).astype(float) for i in range(flags.shape[1])]


def phop_samples(flags: np.ndarray, origins: np.ndarray, lags: np.ndarray):
    """Q[origin, lag] and the persistence times (origin, N) from rearrangement flags (F, N).

    Exactly the model's path: per-site event times -> persistence times -> Q.
    """
    tau = persistence_times(event_frames(flags), origins.astype(float))
    return overlap_from_persistence(tau, lags.astype(float)), tau


def overlap_indicator(unwrapped: np.ndarray, origins: np.ndarray, lag: int, a: float) -> np.ndarray:
    """I[origin, particle] = Theta(a - |r(t0 + lag) - r(t0)|) on unwrapped positions (F, N, d)."""
    d = unwrapped[origins + lag] - unwrapped[origins]
    return (np.einsum("ond,ond->on", d, d) < a * a).astype(float)


def overlap_samples(unwrapped: np.ndarray, origins: np.ndarray, lags: np.ndarray, a: float) -> np.ndarray:
    """Q[origin, lag] of the overlap indicator."""
    return np.stack([overlap_indicator(unwrapped, origins, int(lag), a).mean(axis=1) for lag in lags], axis=1)


# ------------------------------------------------------------------ S4 off-lattice
def box_wavevectors(box: np.ndarray, n_max: int) -> np.ndarray:
    """All q = 2 pi n / L with integer components |n_k| <= n_max (q = 0 included): (M, d),
    in C order of n (last component fastest)."""
    box = np.asarray(box, float)
    ax = np.arange(-n_max, n_max + 1)
    grid = np.stack(np.meshgrid(*([ax] * len(box)), indexing="ij"), axis=-1).reshape(-1, len(box))
    return 2 * np.pi * grid / box


def particle_fourier_moments(fields: np.ndarray, positions: np.ndarray, box: np.ndarray, n_max: int):
    """Per run: (mean over origins of |Q(q)|^2, mean of Q(q)), Q(q) = (1/N) sum_j I_j e^{i q.r_j},
    for the q of :func:`box_wavevectors` (box, n_max).

    fields (n_runs, n_origins, N); positions (n_runs, n_origins, N, d) at each origin;
    returns two arrays (n_runs, M). e^{i q.r} factorises over the axes, so each origin
    costs d small tables of phases and one matrix product instead of N x M complex
    exponentials. The lattice analogue is
    :func:`trsp_core.observables.fourpoint.fourier_moments` (an FFT).
    """
    n_runs, n_orig, n = fields.shape
    box = np.asarray(box, float)
    d = len(box)
    ns = np.arange(-n_max, n_max + 1)
    k = len(ns)
    q2 = np.empty((n_runs, k ** d))
    q1 = np.empty((n_runs, k ** d), complex)
    for r in range(n_runs):
        acc2 = np.zeros(k ** d)
        acc1 = np.zeros(k ** d, complex)
        for o in range(n_orig):
            # phases[a][j, m] = exp(i 2 pi ns[m] x_{j,a} / L_a)
            phases = [np.exp(2j * np.pi * np.outer(positions[r, o, :, a] / box[a], ns)) for a in range(d)]
            A = fields[r, o][:, None] * phases[0]                       # (N, k)
            for ph in phases[1:-1]:
                A = (A[:, :, None] * ph[:, None, :]).reshape(n, -1)     # (N, k^a)
            Q = (A.T @ phases[-1]).reshape(-1) / n if d > 1 else A.sum(axis=0) / n
            acc2 += np.abs(Q) ** 2
            acc1 += Q
        q2[r], q1[r] = acc2 / n_orig, acc1 / n_orig
    return q2, q1


# ------------------------------------------------------------------ the compute object
@attrs.frozen
class MDDynamics:
    """Q(t), chi4(t), tau_alpha, chi4*, S4(q, tau_alpha) and xi4 of MD trajectories.

    Parameters in the constructor, data in :meth:`compute` (freud's pattern).
    """

    indicators: tuple = attrs.field(default=INDICATORS, converter=tuple)
    species: int = attrs.field(default=0, validator=parameter.non_negative)
    phop_threshold: float = attrs.field(default=0.2, validator=parameter.positive)
    phop_window: int = attrs.field(default=10, validator=parameter.positive_int)
    overlap_a: float = attrs.field(default=0.3, validator=parameter.positive)
    n_lags: int = attrs.field(default=40, validator=parameter.positive_int)
    n_origins: int = attrs.field(default=64, validator=parameter.positive_int)
    n_blocks: int = attrs.field(default=8, validator=parameter.positive_int)
    n_boot: int = attrs.field(default=200, validator=parameter.positive_int)
    s4_n_max: int = attrs.field(default=3, validator=parameter.positive_int)
    s4_n_shells: int = attrs.field(default=6, validator=parameter.positive_int)
    s4_origins: int = attrs.field(default=32, validator=parameter.positive_int)
    s4: bool = True

    @indicators.validator
    def _check(self, attribute, value):
        bad = [v for v in value if v not in INDICATORS]
        if bad or not value:
            raise ParameterError(f"parameter 'indicators' must be a non-empty subset of {INDICATORS}, got {value}")

    # -- input
    def _prepare(self, trajectories):
        from trsp_core.md.phop import phop, unwrap

        trajs = list(trajectories)
        if not trajs:
            raise ParameterError("no trajectories given")
        dts = {round(t.dt, 12) for t in trajs}
        if len(dts) > 1:
            raise ParameterError(f"trajectories at one temperature must share dt, got {sorted(dts)}")
        if self.phop_window % 2:
            raise ParameterError(f"parameter 'phop_window' must be even, got {self.phop_window}")
        out = []
        for k, t in enumerate(trajs):
            sel = np.flatnonzero(t.types == self.species)
            if len(sel) == 0:
                raise ParameterError(f"trajectory {k}: no particles of species {self.species} "
                                     f"(species present: {sorted(set(t.types.tolist()))})")
            if t.n_frames < self.phop_window + 3:
                raise InputFileError(f"trajectory {k}: {t.n_frames} frames, fewer than the p_hop window + 3 = "
                                     f"{self.phop_window + 3}")
            if "phop" in t.columns:
                p = t.columns["phop"][:, sel]
            elif "phop" in self.indicators:
                p = phop(t.positions[:, sel], t.box, self.phop_window)
            else:
                p = None
            out.append({"r": unwrap(t.positions[:, sel], t.box), "box": t.box, "phop": p, "n": len(sel)})
        ns = {o["n"] for o in out}
        if len(ns) > 1:
            raise ParameterError(f"trajectories at one temperature must have the same number of species-"
                                 f"{self.species} particles, got {sorted(ns)}")
        return out, float(trajs[0].dt), min(t.n_frames for t in trajs)

    # -- per indicator
    def _samples(self, ind, runs, lags):
        """Q (n_runs, n_origins, n_lags), and per run the origins and flags."""
        h = self.phop_window // 2
        Q, meta = [], []
        for run in runs:
            F = run["r"].shape[0]
            if ind == "phop":
                valid = np.isfinite(run["phop"]).all(axis=1)
                frames = np.flatnonzero(valid)
                first, last = (frames[0], frames[-1]) if len(frames) else (h, F - 1 - h)
                origins = origin_frames(int(first), int(last - lags.max()), self.n_origins)
                flags = np.nan_to_num(run["phop"], nan=0.0) > self.phop_threshold
                q, _ = phop_samples(flags, origins, lags)
                meta.append({"origins": origins, "flags": flags})
            else:
                origins = origin_frames(0, int(F - 1 - lags.max()), self.n_origins)
                q = overlap_samples(run["r"], origins, lags, self.overlap_a)
                meta.append({"origins": origins})
            Q.append(q)
        n_orig = min(q.shape[0] for q in Q)
        return np.stack([q[:n_orig] for q in Q]), meta

    def _fields_at(self, ind, runs, meta, lag: int):
        """Indicator fields and origin positions at one lag, for S4."""
        fields, pos = [], []
        for run, m in zip(runs, meta):
            origins = m["origins"]
            keep = origins[origins + lag < run["r"].shape[0]]
            keep = keep[np.unique(np.round(np.linspace(0, len(keep) - 1, min(self.s4_origins, len(keep))))
                             .astype(int))]
            if ind == "phop":
                _, tau = phop_samples(m["flags"], keep, np.array([lag]))
                fields.append((tau > lag).astype(float))
            else:
                fields.append(overlap_indicator(run["r"], keep, lag, self.overlap_a))
            pos.append(run["r"][keep])
        n = min(len(f) for f in fields)
        return np.stack([f[:n] for f in fields]), np.stack([p[:n] for p in pos])

    def _groups(self, Q):
        """Resampling units: runs, or contiguous origin blocks of a single run."""
        if Q.shape[0] > 1:
            return Q, "runs"
        nb = min(self.n_blocks, Q.shape[1])
        per = Q.shape[1] // nb
        return Q[0, : nb * per].reshape(nb, per, Q.shape[2]), "time blocks"

    def compute(self, trajectories, temperature: float | None = None) -> xr.Dataset:
        runs, dt, n_frames = self._prepare(trajectories)
        n = runs[0]["n"]
        lags = frame_lags(n_frames - self.phop_window, self.n_lags)
        per = {}
        for ind in self.indicators:
            Q, meta = self._samples(ind, runs, lags)
            G, unit = self._groups(Q)
            # runs, or a single run's time blocks, are the units of the bias correction too
            q_mean, chi4 = chi4_from_samples(G, n)
            tau, chi_star = peak(lags.astype(float), chi4)
            picks = bootstrap_picks(G.shape[0], self.n_boot)
            boot = resampled_peaks(G, lags.astype(float), n, picks)
            chi_boot = np.array([chi4_from_samples(G[k], n)[1] for k in picks])
            q_boot = np.array([G[k].reshape(-1, G.shape[-1]).mean(axis=0) for k in picks])
            edge = not (lags[0] < tau < lags[-1]) or int(np.argmax(chi4)) in (0, len(lags) - 1)
            s4 = self._s4(ind, runs, meta, int(max(1, round(tau))), unit) if self.s4 else self._no_s4()
            if edge:  # S4 "at tau_alpha" would be at the window's edge: no xi4 number either
                s4 = {k: (np.full_like(np.asarray(v, float), np.nan) if k != "q" else v) for k, v in s4.items()}
            span = (meta[0]["origins"][-1] - meta[0]["origins"][0] + 1) / max(G.shape[0], 1) if unit != "runs" else np.nan
            per[ind] = dict(Q=q_mean, chi4=chi4, Q_err=q_boot.std(axis=0, ddof=1), chi4_err=chi_boot.std(axis=0, ddof=1),
                            tau=tau, tau_err=np.std(boot[:, 0], ddof=1), chi_star=chi_star,
                            chi_err=np.std(boot[:, 1], ddof=1), edge=edge, unit=unit,
                            block_over_tau=span / tau if tau > 0 else np.nan, **s4)
            ratio = per[ind]["block_over_tau"]
            if unit == "time blocks" and not edge and np.isfinite(ratio) and ratio < MIN_BLOCK_OVER_TAU:
                at = f"T = {temperature:g}, " if temperature is not None else ""
                warnings.warn(f"MD errors ({at}indicator {ind}): the {G.shape[0]} time blocks of the single run are "
                              f"{ratio:.2g} tau_alpha long (< {MIN_BLOCK_OVER_TAU:g}), so neighbouring blocks are "
                              "correlated and the errors of Q, chi4, tau_alpha and chi4* are underestimated; give "
                              "several independent trajectories at this temperature, or a longer one", stacklevel=2)
        return self._dataset(per, lags, dt, n, len(runs), temperature)

    def _no_s4(self):
        nan = np.full(1, np.nan)
        return dict(q=np.zeros(1), S4=nan, S4_err=nan, S4_zero=np.nan, xi4=np.nan, xi4_err_fit=np.nan, xi4_fit=np.nan,
                    xi4_err=np.nan, s4_lag=np.nan)

    def _s4(self, ind, runs, meta, lag, unit):
        fields, pos = self._fields_at(ind, runs, meta, lag)
        box = runs[0]["box"]
        qv = box_wavevectors(box, self.s4_n_max)
        qlen = np.round(np.linalg.norm(qv, axis=1), 8)
        shells, inverse = np.unique(qlen, return_inverse=True)
        counts = np.bincount(inverse)
        # resampling units as for chi4: runs, or equal time blocks of one run (whose
        # pooled moments are the mean of the blocks' moments)
        if unit != "runs":
            nb = min(self.n_blocks, fields.shape[1])
            per = fields.shape[1] // nb
            fields = fields[0, : nb * per].reshape(nb, per, -1)
            pos = pos[0, : nb * per].reshape(nb, per, *pos.shape[2:])
        g2, g1 = particle_fourier_moments(fields, pos, box, self.s4_n_max)
        s4 = np.bincount(inverse, weights=s4_from_moments(g2, g1, fields.shape[2])) / counts
        picks = bootstrap_picks(g2.shape[0], self.n_boot)
        boot = np.array([np.bincount(inverse, weights=s4_from_moments(g2[k], g1[k], fields.shape[2])) / counts
                         for k in picks])
        # MD: q = 0 is left out of the fit (S4(q -> 0) is not chi4 in a fixed-N, fixed-energy
        # system); the model includes it because there S4(0) = chi4 exactly.
        nz = shells > 0
        fit = small_q_window(shells[nz], self.s4_n_shells)
        try:
            (s0, xi), cov = fit_oz_shells(shells[nz][fit], s4[nz][fit], counts[nz][fit])
            xi_err = float(np.sqrt(cov[1, 1]))
        except (RuntimeError, ValueError):
            s0, xi, xi_err = np.nan, np.nan, np.nan
        # a correlation length beyond half the box is not measured by the box's q shells:
        # reported as NaN (xi4_fit keeps the raw fit for inspection)
        xi_raw, half = xi, 0.5 * float(np.min(box))
        if not (xi <= half):
            s0 = xi = xi_err = np.nan
        xb = []
        for b in boot if np.isfinite(xi) else ():
            try:
                xb.append(min(fit_oz_shells(shells[nz][fit], b[nz][fit], counts[nz][fit])[0][1], half))
            except (RuntimeError, ValueError):
                pass
        return dict(q=shells, S4=s4, S4_err=boot.std(axis=0, ddof=1), S4_zero=s0, xi4=xi, xi4_err_fit=xi_err, xi4_fit=xi_raw,
                    xi4_err=np.std(xb, ddof=1) if len(xb) > 1 else np.nan, s4_lag=lag)

    def _dataset(self, per, lags, dt, n, n_runs, temperature):
        inds = list(per)

        def st(key):
            return np.array([per[i][key] for i in inds])

        q = per[inds[0]]["q"]
        for i in inds:
            if per[i]["edge"]:
                per[i]["tau"] = per[i]["chi_star"] = np.nan
        ds = xr.Dataset(
            {
                "Q": (("indicator", "lag"), st("Q"), {"units": "1", "long_name": "overlap Q(t)"}),
                "Q_err": (("indicator", "lag"), st("Q_err"), {"units": "1", "long_name": "bootstrap std error of Q(t)"}),
                "chi4": (("indicator", "lag"), st("chi4"), {"units": "1", "long_name": "four-point susceptibility N Var Q(t)"}),
                "chi4_err": (("indicator", "lag"), st("chi4_err"), {"units": "1", "long_name": "bootstrap std error of chi4(t)"}),
                "tau_alpha": ("indicator", st("tau") * dt, {"units": "tau", "long_name": "alpha time (argmax chi4)"}),
                "tau_alpha_err": ("indicator", st("tau_err") * dt, {"units": "tau", "long_name": "bootstrap std error of tau_alpha"}),
                "chi4_star": ("indicator", st("chi_star"), {"units": "1", "long_name": "peak of chi4"}),
                "chi4_star_err": ("indicator", st("chi_err"), {"units": "1", "long_name": "bootstrap std error of chi4*"}),
                "S4": (("indicator", "q_shell"), st("S4"), {"units": "1", "long_name": "four-point structure factor S4(q, tau_alpha)"}),
                "S4_err": (("indicator", "q_shell"), st("S4_err"), {"units": "1", "long_name": "bootstrap std error of S4"}),
                "S4_time": ("indicator", st("s4_lag") * dt, {"units": "tau", "long_name": "time at which S4 is evaluated (nearest frame to tau_alpha)"}),
                "xi4": ("indicator", st("xi4"), {"units": "sigma_AA", "long_name": "xi4 from the Ornstein-Zernike fit of S4 (q > 0)"}),
                "xi4_err": ("indicator", st("xi4_err"), {"units": "sigma_AA", "long_name": "bootstrap std error of xi4 (resampled fits capped at half the box)"}),
                "xi4_fit": ("indicator", st("xi4_fit"), {"units": "sigma_AA", "long_name": "raw OZ fit of xi4 (xi4 is NaN where this exceeds half the box)"}),
                "S4_zero": ("indicator", st("S4_zero"), {"units": "1", "long_name": "Ornstein-Zernike S4(q -> 0)"}),
                "block_length_over_tau": ("indicator", st("block_over_tau"), {"units": "1", "long_name": "resampled time block / tau_alpha (nan: runs resampled)"}),
            },
            coords={"indicator": inds,
                    "lag": ("lag", lags * dt, {"units": "tau", "long_name": "lag time t"}),
                    "q_shell": ("q_shell", q, {"units": "1/sigma_AA", "long_name": "wavevector magnitude |q|"})},
            attrs={"dt": dt, "n_particles": n, "n_runs": n_runs, "species": self.species,
                   "phop_threshold": self.phop_threshold, "phop_window": self.phop_window,
                   "overlap_a": self.overlap_a, "error_resampling": per[inds[0]]["unit"],
                   "temperature": np.nan if temperature is None else float(temperature)},
        )
        return ds


def peak_at_edge(ds: xr.Dataset) -> list[str]:
    """Indicators whose chi4 peak is at the first or last lag (tau_alpha not measurable)."""
    return [str(i) for i in ds.indicator.values if not np.isfinite(ds.tau_alpha.sel(indicator=i))]
