"""trsp measure writes the per-temperature rate table beside the onset fit, and tabulated
profiles where the almost-exponential fit is poor by its chi^2 (issue 14)."""
import json
import math

import numpy as np
import pytest

from trsp_core.measure import MeasureOptions, concat, measure, write_outputs
from trsp_core.measure.diagnostics import Diagnostics
from trsp_core.measure.fits import FitResult, fit_almost_exponential
from trsp_core.measure.pipeline import _with_rate_table, _with_tabulated_profiles, poor_fit
from trsp_core.measure.synthetic import lattice_data
from trsp_core.physics.params import DescriptorParams, read_params_toml
from trsp_core.physics.profiles import Tabulated
from trsp_core.spec import compose


def _fit_of(r, y, e):
    return fit_almost_exponential(r, y, e, names=("C0", "C1", "xi"))


def test_poor_is_a_chi2_p_value_below_the_warning_level():
    r = np.array([0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5])
    exact = np.where(r == 0, 1.0, 1.2 * np.exp(-r / 0.9))
    e = np.full(r.size, 0.01)
    good = _fit_of(r, exact + np.random.default_rng(1).normal(0, 0.01, r.size), e)
    osc = np.where(r == 0, 1.0, 1.2 * np.exp(-r / 0.9) * np.cos(2 * np.pi * r / 3.0))
    bad = _fit_of(r, osc, e)
    opts = MeasureOptions()
    assert not poor_fit(good, opts) and poor_fit(bad, opts)
    assert bad.p_value < opts.p_value_warn < good.p_value


def test_a_poor_fit_is_written_as_its_shells_and_a_good_one_is_not():
    r = np.array([0.0, 1.0, 1.5, 2.0, 2.5, 3.0])
    osc = np.where(r == 0, 1.0, 1.2 * np.exp(-r / 0.9) * np.cos(2 * np.pi * r / 3.0))
    e = np.full(r.size, 0.01)
    bad = _fit_of(r, osc, e)
    good = FitResult(("C0", "C1", "xi"), np.array([1.0, 1.2, 1.0]), np.eye(3), 3.0, 3)
    rho_r, rho = np.array([1.1, 2.2, 3.3]), np.array([0.3, 0.1, 0.02])
    diag = Diagnostics()
    p = _with_tabulated_profiles(DescriptorParams(), MeasureOptions(), diag, {}, (
        ("C_profile", "C(r)", bad, r, osc, None),
        ("s_profile", "s(r)", good, r, osc, None),
        ("rho_profile", "rho(r)", bad, rho_r, rho, 1.0),
    ))
    assert p.C_profile == Tabulated(r, osc, "linear", "zero") and p.s_profile is None
    assert p.rho_profile.r == (0.0, 1.1, 2.2, 3.3) and p.rho_profile.value == (1.0, 0.3, 0.1, 0.02)
    assert p.C0 == 1.0
    # never, and a user-fixed form, keep the almost-exponential numbers
    q = _with_tabulated_profiles(DescriptorParams(), MeasureOptions(tabulate_profiles="never"), diag, {},
                                 (("C_profile", "C(r)", bad, r, osc, None),))
    assert q.C_profile is None
    q = _with_tabulated_profiles(DescriptorParams(), MeasureOptions(), diag, {"xi": 1.0},
                                 (("C_profile", "C(r)", bad, r, osc, None),))
    assert q.C_profile is None


def test_rate_table_holds_the_per_temperature_fits():
    fits = [FitResult(("lnA", "gamma", "delta"), np.array([math.log(a), g, dl]), np.eye(3), 1.0, 3)
            for a, g, dl in ((1e-3, 0.5, 0.02), (1e-2, 0.3, 0.01))]
    p = _with_rate_table(DescriptorParams(), np.array([0.45, 0.6]), fits, np.array([4.1, 3.9]), Diagnostics())
    t = p.rate_table
    assert t.T == (0.45, 0.6) and t.A == pytest.approx((1e-3, 1e-2), rel=1e-14)
    assert t.gamma == (0.5, 0.3) and t.delta == (0.02, 0.01) and t.d == (4.1, 3.9)


# --- end to end on data from a model whose C(r) is not almost exponential -------------------
OSC = json.dumps(dict(kind="damped-oscillation", at_zero=1.0, amplitude=2.0, length=0.6, wavelength=5.0, phase=-0.6))
TEMPS = (0.45, 0.55)


@pytest.fixture(scope="module")
def oscillating(tmp_path_factory, roundtrip_params):
    data, models = [], []
    for i, T in enumerate(TEMPS):
        m = compose(descriptor="softness-kalj", size=8, cluster="single", temperature=T,
                    params={"C_profile": OSC, "e0": 3.0, "Sigma0": 2.5})
        models.append(m)
        data.append(concat([lattice_data(m, 300, seed=77 + 10 * i + r) for r in range(4)]))
    res = measure(data, MeasureOptions(cluster="single", far_r=4.0))
    paths = write_outputs(res, tmp_path_factory.mktemp("measure_forms"))
    return res, models, paths


def test_measure_tabulates_a_non_exponential_correlation(oscillating):
    res, models, paths = oscillating
    assert poor_fit(res.correlation_fit, res.options)
    prof = res.params.C_profile
    assert isinstance(prof, Tabulated)
    # the shells are the measured C(r): compare with the model's C at the shell radii that
    # are lattice distances (bins of width 0.25 holding one lattice shell each)
    truth = models[0].params.correlation
    cp = res.correlation_pooled
    r = np.asarray(prof.r)
    for a, want in ((0.0, 1.0), (1.1, float(truth(1.1))), (1.1 * math.sqrt(2), float(truth(1.1 * math.sqrt(2))))):
        k = int(np.argmin(np.abs(r - a)))
        assert abs(r[k] - a) < 0.15
        err = float(cp.error[np.argmin(np.abs(cp.r - r[k]))])
        assert abs(prof.value[k] - want) < 3 * err + 0.03, (a, prof.value[k], want, err)
    p = read_params_toml(paths["params"])
    assert p.C_profile == prof and p.rate_table == res.params.rate_table


def test_written_rate_table_composes_with_the_per_temperature_law(oscillating):
    res, models, paths = oscillating
    t = res.params.rate_table
    assert t.T == TEMPS
    for T, f in zip(TEMPS, res.per_t):
        m = compose(descriptor="gaussian", params=paths["params"], cluster="single", size=6, temperature=T,
                    rate="per-temperature")
        assert math.log(m.observed.A) == pytest.approx(f["lnA"], rel=1e-12)
        assert m.observed.gamma == pytest.approx(f["gamma"], rel=1e-12)
        # and the measured law is the model's within the fit's error (+ the known biases, see test_roundtrip)
        true = models[TEMPS.index(T)].observed
        assert abs(m.observed.gamma - true.gamma) < 3 * f.err("gamma") + 0.05
