"""The kick instrument (softness change around a rearrangement) against dense linear algebra."""
import attrs
import numpy as np
import pytest

from trsp_core.observables import SoftnessChange
from trsp_core.observables import kicks as sc
from trsp_core.spec import compose
from trsp_core.validation import checks


@pytest.fixture(scope="module")
def model():
    return compose(size=5, temperature=0.55)


def test_conditioned_samples_have_conditioned_moments(model):
    rng = np.random.default_rng(0)
    k = model.dense_kernel(1)
    S = sc.conditioned_samples(model, 1, 40000, rng)
    se_mean = np.sqrt(np.diag(k.K_prime) / len(S))
    assert np.max(np.abs(S.mean(0) - k.mu_prime) / se_mean) < 4.5
    # Variances: se of a sample variance is sqrt(2/n) var for Gaussian data.
    var = S.var(0, ddof=1)
    assert np.max(np.abs(var / np.diag(k.K_prime) - 1) / np.sqrt(2 / len(S))) < 4.5


def test_window_mean_equals_dense_h(model):
    rng = np.random.default_rng(1)
    for o in range(len(model.orientations)):
        k = model.dense_kernel(o)
        S = sc.conditioned_samples(model, o, 4, rng)
        w, mean = sc.kick_mean(model, o, S)
        full = (k.H @ (k.mu_prime[:, None] - S.T)).T
        np.testing.assert_allclose(mean, full[:, w], atol=1e-10)
        assert np.abs(np.delete(full, w, axis=1)).max() < 1e-10


def test_exchangeability_holds_and_detects_overshooting_kernel(model):
    ds = SoftnessChange(n_samples=6000, seed=3).compute(model)
    assert checks.kick_exchangeability(ds).passed
    assert checks.kick_variance(ds).passed
    win = {o: attrs.evolve(model.window_kernel(o), G=1.2 * model.window_kernel(o).G) for o in range(3)}
    broken = compose(size=5, temperature=0.55)
    broken.window_kernel = win.__getitem__
    bad = SoftnessChange(n_samples=6000, seed=3).compute(broken)
    assert not checks.kick_exchangeability(bad).passed
    # The noise is untouched, so the conditional variance still matches s(r): the check is specific.
    assert checks.kick_variance(bad).passed


def test_kick_variance_detects_wrong_noise(model):
    win = {o: attrs.evolve(model.window_kernel(o), noise=1.1 * model.window_kernel(o).noise) for o in range(3)}
    broken = compose(size=5, temperature=0.55)
    broken.window_kernel = win.__getitem__
    assert not checks.kick_variance(SoftnessChange(n_samples=6000, seed=3).compute(broken)).passed
