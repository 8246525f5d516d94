"""Round trip: TRSP model -> synthetic 'MD' data -> trsp measure -> parameters.

Tolerance of every check = 3 x the pipeline's own 1-sigma error + a stated
systematic allowance for the estimators' known biases on this data:
* P(R|S) is the fraction of flagged frames, with S read at the flagged frame
  (post-kick) and runs of one site merging when it fires twice within d:
  T0 is biased by about -0.02, d by about +0.12 frames;
* s(r), rho(r) use the paper's estimator (residual variance of Delta S given
  the particle's own S, nearest-rearranger attribution): about +5% on s(0)
  on this model (exact dense-kernel calculation: 0.62 vs 0.60);
* s(r > 0) is biased up by ~10% (overlapping kicks in the +-5 frame window);
* rho(r): the estimator's exact dense-kernel target is rho(a) = 0.207 for a
  model value 0.202 (+2.3%). Over 24 independent seed sets (L = 8, T = 0.42,
  6 x 500 frames) raw rho at r = a, a sqrt(2) averages 0.2036 and 0.1087
  (model 0.2023, 0.1144: -5% at a sqrt(2)), and its scatter (0.0126, 0.0114)
  equals the reported block error (rms 0.0121, 0.0114): rho is checked at
  3 x error + 5%. (An earlier 8-set estimate suggested errors 2x too small; the
  24-set measurement does not reproduce it.)
* C(r) subtracts the sample mean of S (bias -Var(mean) ~ 0.01 on L = 8).
"""
import math

import numpy as np
import pytest

from trsp_core.spec import compose
from trsp_core.measure import MeasureOptions, concat, measure, write_outputs
from trsp_core.measure.synthetic import lattice_data

TEMPS = (0.42, 0.47, 0.53, 0.6)


@pytest.fixture(scope="module")
def roundtrip(tmp_path_factory, roundtrip_params):
    data = []
    for i, T in enumerate(TEMPS):
        m = compose(descriptor="softness-kalj", size=8, cluster="single", temperature=T, params=roundtrip_params)
        data.append(concat([lattice_data(m, 500, seed=1000 * i + r) for r in range(6)]))
    res = measure(data, MeasureOptions(cluster="single", far_r=4.0))
    out = tmp_path_factory.mktemp("measure")
    paths = write_outputs(res, out)
    return res, m.params, paths


def _check(name, got, err, want, allowance):
    tol = 3 * err + allowance
    print(f"{name:>12}: got {got:.4f} +- {err:.4f}, true {want:.4f}, |error| {abs(got - want):.4f}, tolerance {tol:.4f}")
    assert abs(got - want) <= tol, (name, got, want, tol)


def test_rates_roundtrip(roundtrip):
    res, p, _ = roundtrip
    u, du = res.onset["inv_T0"], res.onset.err("inv_T0")
    _check("T0", 1 / u, du / u**2, p.T0, 0.03)
    _check("e1", res.onset["e1"], res.onset.err("e1"), p.e1, 0.05)
    _check("d", res.d, res.d_err, p.d, 0.2)
    # ln P at the centre of the data (well determined even if e0 and Sigma0 are correlated).
    for T, f in zip(res.temperatures, res.per_t):
        _check(f"gamma({T:g})", f["gamma"], f.err("gamma"), p.e1 * (1 / p.T0 - 1 / T), 0.05)


def test_statics_roundtrip(roundtrip):
    res, p, _ = roundtrip
    f = res.mu_fit
    for T in TEMPS:
        x = np.array([1.0, 1.0 / T])
        _check(f"mu({T:g})", float(x @ f.value), math.sqrt(x @ f.cov @ x), p.mu(T), 0.02)
    c = res.correlation_fit
    _check("C0", c["C0"], c.err("C0"), p.C0, 0.03)
    a = p.a
    J = np.array([math.exp(-a / c["xi"]), c["C1"] * a / c["xi"] ** 2 * math.exp(-a / c["xi"])])
    _check("C(a)", c["C1"] * math.exp(-a / c["xi"]), math.sqrt(J @ c.cov[1:, 1:] @ J), p.C1 * math.exp(-a / p.xi), 0.03)
    assert res.spacing == pytest.approx(p.a, rel=1e-6)


def test_kicks_roundtrip(roundtrip):
    res, p, _ = roundtrip
    s = res.s_fit
    _check("s(0)", s["s0"], s.err("s0"), p.s0, 0.06 * p.s0)
    for r in (p.a, p.a * math.sqrt(2)):
        J = np.array([math.exp(-r / s["xi_s"]), s["s1"] * r / s["xi_s"] ** 2 * math.exp(-r / s["xi_s"])])
        _check(f"s({r:.2f})", s["s1"] * math.exp(-r / s["xi_s"]), math.sqrt(J @ s.cov[1:, 1:] @ J),
               p.s1 * math.exp(-r / p.xi_s), 0.15 * p.s1 * math.exp(-r / p.xi_s))
    q = res.rho_fit
    for r in (p.a, p.a * math.sqrt(2)):
        J = np.array([math.exp(-r / q["xi_rho"]), q["p1"] * r / q["xi_rho"] ** 2 * math.exp(-r / q["xi_rho"])])
        _check(f"rho({r:.2f})", q["p1"] * math.exp(-r / q["xi_rho"]), math.sqrt(J @ q.cov[1:, 1:] @ J),
               p.p1 * math.exp(-r / p.xi_rho), 0.05 * p.p1 * math.exp(-r / p.xi_rho))


def test_outputs_compose_and_are_labelled(roundtrip):
    import xarray as xr

    res, p, paths = roundtrip
    m = compose(descriptor="gaussian", params=paths["params"], cluster="single", size=6, temperature=0.5)
    assert m.params.T0 == pytest.approx(res.params.T0)
    with xr.open_dataset(paths["netcdf"]) as ds:
        for name in ("P_R", "P_R_err", "C", "C_err", "rho", "rho_err", "kick_var", "DeltaE", "bare_gamma0"):
            assert "units" in ds[name].attrs and "long_name" in ds[name].attrs
        assert "fit_T0_err" in ds.attrs
        # m = 1: bare = observed.
        np.testing.assert_allclose(ds["bare_gamma0"].values, ds["gamma"].values, rtol=1e-6)
    text = paths["report"].read_text()
    assert "## Warnings" in text and "fig1_rates.png" in text
    assert all(paths[k].stat().st_size > 1000 for k in ("fig1", "fig2", "fig3"))
