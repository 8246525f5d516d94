"""P(R|S): per-temperature tables and fits, Arrhenius per S bin, onset fit, renormalisation.

P(R|S) is the fraction of (frame, particle) samples with descriptor in an S
bin whose particle is rearranging in that frame (a probability per frame).
Flags come in runs of ~d frames, so counts are over-dispersed by
phi = E[L^2]/E[L]; every error bar below includes that factor.

Model (MODEL section 2):  ln P = Sigma0 - e0/T + (e1 S + e2 S^2)(1/T0 - 1/T).
"""
from __future__ import annotations

import math

import attrs
import numpy as np
from scipy import optimize

from trsp_core.errors import ParameterError
from trsp_core.measure.data import TemperatureData
from trsp_core.measure.diagnostics import Diagnostics, MeasureError
from trsp_core.measure.events import duration_stats, find_runs
from trsp_core.measure.fits import FitResult, log_linear, quasi_poisson_fit, weighted_line
from trsp_core.measure.options import MeasureOptions
from trsp_core.physics.rates import ObservedRate, bare_from_observed

ONSET_NAMES = ("Sigma0", "e0", "e1", "e2", "inv_T0")


@attrs.frozen(eq=False)
class RateTable:
    """Counts of one temperature in common S bins."""

    temperature: float
    edges: np.ndarray      # (B+1,)
    exposure: np.ndarray   # (B,) samples (particle-frames) per bin
    counts: np.ndarray     # (B,) rearranging samples per bin
    s_mean: np.ndarray     # (B,) mean S of the samples in the bin (nan if empty)
    d: float               # mean run length (frames)
    d_err: float
    phi: float             # over-dispersion of counts
    n_runs: int

    @property
    def probability(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.counts / self.exposure

    @property
    def probability_err(self) -> np.ndarray:
        """Binomial error bar times sqrt(phi) (flags come in runs)."""
        P = self.probability
        with np.errstate(invalid="ignore", divide="ignore"):
            # An empty bin still bounds P: use one count for its error bar.
            Pe = np.where(self.counts > 0, P, 1.0 / self.exposure)
            return np.sqrt(self.phi * Pe * (1 - Pe) / self.exposure)

    def used(self, options: MeasureOptions) -> np.ndarray:
        """Bins entering the fits: chosen on occupancy only (no selection bias from counts)."""
        return self.exposure >= options.min_bin_fraction * self.exposure.sum()


def common_edges(datas: list[TemperatureData], width: float) -> np.ndarray:
    lo = min(float(np.min(d.descriptor[d.valid])) for d in datas)
    hi = max(float(np.max(d.descriptor[d.valid])) for d in datas)
    lo, hi = math.floor(lo / width) * width, math.ceil(hi / width) * width
    n = max(1, int(round((hi - lo) / width)))
    return lo + width * np.arange(n + 1)


def rate_table(data: TemperatureData, edges: np.ndarray, options: MeasureOptions) -> RateTable:
    S = data.descriptor[data.valid].ravel()
    R = data.rearranging[data.valid].ravel()
    nb = len(edges) - 1
    idx = np.clip(np.searchsorted(edges, S, "right") - 1, 0, nb - 1)
    exposure = np.bincount(idx, minlength=nb).astype(float)
    counts = np.bincount(idx, weights=R.astype(float), minlength=nb)
    with np.errstate(invalid="ignore"):
        s_mean = np.bincount(idx, weights=S, minlength=nb) / exposure
    runs = find_runs(data.rearranging, data.valid)
    if runs.n < options.min_rearrangements:
        raise MeasureError(
            f"data '{data.source}' (T={data.temperature:g}): {runs.n} rearrangements, fewer than "
            f"min_rearrangements={options.min_rearrangements}; P(R|S) would be noise "
            "(longer trajectory, or check phop_threshold)")
    d, d_err, phi = duration_stats(runs)
    return RateTable(data.temperature, edges, exposure, counts, s_mean, d, d_err, max(phi, 1.0), runs.n)


def fit_quadratic(table: RateTable, options: MeasureOptions, diag: Diagnostics) -> FitResult:
    """ln P(R|S) = ln A + gamma S - delta S^2 at one temperature (quasi-binomial ML)."""
    where = f"P(R|S) T={table.temperature:g}"
    use = table.used(options)
    spread = table.s_mean[table.exposure > 0]
    if spread.size and np.ptp(spread) == 0:
        # one value everywhere: no bin width can help, the descriptor itself is the problem
        raise MeasureError(f"{where}: the descriptor is constant (S = {spread[0]:g} in every valid sample); "
                           "it carries no structure: check the data's 'descriptor' field")
    if use.sum() < 4:
        raise MeasureError(f"{where}: only {int(use.sum())} S bins hold >= {options.min_bin_fraction:g} of the "
                           "samples; need >= 4 for a 3-parameter fit (use a smaller s_bin_width)")
    S = table.s_mean[use]
    X = np.stack([np.ones_like(S), S, -S * S], axis=1)
    P = np.clip(table.probability[use], 1e-12, None)
    start = np.linalg.lstsq(X, np.log(P) * (table.counts[use] > 0), rcond=None)[0]
    start[0] = math.log(max(table.counts[use].sum(), 1.0) / table.exposure[use].sum())
    start[1:] = 0.0
    fit = quasi_poisson_fit(log_linear(X), start, table.counts[use], table.exposure[use],
                            ("lnA", "gamma", "delta"), dispersion=table.phi)
    few = int(np.sum(table.counts[use] < options.min_count))
    if few:
        diag.note(where, f"{few} of {int(use.sum())} fitted S bins have fewer than {options.min_count} rearranging samples")
    if fit.p_value < options.p_value_warn:
        diag.warn(where, f"the quadratic form fits poorly (chi2/dof = {fit.chi2:.1f}/{fit.dof}, p = {fit.p_value:.2g})")
    return fit


@attrs.frozen(eq=False)
class ArrheniusBins:
    """Per S bin: ln P = Sigma(S) - DeltaE(S)/T across temperatures."""

    s: np.ndarray
    delta_e: np.ndarray
    delta_e_err: np.ndarray
    sigma: np.ndarray
    sigma_err: np.ndarray
    chi2: np.ndarray
    dof: np.ndarray


def arrhenius_per_bin(tables: list[RateTable], options: MeasureOptions, diag: Diagnostics) -> ArrheniusBins:
    T = np.array([t.temperature for t in tables])
    edges = tables[0].edges
    centres = 0.5 * (edges[1:] + edges[:-1])
    out = {k: np.full(centres.size, np.nan) for k in ("de", "dee", "sg", "sge", "chi2", "dof")}
    bad = []
    for b in range(centres.size):
        ok = np.array([t.counts[b] >= options.min_count for t in tables])
        if ok.sum() < 2:
            continue
        P = np.array([t.probability[b] for t in tables])[ok]
        Perr = np.array([t.probability_err[b] for t in tables])[ok]
        fit = weighted_line(1.0 / T[ok], np.log(P), Perr / P, names=("Sigma", "minus_DeltaE"))
        out["de"][b], out["dee"][b] = -fit["minus_DeltaE"], fit.err("minus_DeltaE")
        out["sg"][b], out["sge"][b] = fit["Sigma"], fit.err("Sigma")
        out["chi2"][b], out["dof"][b] = fit.chi2, fit.dof
        if fit.dof > 0 and fit.p_value < options.p_value_warn:
            bad.append(centres[b])
    if np.all(np.isnan(out["de"])):
        diag.warn("Arrhenius per S bin", f"no S bin has >= {options.min_count} rearranging samples at 2 or more temperatures")
    if bad:
        diag.warn("Arrhenius per S bin", f"ln P is not linear in 1/T (p < {options.p_value_warn:g}) in S bins at "
                  + ", ".join(f"{s:.2f}" for s in bad) + ": non-Arrhenius data")
    return ArrheniusBins(centres, out["de"], out["dee"], out["sg"], out["sge"], out["chi2"], out["dof"])


def onset_start(T, lnA, gamma, delta) -> np.ndarray:
    """Start values (Sigma0, e0, e1, e2, 1/T0) from per-temperature (lnA, gamma, delta)."""
    x = 1.0 / np.asarray(T, float)
    s0, m0 = np.polyfit(x, lnA, 1)[::-1]
    sg, mg = np.polyfit(x, gamma, 1)[::-1]
    sd, md = np.polyfit(x, delta, 1)[::-1]
    e1 = -mg
    u = sg / e1 if e1 != 0 else float(np.mean(x))
    return np.array([s0, -m0, e1, md, u])


def _onset_model(T_cells, S_cells):
    x = 1.0 / T_cells

    def model(th):
        Sigma0, e0, e1, e2, u = th
        g = e1 * S_cells + e2 * S_cells**2
        f = Sigma0 - e0 * x + g * (u - x)
        J = np.stack([np.ones_like(x), -x, S_cells * (u - x), S_cells**2 * (u - x), g], axis=1)
        return f, J
    return model


def _onset_model_fixed_u(T_cells, S_cells, u):
    full = _onset_model(T_cells, S_cells)

    def model(th):
        f, J = full(np.append(th, u))
        return f, J[:, :4]
    return model


def fit_onset(tables: list[RateTable], per_t: list[FitResult], options: MeasureOptions, diag: Diagnostics,
              T0: float | None = None) -> FitResult:
    """Joint fit of (Sigma0, e0, e1, e2, 1/T0) to every (S bin, T) cell; with ``T0``
    given, 1/T0 is held at 1/T0 (zero variance) and the other four are fitted."""
    if len(tables) < 2:
        raise MeasureError(f"the onset fit (e0, e1, e2, Sigma0, T0) needs >= 2 temperatures, got {len(tables)}")
    if len(tables) < 3:
        diag.warn("onset fit", "only 2 temperatures: the Arrhenius form cannot be tested (no residual degrees of freedom in 1/T)")
    T = np.array([t.temperature for t in tables])
    cells_T, cells_S, n, E, phis = [], [], [], [], []
    for t in tables:
        use = t.used(options)
        cells_T.append(np.full(use.sum(), t.temperature))
        cells_S.append(t.s_mean[use])
        n.append(t.counts[use])
        E.append(t.exposure[use])
        phis.append(np.full(use.sum(), t.phi))
    cells_T, cells_S, n, E, phis = map(np.concatenate, (cells_T, cells_S, n, E, phis))
    start = onset_start(T, *[np.array([f[k] for f in per_t]) for k in ("lnA", "gamma", "delta")])
    # One dispersion for the joint fit: the count-weighted mean of the per-T ones.
    phi = float(np.sum(phis * n) / max(n.sum(), 1))
    if T0 is not None:
        u = 1.0 / float(T0)
        f4 = quasi_poisson_fit(_onset_model_fixed_u(cells_T, cells_S, u), start[:4], n, E, ONSET_NAMES[:4],
                               dispersion=phi)
        cov = np.zeros((5, 5))
        cov[:4, :4] = f4.cov
        fit = FitResult(ONSET_NAMES, np.append(f4.value, u), cov, f4.chi2, f4.dof)
        diag.note("onset fit", f"T0 fixed at {T0:g} by the user")
    else:
        fit = quasi_poisson_fit(_onset_model(cells_T, cells_S), start, n, E, ONSET_NAMES, dispersion=phi)
    if fit.p_value < options.p_value_warn:
        diag.warn("onset fit", f"ln P = Sigma0 - e0/T + (e1 S + e2 S^2)(1/T0 - 1/T) fits poorly "
                  f"(chi2/dof = {fit.chi2:.1f}/{fit.dof}, p = {fit.p_value:.2g}): non-Arrhenius data or a non-quadratic S dependence")
    if not fit["inv_T0"] > 0:
        raise MeasureError(f"onset fit: 1/T0 = {fit['inv_T0']:.3g} <= 0; the S dependence of P(R|S) does not "
                           "weaken with T as the onset form requires")
    if fit.err("inv_T0") > 0.5 * fit["inv_T0"]:
        diag.warn("onset fit", f"T0 is poorly determined (1/T0 = {fit['inv_T0']:.3g} +- {fit.err('inv_T0'):.2g})")
    return fit


def t0_of(fit: FitResult) -> tuple[float, float]:
    u, du = fit["inv_T0"], fit.err("inv_T0")
    return 1.0 / u, du / u**2


def fit_onset_from_params(T, lnA, gamma, delta, covs) -> FitResult:
    """The same onset form fitted to per-temperature (lnA, gamma, delta) with covariances.

    Used for the bare law, which exists only per temperature (after renormalisation).
    """
    T = np.asarray(T, float)
    x = 1.0 / T
    y = np.concatenate([lnA, gamma, delta])
    nT = T.size
    C = np.zeros((3 * nT, 3 * nT))
    for i, c in enumerate(covs):
        idx = [i, nT + i, 2 * nT + i]
        C[np.ix_(idx, idx)] = c

    def model(_, Sigma0, e0, e1, e2, u):
        return np.concatenate([Sigma0 - e0 * x, e1 * (u - x), e2 * (x - u)])

    p0 = onset_start(T, lnA, gamma, delta)
    try:
        popt, pcov = optimize.curve_fit(model, None, y, p0=p0, sigma=C, absolute_sigma=True, maxfev=20000)
    except (RuntimeError, ValueError, np.linalg.LinAlgError) as exc:
        raise ParameterError(f"onset fit of the bare law did not converge: {exc}") from None
    r = y - model(None, *popt)
    chi2 = float(r @ np.linalg.solve(C, r))
    return FitResult(ONSET_NAMES, popt, pcov, chi2, int(y.size - 5))


def bare_per_temperature(fit: FitResult, mu: float, geometry, d: float) -> tuple[np.ndarray, np.ndarray]:
    """(lnA0, gamma0, delta0) and covariance from an observed per-T fit (numerical Jacobian)."""

    def f(th):
        b = bare_from_observed(ObservedRate(A=math.exp(th[0]), gamma=th[1], delta=th[2], d=d), mu, geometry)
        return np.array([math.log(b.A0), b.gamma0, b.delta0])

    th = fit.value
    val = f(th)
    J = np.empty((3, 3))
    for k in range(3):
        h = 1e-6 * max(1.0, abs(th[k]))
        e = np.zeros(3)
        e[k] = h
        J[:, k] = (f(th + e) - f(th - e)) / (2 * h)
    return val, J @ fit.cov @ J.T
