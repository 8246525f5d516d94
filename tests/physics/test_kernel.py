"""The detailed-balance constructor against independent dense linear algebra."""
import numpy as np
import pytest
import scipy.linalg

from trsp_core.physics import gaussian
from trsp_core.spec import compose
from trsp_core.physics.kernel import conditioned_moments
from trsp_core.errors import ParameterError
from profile_forms import FORMS

COMPOSITIONS = [
    dict(cluster="plaquette", delta_rule="nearest"),
    dict(cluster="plaquette", delta_rule="center-of-mass"),
    dict(cluster="single", delta_rule="nearest"),
    dict(cluster="bond", delta_rule="center-of-mass"),
    dict(cluster="plaquette", delta_rule="nearest", lattice="square", size=8),
    dict(cluster="plaquette", delta_rule="nearest", facilitation=0.2, temperature=0.45),
    # Bravais lattices beyond hypercubic, with the rules defined on them
    dict(cluster="tetrahedron", delta_rule="nearest", lattice="fcc"),
    dict(cluster="tetrahedron", delta_rule="center-of-mass", lattice="fcc", size=4),
    dict(cluster="bond", delta_rule="center-of-mass", lattice="fcc", size=4),
    dict(cluster="single", delta_rule="nearest", lattice="bcc"),
    dict(cluster="bond", delta_rule="nearest", lattice="bcc"),
    dict(cluster="triangle", delta_rule="nearest", lattice="triangular", size=8),
    dict(cluster="triangle", delta_rule="center-of-mass", lattice="triangular", size=8),
    dict(cluster="bond", delta_rule="nearest", lattice="triangular", size=8),
    # weighted mixtures of cluster rules: one bare law and one kernel per channel
    dict(cluster="single:0.3+plaquette:0.7", delta_rule="nearest"),
    dict(cluster="bond:0.5+plaquette:0.5", delta_rule="center-of-mass", size=6),
    dict(cluster="single:0.4+triangle:0.6", delta_rule="nearest", lattice="triangular", size=8),
    # functional forms (issue 14): tabulated, damped oscillation, xi(T) and mu(T), C(r; T) per temperature
    *[dict(cluster="plaquette", delta_rule="nearest", params=f) for f in FORMS.values()],
    dict(cluster="bond", delta_rule="center-of-mass", params=FORMS["tabulated-coarse"]),
    dict(cluster="tetrahedron", delta_rule="nearest", lattice="fcc", params=FORMS["damped-oscillation"]),
    dict(cluster="single", delta_rule="nearest", temperature=0.45, params=FORMS["per-temperature"]),
]


def _model(**kw):
    opts = dict(size=5, temperature=0.55)
    opts.update(kw)
    return compose(**opts)


@pytest.mark.parametrize("opts", COMPOSITIONS)
def test_kernel_identities(opts):
    m = _model(**opts)
    for o in range(len(m.orientations)):
        k = m.dense_kernel(o)
        one = np.eye(m.n_sites)
        # K_Delta = (2 - H) H K'  and  (1 - H) K' symmetric: the two faces of detailed balance.
        np.testing.assert_allclose((2 * one - k.H) @ k.H @ k.K_prime, k.K_delta, atol=1e-10)
        A = (one - k.H) @ k.K_prime
        np.testing.assert_allclose(A, A.T, atol=1e-10)
        # H is the principal square-root construction (independent route: scipy's sqrtm).
        M = k.K_delta @ np.linalg.inv(k.K_prime)
        H_ref = one - scipy.linalg.sqrtm(one - M).real
        np.testing.assert_allclose(k.H, H_ref, atol=1e-8)
        np.testing.assert_allclose(k.noise @ k.noise.T, k.K_delta, atol=1e-10)


@pytest.mark.parametrize("opts", COMPOSITIONS)
def test_conditioning_matches_brute_force(opts):
    """K', mu' from Sherman-Morrison equal the tilted Gaussian computed with dense inverses."""
    m = _model(**opts)
    K = gaussian.dense(m.lattice, m.params.correlation)
    Kinv = np.linalg.inv(K)
    for ch in m.channels:  # each channel conditions on its own bare law
        o = int(ch.orientations[0])
        b = m.bare_of(o)
        k = m.dense_kernel(o)
        u = k.u
        assert np.count_nonzero(u) == ch.m
        # exp(gamma0 u.S - delta0 (u.S)^2) N(S; mu, K): precision K^-1 + 2 delta0 u u^T,
        # linear term K^-1 mu + gamma0 u.
        prec = Kinv + 2 * b.delta0 * np.outer(u, u)
        Kp = np.linalg.inv(prec)
        mup = Kp @ (Kinv @ np.full(m.n_sites, m.mu) + b.gamma0 * u)
        np.testing.assert_allclose(k.K_prime, Kp, atol=1e-10)
        np.testing.assert_allclose(k.mu_prime, mup, atol=1e-10)
        Kp2, mup2 = conditioned_moments(K, u, m.mu, b.gamma0, b.delta0)
        np.testing.assert_allclose(Kp2, Kp, atol=1e-10)


@pytest.mark.parametrize("opts", COMPOSITIONS)
def test_window_kernel_rows_match_dense(opts):
    m = _model(**dict(opts, size=opts.get("size", 7)))
    for o in range(len(m.orientations)):
        w = m.window_kernel(o)
        d = m.dense_kernel(o)
        np.testing.assert_allclose(w.h_rows(m), d.H[w.window], atol=1e-10)
        outside = np.setdiff1d(np.arange(m.n_sites), w.window)
        assert np.abs(d.H[outside]).max(initial=0.0) < 1e-10
        np.testing.assert_allclose(w.noise @ w.noise.T, d.K_delta[np.ix_(w.window, w.window)], atol=1e-10)
        assert abs(w.b_max - d.b_max) < 1e-9


def test_default_feasibility_margin_matches_model_notes():
    # MODEL.md reports max eig(K_Delta K'^-1) ~ 0.62 for the illustrative defaults.
    for T in (0.38, 0.55, 0.8):
        b = _model(size=8, temperature=T).check_feasible()
        assert 0.55 < b < 0.7


def test_trap_model_is_full_reset():
    m = compose(descriptor="trap", cluster="single", size=4, temperature=0.5)
    k = m.dense_kernel(0)
    expected = np.zeros((m.n_sites, m.n_sites))
    expected[0, 0] = 1.0
    np.testing.assert_allclose(k.H, expected, atol=1e-8)
    # m = 1: the bare law is the observed law (z = 1, kappa = 1, v = 0).
    assert m.geometry.z == 1
    assert abs(m.bare.gamma0 - m.observed.gamma) < 1e-12 and abs(m.bare.A0 - m.observed.A) < 1e-12
    # the new value is drawn from the conditioned law N(mu'_0, K'_00)
    assert abs(k.K_delta[0, 0] - k.K_prime[0, 0]) < 1e-12


# --- every validity condition raises a clear error ---------------------------------
def _params_file(tmp_path, **kw):
    lines = [f"{k} = {v}" for k, v in kw.items()]
    p = tmp_path / "p.toml"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_error_non_positive_covariance(tmp_path):
    with pytest.raises(ParameterError, match=r"covariance C\(r\).*C1=6.0.*not positive definite"):
        compose(size=6, params=_params_file(tmp_path, C1=6.0, xi=2.0))


def test_error_rho_not_psd(tmp_path):
    with pytest.raises(ParameterError, match=r"kick correlation rho\(r\).*p1=3.0"):
        compose(size=6, params=_params_file(tmp_path, p1=3.0, xi_rho=1.5))


def test_error_infeasible_kick(tmp_path):
    with pytest.raises(ParameterError, match=r"infeasible K_Delta.*largest eigenvalue.*> 1"):
        compose(size=6, params=_params_file(tmp_path, s0=2.0)).check_feasible()


def test_error_unnormalisable_rate(tmp_path):
    # e2 < 0 below T0 makes delta0 < 0: 1 + 2 delta0 K_RR <= 0 for large |e2|.
    with pytest.raises(ParameterError, match=r"(1 \+ 2\*delta0\*K_RR|kappa\^2 - 2 delta v|D = 1 \+ 2\*delta0\*v)"):
        compose(size=6, temperature=0.4, params=_params_file(tmp_path, e2=-5.0))


def test_error_bad_temperature_and_facilitation():
    with pytest.raises(ParameterError, match="temperature must be > 0"):
        compose(size=4, temperature=-1.0)
    with pytest.raises(ParameterError, match="facilitation factor c must be > 0"):
        compose(size=4, facilitation=0.0)
    with pytest.raises(ParameterError, match="unknown delta rule 'far'.*nearest, center-of-mass"):
        compose(size=4, delta_rule="far")
