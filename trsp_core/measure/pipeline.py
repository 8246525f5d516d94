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
from trsp_core.physics.profiles import Tabulated
from trsp_core.physics.rates import RateTable as PhysRateTable


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
    # Why the parameters do not compose a valid model (empty: valid). measure() never
    # raises for these, so the report and curves can still be written for diagnosis;
    # write_outputs() then writes no params.toml.
    failures: tuple = ()
    kick_scale: float = 1.0          # factor applied to s(r) by the feasibility constraint
    b_max: tuple = ()                # (T, max eig K_Delta K'^-1) before the constraint

    @property
    def valid(self) -> bool:
        return not self.failures


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
    dts = np.array([d.dt for d in datasets])
    if not np.allclose(dts, dts[0], rtol=1e-9):
        raise MeasureError("the temperatures have different frame spacings dt (" + ", ".join(
            f"T={d.temperature:g}: {d.dt:g}" for d in datasets) + "); P(R|S) is per frame, so resample the "
            "trajectories to one dt")
    fixed = options.fixed_dict
    for key, label in (("corr_temperatures", "C(r)"), ("kick_temperatures", "Delta S")):
        want = getattr(options, key)
        missing = [t for t in (want or ()) if not np.any(_same_temperature(T, t))]
        if missing:
            raise MeasureError(f"measure option '{key}': no data at T = {', '.join(f'{t:g}' for t in missing)} "
                               f"for the {label} fit (data at T = {', '.join(f'{t:g}' for t in T)})")

    # Lattice spacing: the first peak of g_AA(r), unless given.
    a = fixed.get("a", options.spacing)
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
    use_c = _chosen(T, options.corr_temperatures)
    cp = _st.pooled_correlation([c for c, u in zip(corrs, use_c) if u])
    if options.corr_temperatures is not None:
        diag.note("C(r)", "pooled over T = " + ", ".join(f"{t:g}" for t in T[use_c]) + " (option corr_temperatures)")
    csel = cp.r <= options.corr_r_max
    c_fit = fit_almost_exponential(cp.r[csel], cp.value[csel], cp.error[csel], names=("C0", "C1", "xi"))
    if c_fit.dof > 0 and c_fit.p_value < options.p_value_warn:
        diag.warn("C(r)", f"the almost-exponential form fits poorly (chi2/dof = {c_fit.chi2:.1f}/{c_fit.dof})")

    # Rates.
    s_edges = _rl.common_edges(datasets, options.s_bin_width)
    tables = [_rl.rate_table(d, s_edges, options) for d in datasets]
    per_t = [_rl.fit_quadratic(t, options, diag) for t in tables]
    arr = _rl.arrhenius_per_bin(tables, options, diag)
    onset = _rl.fit_onset(tables, per_t, options, diag, T0=fixed.get("T0"))
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
    if options.kick_temperatures is not None:
        pool = _chosen(T, options.kick_temperatures)
    elif not pool.any():
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
        r_cut=options.kick_r_max, frame_dt=float(dts[0]),
    )
    over = {k: v for k, v in fixed.items() if k not in ("T0",)}
    if over:
        params = params.evolve(**over)
        diag.note("fixed", "set by the user: " + ", ".join(f"{k} = {v:g}" for k, v in sorted(fixed.items())))
    # The per-temperature rate law beside the onset fit, and tables where a fit is poor.
    params = _with_rate_table(params, T, per_t, dvals, diag)
    tab_diag = Diagnostics()
    tabulated = _with_tabulated_profiles(params, options, tab_diag, fixed, (
        ("C_profile", "C(r)", c_fit, cp.r[csel], cp.value[csel], None),
        ("s_profile", "s(r)", s_fit, kp["r"][sel], s_val[sel], None),
        ("rho_profile", "rho(r)", rho_fit, kp["r"][rsel], kp["rho"][rsel], 1.0),
    ))
    checked = None
    if tabulated is not params:
        # measured shells are noisy: a table that is not positive definite on the lattice (or
        # makes the kick infeasible beyond repair) is not written; the fitted form is kept
        trial = Diagnostics()
        checked = _check_model(tabulated, options, T, trial)
        if checked[1]:
            diag.warn("tabulated profiles", "the measured shells do not give a valid model ("
                      + "; ".join(checked[1]) + "): the almost-exponential fits are written instead")
            checked = None
        else:
            diag.findings.extend(tab_diag.findings + trial.findings)
    params, failures, scale, bmax = checked or _check_model(params, options, T, diag)
    return MeasureResult(options, T, float(a), dists, mu_fit, corrs, cp, c_fit, tables, per_t, arr, onset,
                         geometry, bare, bare_onset, ks, kp, pool, s_fit, rho_fit, d_mean, d_err, params, diag,
                         tuple(failures), scale, tuple(bmax))


def _same_temperature(T, t):
    # relative 1e-4: a temperature copied from a report or message (6 significant digits) selects its data
    return np.isclose(T, t, rtol=1e-4, atol=0.0)


def _chosen(T, wanted) -> np.ndarray:
    if wanted is None:
        return np.ones(len(T), bool)
    return np.array([np.any(_same_temperature(np.asarray(wanted, float), t)) for t in T])


_REMEDY = {
    "C(r)": "fit C(r) at other temperatures (--corr-temperature T, repeated; e.g. the highest, as the paper does), "
            "shorten its fit range (--corr-r-max), or fix C1/xi (--fix C1=..., --fix xi=...)",
    "rho(r)": "fix the kick correlation (--fix p1=..., --fix xi_rho=...) or pool the kicks over other "
              "temperatures (--kick-temperature T, repeated)",
    "kick": "pool the kicks over other temperatures (--kick-temperature T, repeated), fix s0/s1 (--fix s0=...), "
            "or let measure shrink s(r) (--kick-feasibility shrink)",
    "rates": "fix T0 (--fix T0=...) or use more temperatures; check the per-temperature fits in report.md",
}


def _classify(msg: str) -> str:
    if "covariance C(r)" in msg:
        return "C(r)"
    if "kick correlation" in msg:
        return "rho(r)"
    if "kick" in msg or "K_Delta" in msg or "conditioned variance" in msg:
        return "kick"
    return "rates"


def _check_model(params: DescriptorParams, options: MeasureOptions, T, diag: Diagnostics,
                 sizes=(6, 8, 12, 20)):
    """Compose the measured model at every T on lattices of several sizes.

    C(r) and rho(r) must be positive definite on every lattice a user may compose
    (a fit can be fine at L=8 and not at L=6), the bare law valid, and the kick
    feasible (max eig(K_Delta K'^-1) < 1). An infeasible kick is constrained by
    scaling s(r) when options.kick_feasibility == "shrink": K_Delta is proportional
    to s(d(x)) s(d(y)) and K' does not depend on s, so b_max scales as the square of
    the factor, and f = sqrt(kick_b_target / max_T b_max) makes every T feasible.

    Returns (params, failures, kick scale, [(T, b_max)]): failures name the quantity,
    the temperature and a remedy; an empty list means every T composes.
    """
    from trsp_core.model import Model
    from trsp_core.plugin.registry import default_registry

    reg = default_registry()

    def build(p, t, size, rate="arrhenius"):
        lat = reg.get("lattice", options.lattice)(size, p.a)
        return Model(lat, p, reg.get("cluster", options.cluster), reg.get("rate", rate), float(t))

    failures, seen = [], set()
    for t in T:
        for size in sizes:
            try:
                # structure and rates: the kick is probed separately below
                build(_scaled_kick(params, 0.0), t, size)
            except ParameterError as exc:
                what = _classify(str(exc))
                if (float(t), what) not in seen:
                    seen.add((float(t), what))
                    failures.append(f"{what} at T={t:g} (L={size}): {exc}; remedy: {_REMEDY[what]}")
    if failures:
        return params, failures, 1.0, []
    def b_max(t):
        # K_Delta scales as f^2 with s(r) -> f s(r) and K' does not depend on s, so an
        # infeasible kick's b_max is read off a scaled-down copy (the kernel refuses b > 1)
        for f in (1.0, 0.1, 0.01):
            try:
                return float(build(_scaled_kick(params, f), t, 8).check_feasible()) / f**2
            except ParameterError as exc:
                if "infeasible K_Delta" not in str(exc):
                    raise
        return math.inf

    bmax = []
    for t in T:
        try:
            bmax.append((float(t), b_max(t)))
        except ParameterError as exc:
            failures.append(f"kick at T={t:g}: {exc}; remedy: {_REMEDY['kick']}")
    if failures:
        return params, failures, 1.0, bmax
    worst_t, worst = max(bmax, key=lambda x: x[1])
    scale = 1.0
    if worst >= 1.0:
        if options.kick_feasibility == "error" or not math.isfinite(worst):
            failures.append(f"kick at T={worst_t:g}: max eig(K_Delta K'^-1) = {worst:.3g} >= 1 (s0 = {params.s0:.3g}, "
                            f"s1 = {params.s1:.3g}, xi_s = {params.xi_s:.3g}): the kick is larger than the "
                            f"conditioned variance; remedy: {_REMEDY['kick']}")
            return params, failures, 1.0, bmax
        scale = math.sqrt(options.kick_b_target / worst)
        params = _scaled_kick(params, scale)
        diag.warn("Delta S", f"the measured kick is infeasible (max eig(K_Delta K'^-1) = {worst:.3g} >= 1 at "
                  f"T={worst_t:g}); s(r) scaled by {scale:.3f} so that it is {options.kick_b_target:g} "
                  "(option kick_feasibility = 'shrink'; 'error' refuses instead)")
    for t in T:
        for size in (8, 12):
            try:
                m = build(params, t, size)
                if scale != 1.0 and size == 8:
                    b = m.check_feasible()
                    if b >= 1.0:
                        failures.append(f"kick at T={t:g}: still infeasible after scaling (b_max = {b:.3g})")
            except ParameterError as exc:
                failures.append(f"{_classify(str(exc))} at T={t:g} (L={size}): {exc}")
    if params.rate_table is not None and not failures:
        # the per-temperature law renormalises on its own at each T: report where it cannot
        for t in T:
            try:
                build(params, t, 8, rate="per-temperature")
            except ParameterError as exc:
                diag.warn("per-temperature rate law", f"T={t:g}: {exc} (the onset fit is unaffected)")
    if math.isfinite(params.T0) and params.T0 < float(np.max(T)):
        diag.note("onset", f"T0 = {params.T0:.3g} lies inside the measured range; above T0 the S dependence reverses")
    return params, failures, scale, bmax


def _scaled_kick(params: DescriptorParams, f: float) -> DescriptorParams:
    """s(r) -> f s(r), for the almost-exponential numbers or a tabulated s(r)."""
    prof = params.s_profile
    if prof is None:
        return params.evolve(s0=params.s0 * f, s1=params.s1 * f)
    if not isinstance(prof, Tabulated):
        raise ParameterError(f"cannot scale the kick profile {prof.describe()}: only a tabulated s(r) is scaled")
    return params.evolve(s_profile=attrs.evolve(prof, value=tuple(v * f for v in prof.value)))


def _with_rate_table(params, T, per_t, d, diag) -> DescriptorParams:
    """The observed A, gamma, delta, d of every temperature (the per-temperature rate law)."""
    lnA = np.array([f["lnA"] for f in per_t])
    g = np.array([f["gamma"] for f in per_t])
    dl = np.array([f["delta"] for f in per_t])
    d = np.asarray(d, float)
    if not (np.all(np.isfinite(lnA)) and np.all(np.isfinite(g)) and np.all(np.isfinite(dl))):
        diag.warn("rate table", "a per-temperature fit is not finite: no [rates.rate_table] written")
        return params
    table = PhysRateTable(T, np.exp(lnA), g, dl, d=d if np.all(np.isfinite(d) & (d > 0)) else None)
    diag.note("rate table", f"[rates.rate_table]: the observed law at {len(T)} temperature(s), ln A, gamma, delta, d "
              "linear in 1/T between them (use it with --rate per-temperature; the onset fit stays the default)")
    return params.evolve(rate_table=table)


def poor_fit(fit: FitResult, options: MeasureOptions) -> bool:
    """The almost-exponential form is rejected by its chi^2 (from the error bars): p < p_value_warn."""
    return fit.dof > 0 and fit.p_value < options.p_value_warn


def _with_tabulated_profiles(params, options, diag, fixed, cases) -> DescriptorParams:
    if options.tabulate_profiles == "never":
        return params
    from trsp_core.physics.params import REPLACES

    for field, label, fit, r, value, at_zero in cases:
        if not poor_fit(fit, options):
            continue
        if any(k in fixed for k in REPLACES[field]):
            diag.note(label, f"the almost-exponential fit is poor, but {', '.join(REPLACES[field])} are fixed by "
                      "the user: no table written")
            continue
        r, value = np.asarray(r, float), np.asarray(value, float)
        ok = np.isfinite(r) & np.isfinite(value)
        r, value = r[ok], value[ok]
        if at_zero is not None:
            keep = r > 0
            r, value = np.concatenate([[0.0], r[keep]]), np.concatenate([[at_zero], value[keep]])
        try:
            prof = Tabulated(r, value, "linear", "zero")
        except ParameterError as exc:
            diag.warn(label, f"the almost-exponential fit is poor but the shells cannot be tabulated ({exc})")
            continue
        params = params.evolve(**{field: prof})
        # the poor fit itself was already warned about: this says what was done about it
        diag.note(label, f"the almost-exponential form fits poorly (chi2/dof = {fit.chi2:.1f}/{fit.dof}, "
                  f"p = {fit.p_value:.2g} < {options.p_value_warn:g}): written as [{_SECTION[field]}.{field}], "
                  f"the {len(r) - 1} measured shells (linear between shells, zero beyond r = {r[-1]:g})")
    return params


_SECTION = {"C_profile": "structure", "s_profile": "kicks", "rho_profile": "kicks"}
