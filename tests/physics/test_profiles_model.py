"""Issue 14 acceptance: a tabulated profile sampled from the almost-exponential one is the
same model (kernels and bare law to 1e-12) with the same event log; temperature-dependent
statics are used consistently (and checked) at every temperature."""
import json

import numpy as np
import pytest

from profile_forms import FORMS
from trsp_core.backends.simulate import simulate
from trsp_core.errors import ParameterError
from trsp_core.physics.clusters import kick_distances
from trsp_core.physics.params import DescriptorParams
from trsp_core.plugin.registry import default_registry
from trsp_core.spec import compose

LOG = ("times", "clusters", "s_before", "s_after")
OPTS = dict(size=6, temperature=0.6)


def _lattice_shells(size, rule="nearest", cluster="plaquette"):
    """Every distance the model evaluates a profile at (stencil, dense matrix, kick distances)."""
    reg = default_registry()
    lat = reg.get("lattice", "cubic")(size, DescriptorParams().a)
    d = [lat.stencil_distances().ravel(), lat.distance_matrix().ravel()]
    for offs in reg.get("cluster", cluster).orientations(lat):
        d.append(kick_distances(lat, offs, rule))
    return np.unique(np.concatenate(d))


def _table(f, r):
    return json.dumps(dict(kind="tabulated", r=list(r), value=list(f(r)), interpolation="linear", extrapolate="zero"))


def _sampled_forms(size):
    p = DescriptorParams()
    r = _lattice_shells(size)
    return dict(C_profile=_table(p.correlation, r), s_profile=_table(p.kick_std, r),
                rho_profile=_table(p.kick_correlation, r))


def _assert_same_model(a, b, tol):
    for k in ("A0", "gamma0", "delta0", "d"):
        assert getattr(b.bare, k) == pytest.approx(getattr(a.bare, k), rel=tol, abs=tol)
    assert b.params.C0 == a.params.C0
    np.testing.assert_allclose(b.spectrum, a.spectrum, rtol=0, atol=tol)
    for o in range(len(a.orientations)):
        wa, wb = a.window_kernel(o), b.window_kernel(o)
        np.testing.assert_array_equal(wa.window, wb.window)
        for k in ("G", "noise", "K_delta", "mu_prime"):
            np.testing.assert_allclose(getattr(wb, k), getattr(wa, k), rtol=0, atol=tol, err_msg=k)
        da, db = a.dense_kernel(o), b.dense_kernel(o)
        for k in ("H", "K_prime", "K_delta", "mu_prime"):
            np.testing.assert_allclose(getattr(db, k), getattr(da, k), rtol=0, atol=tol, err_msg=k)


def test_tabulated_at_the_lattice_shells_is_the_same_model_and_event_log():
    a = compose(**OPTS)
    b = compose(**OPTS, params=_sampled_forms(OPTS["size"]))
    assert b.params.C_profile is not None and b.params.C_profile.kind == "tabulated"
    _assert_same_model(a, b, 1e-12)
    ra = simulate(a, 600.0, 11, backend="fast")
    rb = simulate(b, 600.0, 11, backend="fast")
    assert ra.n_events > 200
    for k in LOG:  # identical, not close: the table returns the same numbers at every shell
        assert np.array_equal(getattr(ra, k), getattr(rb, k)), k


def test_log_linear_table_on_coarse_shells_is_the_same_model_to_1e12():
    """The defaults sampled every 0.55 sigma (not at the lattice shells), log-linear with an
    exponential tail: exact for an exponential up to rounding."""
    a = compose(**OPTS)
    b = compose(**OPTS, params=FORMS["tabulated-exact"])
    _assert_same_model(a, b, 1e-12)
    ra = simulate(a, 400.0, 5, backend="fast")
    rb = simulate(b, 400.0, 5, backend="fast")
    assert ra.n_events > 100
    np.testing.assert_array_equal(ra.clusters, rb.clusters)
    np.testing.assert_allclose(rb.times, ra.times, rtol=1e-9)
    np.testing.assert_allclose(rb.s_after, ra.s_after, rtol=0, atol=1e-9)


def test_a_different_table_is_a_different_model():
    """Power of the comparison above: the coarse linear table changes the kernels."""
    a = compose(**OPTS)
    b = compose(**OPTS, params=FORMS["tabulated-coarse"])
    with pytest.raises(AssertionError):
        _assert_same_model(a, b, 1e-6)


def test_temperature_dependent_statics_at_each_temperature():
    f = FORMS["xi-of-T"]
    for T in (0.45, 0.6, 0.7):
        m = compose(size=5, temperature=T, params=f)
        xi, c1 = 0.55 + 0.25 / T, 0.9 + 0.165 / T
        # the model's C(r) is the law at its own T: sampling, conditioning, geometry, kicks
        assert m.params.correlation(1.1) == pytest.approx(c1 * np.exp(-1.1 / xi), rel=1e-14)
        ref = compose(size=5, temperature=T, params={"C1": c1, "xi": xi, "mu_a": 0.0, "mu_b": 0.0})
        assert m.geometry.K_RR == pytest.approx(ref.geometry.K_RR, rel=1e-13)
        np.testing.assert_allclose(m.window_kernel(0).G, ref.window_kernel(0).G, atol=1e-12)
        np.testing.assert_allclose(m.spectrum, ref.spectrum, atol=1e-12)
        assert m.mu == pytest.approx(np.interp(1 / T, [1 / 0.8, 1 / 0.6, 1 / 0.5, 1 / 0.4],
                                               [-0.05, -0.47, -0.8, -1.3]), rel=1e-12)


def test_quench_start_uses_the_initial_temperatures_statics():
    """sample_equilibrium(T_I) draws with mu(T_I) and C(r; T_I), not the model's."""
    m = compose(size=8, temperature=0.7, params=FORMS["xi-of-T"])
    cold = compose(size=8, temperature=0.45, params=FORMS["xi-of-T"])
    a = m.sample_equilibrium(np.random.default_rng(3), 0.45)
    b = cold.sample_equilibrium(np.random.default_rng(3))
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    # and the model's own temperature gives its own statics
    c = m.sample_equilibrium(np.random.default_rng(3))
    assert not np.allclose(a, c)


def test_quench_from_a_temperature_whose_covariance_is_invalid_is_refused():
    m = compose(size=6, temperature=0.6, params=FORMS["per-temperature"])
    with pytest.raises(ParameterError, match="per-temperature profile is tabulated for T in \\[0.45, 0.7\\]"):
        m.sample_equilibrium(np.random.default_rng(0), 0.3)


def test_every_temperature_is_checked():
    """A C(r; T) valid at one temperature and not positive definite at another: the
    model at the bad temperature is refused with the spectrum error naming T."""
    bad = json.dumps(dict(kind="almost-exponential", at_zero=1.0, amplitude={"a": -2.0, "b": 1.6}, length=1.5))
    compose(size=6, temperature=0.8, params={"C_profile": bad})  # C1 = 0: valid
    with pytest.raises(ParameterError, match=r"covariance C\(r\) \(C_profile=almost-exponential.*T=0.4.*not positive "
                                             r"definite"):
        compose(size=6, temperature=0.4, params={"C_profile": bad})  # C1 = 2, xi = 1.5


def test_open_run_rebuilds_a_temperature_dependent_model(tmp_path):
    import trsp_core as trsp

    model = compose(size=4, temperature=0.55, params=FORMS["per-temperature"], cluster="single")
    ds = model.run(seeds=1, duration=5.0, observables=())
    path = tmp_path / "r.nc"
    ds.to_netcdf(path)
    back, _ = trsp.open_run(path)
    assert back.params == model.params
    np.testing.assert_array_equal(back.spectrum, model.spectrum)
