"""Unit tests of the measure pipeline's fits against synthetic data with known answers."""
import numpy as np
import pytest

from trsp_core.measure import rate_law as rl
from trsp_core.measure.diagnostics import Diagnostics, MeasureError
from trsp_core.measure.events import duration_stats, find_runs
from trsp_core.measure.fits import fit_almost_exponential, log_linear, quasi_poisson_fit, weighted_line
from trsp_core.measure.kicks import _correct
from trsp_core.measure.options import MeasureOptions
from trsp_core.physics.rates import ClusterGeometry


def test_quasi_poisson_recovers_quadratic_law():
    rng = np.random.default_rng(1)
    S = np.linspace(-2.5, 2.5, 21)
    E = np.full(S.size, 2e4)
    true = np.array([-4.0, 0.8, 0.1])
    X = np.stack([np.ones_like(S), S, -S * S], 1)
    n = rng.binomial(E.astype(int), np.exp(X @ true))
    fit = quasi_poisson_fit(log_linear(X), np.array([-3.0, 0.0, 0.0]), n, E, ("lnA", "gamma", "delta"))
    z = (fit.value - true) / fit.error
    assert np.all(np.abs(z) < 4), z
    assert fit.p_value > 1e-3
    # The error bars are honest: they are not wildly too large either.
    assert np.all(fit.error < 0.1)


def test_weighted_line_and_almost_exponential():
    rng = np.random.default_rng(2)
    x = np.linspace(1, 3, 12)
    sig = np.full_like(x, 0.05)
    y = 1.5 - 2.0 * x + rng.normal(0, 0.05, x.size)
    f = weighted_line(x, y, sig)
    assert abs(f["intercept"] - 1.5) < 4 * f.err("intercept") and abs(f["slope"] + 2) < 4 * f.err("slope")
    r = np.concatenate([[0.0], np.linspace(1.1, 4, 10)])
    s = np.full(r.size, 0.01)
    yy = np.where(r == 0, 1.0, 1.2 * np.exp(-r / 0.9)) + rng.normal(0, 0.01, r.size)
    g = fit_almost_exponential(r, yy, s, names=("C0", "C1", "xi"))
    for k, v in (("C0", 1.0), ("C1", 1.2), ("xi", 0.9)):
        assert abs(g[k] - v) < 4 * g.err(k), (k, g[k], g.err(k))


def _tables(params, temps, rng, E=5e4):
    edges = np.arange(-3, 3.01, 0.25)
    s = 0.5 * (edges[1:] + edges[:-1])
    Sigma0, e0, e1, e2, T0 = params
    out = []
    for T in temps:
        lnP = Sigma0 - e0 / T + (e1 * s + e2 * s * s) * (1 / T0 - 1 / T)
        ex = np.full(s.size, E)
        n = rng.binomial(int(E), np.exp(lnP)).astype(float)
        out.append(rl.RateTable(T, edges, ex, n, s, 4.0, 0.01, 1.0, int(n.sum())))
    return out


def test_onset_fit_recovers_T0_and_arrhenius_bins():
    rng = np.random.default_rng(3)
    truth = (2.5, 3.0, -1.0, 0.03, 0.74)
    tabs = _tables(truth, [0.42, 0.47, 0.53, 0.6], rng)
    o = MeasureOptions()
    diag = Diagnostics()
    per_t = [rl.fit_quadratic(t, o, diag) for t in tabs]
    fit = rl.fit_onset(tabs, per_t, o, diag)
    T0, dT0 = rl.t0_of(fit)
    assert abs(T0 - 0.74) < 4 * dT0
    assert abs(fit["e1"] + 1.0) < 4 * fit.err("e1")
    assert abs(fit["e0"] - 3.0) < 4 * fit.err("e0")
    arr = rl.arrhenius_per_bin(tabs, o, diag)
    ok = np.isfinite(arr.delta_e)
    de_true = 3.0 - 1.0 * arr.s + 0.03 * arr.s**2
    z = (arr.delta_e[ok] - de_true[ok]) / arr.delta_e_err[ok]
    assert np.mean(np.abs(z) < 3) > 0.9
    assert not diag.warnings, diag.warnings


def test_non_arrhenius_data_warns():
    rng = np.random.default_rng(4)
    tabs = _tables((2.5, 3.0, -1.0, 0.03, 0.74), [0.42, 0.47, 0.53, 0.6], rng)
    # Super-Arrhenius: multiply the lowest T's rates by 3 (not representable by the onset form).
    t = tabs[0]
    tabs[0] = rl.RateTable(t.temperature, t.edges, t.exposure, rng.binomial(t.exposure.astype(int), np.clip(3 * t.probability, 0, 1)).astype(float),
                           t.s_mean, 4.0, 0.01, 1.0, t.n_runs)
    diag = Diagnostics()
    o = MeasureOptions()
    per_t = [rl.fit_quadratic(x, o, diag) for x in tabs]
    rl.fit_onset(tabs, per_t, o, diag)
    rl.arrhenius_per_bin(tabs, o, diag)
    text = " ".join(str(w) for w in diag.warnings)
    assert "non-Arrhenius" in text


def test_onset_needs_two_temperatures():
    rng = np.random.default_rng(5)
    tabs = _tables((2.5, 3.0, -1.0, 0.03, 0.74), [0.5], rng)
    o = MeasureOptions()
    per_t = [rl.fit_quadratic(tabs[0], o, Diagnostics())]
    with pytest.raises(MeasureError, match="needs >= 2 temperatures"):
        rl.fit_onset(tabs, per_t, o, Diagnostics())


def test_bare_equals_observed_for_single_sites():
    g = ClusterGeometry(m=1, z=1, sigma2=1.0, K_Ri=1.0, K_RR=1.0)
    from trsp_core.measure.fits import FitResult

    f = FitResult(("lnA", "gamma", "delta"), np.array([-3.0, 0.7, 0.05]), np.diag([1e-4, 4e-4, 1e-4]), 0.0, 1)
    val, cov = rl.bare_per_temperature(f, -0.5, g, 4.0)
    assert np.allclose(val, f.value, atol=1e-9)
    assert np.allclose(cov, f.cov, rtol=1e-5, atol=1e-12)


def test_runs_and_duration():
    f = np.zeros((12, 2), bool)
    f[2:6, 0] = True
    f[8:12, 0] = True      # touches the end: cut, not used for d
    f[1:4, 1] = True
    runs = find_runs(f)
    assert runs.n == 3
    d, _, phi = duration_stats(runs)
    assert d == pytest.approx(3.5) and phi == pytest.approx((16 + 9) / 2 / 3.5)
    assert sorted(runs.anchor[runs.complete].tolist()) == [2, 3]


def test_background_correction_inverts_the_composition_rules():
    eta1, v1, eta2, v2, s2 = 0.3, 0.25, 0.05, 0.04, 1.0
    eta = eta1 + eta2 - eta1 * eta2
    var = v1 + v2 - v1 * v2 / s2
    e, v = _correct(eta, var, eta2, v2, s2)
    assert e == pytest.approx(eta1) and v == pytest.approx(v1)


def test_options_errors_name_the_option():
    from trsp_core.errors import ParameterError

    with pytest.raises(ParameterError, match="phop_window"):
        MeasureOptions(phop_window=7)
    with pytest.raises(ParameterError, match="far_r"):
        MeasureOptions(far_r=2.0, kick_r_max=3.3)
