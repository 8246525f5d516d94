"""The whole measurement: MD data at several temperatures -> TRSP parameters.

:func:`measure` runs every step and returns a :class:`MeasureResult`;
``measure.output`` writes it (TOML, netCDF, report).
"""
from __future__ import annotations

import math

import attrs
import numpy as np

from trsp_core.errors import ParameterError
from trsp_core.measure import kicks as _kicks
from trsp_core.measure import rate_law as _rl
from trsp_core.measure import statics as _st
from trsp_core.measure.data import TemperatureData
from trsp_core.measure.diagnostics import Diagnostics, MeasureError
from trsp_core.measure.fits import FitResult, fit_almost_exponential, weighted_line
from trsp_core.measure.options import MeasureOptions
from trsp_core.measure.radial import first_peak, pairs_within, radial_edges
from trsp_core.physics.params import DescriptorParams


@attrs.frozen(eq=False)
class MeasureResult:
    options: MeasureOptions
    temperatures: np.ndarray
    spacing: float
    distributions: list
    mu_fit: FitResult | None
    correlations: list
    correlation_pooled: object
    correlation_fit: FitResult
    tables: list
    per_t: list
    arrhenius: object
    onset: FitResult
    geometry: object
    bare_per_t: list            # [(value (3,), cov (3, 3))] per T: lnA0, gamma0, delta0
    bare_onset: FitResult | None
    kicks: list
    kick_pooled: dict
    kick_used: np.ndarray
    s_fit: FitResult
    rho_fit: FitResult
    d: float
    d_err: float
    params: DescriptorParams
    diagnostics: Diagnostics


def _geometry(options: MeasureOptions, C0, C1, xi, a, dim):
    from trsp_core.physics.params import AlmostExponential
    from trsp_core.physics.rates import cluster_geometry
    from trsp_core.plugin.registry import default_registry

    reg = default_registry()
    rule = reg.get("cluster", options.cluster)
    lat = reg.get("lattice", options.lattice)(8, a)
    if lat.dim != dim:
        raise MeasureError(f"measure option 'lattice' = '{options.lattice}' is {lat.dim}D but the data are {dim}D")
    offsets = rule.orientations(lat)[0]
    return cluster_geometry(offsets, lat, AlmostExponential(C0, C1, xi), rule.coordination(lat))


def _mu_fit(dists, options, diag) -> FitResult | None:
    T = np.array([d.temperature for d in dists])
    if T.size < 2:
        diag.warn("mu(T)", "one temperature: mu(T) = a + b/T cannot be fitted; b = 0 written")
        return None
    m = np.array([d.mean for d in dists])
    e = np.array([d.mean_err for d in dists])
    if not np.all(e > 0):
        e = np.full_like(m, max(np.nanmax(np.abs(e)), 1e-6))
    fit = weighted_line(1.0 / T, m, e, names=("mu_a", "mu_b"))
    if fit.dof > 0 and fit.p_value < options.p_value_warn:
        diag.warn("mu(T)", f"<S> is not linear in 1/T (chi2/dof = {fit.chi2:.1f}/{fit.dof}, p = {fit.p_value:.2g})")
    return fit


def measure(datasets: list[TemperatureData], options: MeasureOptions | None = None) -> MeasureResult:
    options = options or MeasureOptions()
    diag = Diagnostics()
    if not datasets:
        raise MeasureError("no data: pass at least one temperature")
    datasets = sorted(datasets, key=lambda d: d.temperature)
    T = np.array([d.temperature for d in datasets])
    if np.unique(T).size != T.size:
        raise MeasureError(f"two data sets share a temperature ({T.tolist()}); merge them first")
    dim = datasets[0].box.size

    # Lattice spacing: the first peak of g_AA(r), unless given.
    a = options.spacing
    if a is None:
        d0 = datasets[0]
        a = first_peak(d0.frame_positions(int(np.nonzero(d0.valid)[0][0])), d0.box)
        if not np.isfinite(a):
            raise MeasureError("could not find the first peak of g(r); pass the lattice spacing (option 'spacing')")

    # Statics.
    dists = [_st.distribution(d, options, diag) for d in datasets]
    mu_fit = _mu_fit(dists, options, diag)
    d0 = datasets[0]
    r_max = min(options.r_max, 0.5 * float(np.min(d0.box)))
    _, dist0 = pairs_within(d0.frame_positions(int(np.nonzero(d0.valid)[0][0])), d0.box, r_max)
    r_edges = radial_edges(dist0, r_max, options.r_bin_width, d0.static)
    corrs = [_st.correlation(d, options, dd.mean, r_edges) for d, dd in zip(datasets, dists)]
    cp = _st.pooled_correlation(corrs)
    sel = cp.r <= options.corr_r_max
    c_fit = fit_almost_exponential(cp.r[sel], cp.value[sel], cp.error[sel], names=("C0", "C1", "xi"))
    if c_fit.dof > 0 and c_fit.p_value < options.p_value_warn:
        diag.warn("C(r)", f"the almost-exponential form fits poorly (chi2/dof = {c_fit.chi2:.1f}/{c_fit.dof})")

    # Rates.
    s_edges = _rl.common_edges(datasets, options.s_bin_width)
    tables = [_rl.rate_table(d, s_edges, options) for d in datasets]
    per_t = [_rl.fit_quadratic(t, options, diag) for t in tables]
    arr = _rl.arrhenius_per_bin(tables, options, diag)
    onset = _rl.fit_onset(tables, per_t, options, diag)
    T0, _ = _rl.t0_of(onset)
    dvals = np.array([t.d for t in tables])
    derrs = np.array([t.d_err if t.d_err > 0 else np.nan for t in tables])
    w = np.where(np.isfinite(derrs), 1 / np.nan_to_num(derrs, nan=np.inf) ** 2, 0)
    d_mean = float(np.sum(w * dvals) / w.sum()) if w.sum() > 0 else float(np.nanmean(dvals))
    d_err = float(1 / np.sqrt(w.sum())) if w.sum() > 0 else float("nan")
    if np.ptp(dvals) > 0.25 * d_mean:
        diag.warn("duration d", f"the mean run length varies with T ({', '.join(f'{x:.2f}' for x in dvals)} frames); "
                  f"the model uses one d = {d_mean:.2f}")

    # Renormalisation: observed per-site law -> bare cluster law, per temperature.
    mu_of = (lambda t: mu_fit["mu_a"] + mu_fit["mu_b"] / t) if mu_fit else (lambda t: dists[0].mean)
    geometry = _geometry(options, c_fit["C0"], c_fit["C1"], c_fit["xi"], a, dim)
    bare, bare_onset = [], None
    for t, f in zip(tables, per_t):
        try:
            bare.append(_rl.bare_per_temperature(f, mu_of(t.temperature), geometry, d_mean))
        except ParameterError as exc:
            diag.warn(f"renormalisation T={t.temperature:g}", str(exc))
            bare.append((np.full(3, np.nan), np.full((3, 3), np.nan)))
    ok = [i for i, b in enumerate(bare) if np.all(np.isfinite(b[0]))]
    if len(ok) >= 2:
        try:
            bare_onset = _rl.fit_onset_from_params(
                T[ok], *[np.array([bare[i][0][k] for i in ok]) for k in range(3)], [bare[i][1] for i in ok])
        except ParameterError as exc:
            diag.warn("bare onset fit", str(exc))

    # Kicks.
    ks = [_kicks.kick_stats(d, options, r_edges, s_edges, dd.variance, diag) for d, dd in zip(datasets, dists)]
    frac = np.array([d.rearranging[d.valid].mean() for d in datasets])
    pool = frac <= options.kick_max_flagged
    if not pool.any():
        pool[0] = True
        diag.warn("Delta S", f"every temperature has more than kick_max_flagged = {options.kick_max_flagged:g} of the "
                  f"samples rearranging (lowest: {frac[0]:.3g} at T={T[0]:g}); overlapping rearrangements bias s(r) "
                  "and rho(r) upwards; using the lowest temperature only")
    diag.note("Delta S", "s(r), rho(r) pooled over T = " + ", ".join(f"{t:g}" for t in T[pool]))
    kp = _kicks.pooled([k for k, p in zip(ks, pool) if p])
    sel = (kp["r"] <= options.kick_r_max) & (kp["var"] > 0) & np.isfinite(kp["var_err"])
    s_val = np.sqrt(np.where(sel, kp["var"], np.nan))
    s_err = kp["var_err"] / (2 * s_val)
    s_fit = fit_almost_exponential(kp["r"][sel], s_val[sel], s_err[sel], names=("s0", "s1", "xi_s"))
    rsel = (kp["r"] <= options.kick_r_max) & np.isfinite(kp["rho"]) & (kp["rho_err"] > 0)
    rho_fit = fit_almost_exponential(kp["r"][rsel], kp["rho"][rsel], kp["rho_err"][rsel],
                                     at_zero=1.0, names=("rho0", "p1", "xi_rho"))
    for name, f in (("s(r)", s_fit), ("rho(r)", rho_fit)):
        if f.dof > 0 and f.p_value < options.p_value_warn:
            diag.warn(name, f"the almost-exponential form fits poorly (chi2/dof = {f.chi2:.1f}/{f.dof})")

    params = DescriptorParams(
        name=options.name,
        description=f"measured by trsp measure from {len(datasets)} temperatures "
                    f"({', '.join(f'{t:g}' for t in T)}); cluster={options.cluster}, lattice={options.lattice}",
        a=a, mu_a=mu_fit["mu_a"] if mu_fit else dists[0].mean, mu_b=mu_fit["mu_b"] if mu_fit else 0.0,
        C0=c_fit["C0"], C1=c_fit["C1"], xi=c_fit["xi"],
        e0=onset["e0"], e1=onset["e1"], e2=onset["e2"], Sigma0=onset["Sigma0"], T0=T0, d=d_mean,
        s0=s_fit["s0"], s1=max(s_fit["s1"], 0.0), xi_s=s_fit["xi_s"], p1=rho_fit["p1"], xi_rho=rho_fit["xi_rho"],
        r_cut=options.kick_r_max,
    )
    _check_model(params, options, T, diag)
    return MeasureResult(options, T, float(a), dists, mu_fit, corrs, cp, c_fit, tables, per_t, arr, onset,
                         geometry, bare, bare_onset, ks, kp, pool, s_fit, rho_fit, d_mean, d_err, params, diag)


def _check_model(params: DescriptorParams, options: MeasureOptions, T, diag: Diagnostics,
                 sizes=(6, 8, 12, 20)) -> None:
    """Compose the measured model at every T on lattices of several sizes.

    C(r) and rho(r) must be positive definite on every lattice a user may
    compose (a fit can be fine at L=8 and not at L=6), and the kick feasible.
    Invalid sets are reported, not written silently.
    """
    from trsp_core.model import Model
    from trsp_core.plugin.registry import default_registry

    reg = default_registry()
    failed = set()
    for t in T:
        for size in sizes:
            try:
                lat = reg.get("lattice", options.lattice)(size, params.a)
                model = Model(lat, params, reg.get("cluster", options.cluster), reg.get("rate", "arrhenius"), float(t))
                if size == 8:
                    model.check_feasible()
            except ParameterError as exc:
                key = (float(t), str(exc).split(":")[0])
                if key not in failed:
                    failed.add(key)
                    diag.warn(f"model check T={t:g}",
                              f"the measured parameters do not compose a valid model at L={size}: {exc}")
    if math.isfinite(params.T0) and params.T0 < float(np.max(T)):
        diag.note("onset", f"T0 = {params.T0:.3g} lies inside the measured range; above T0 the S dependence reverses")
