"""FFT sampling of Normal(mu, K) on periodic lattices."""
import numpy as np
import pytest

from trsp_core.physics import gaussian
from trsp_core.errors import ParameterError
from trsp_core.physics.lattice import HypercubicLattice
from trsp_core.physics.params import AlmostExponential


@pytest.mark.parametrize("shape", [(6, 6, 6), (10, 10)])
def test_sampler_covariance(shape):
    lat = HypercubicLattice(shape, 1.1)
    C = AlmostExponential(1.0, 1.2, 1.0)
    lam = gaussian.spectrum(lat, C)
    K = gaussian.dense(lat, C)
    rng = np.random.default_rng(7)
    n = 4000
    X = gaussian.sample(lam, 0.3, rng, size=n)
    # mean
    sem = np.sqrt(K.sum() / lat.n_sites**2 / n)  # Var of the lattice mean = 1^T K 1 / N^2
    assert abs(X.mean() - 0.3) < 4 * sem
    # covariance of a few site pairs, each an independent estimate over samples
    Y = X - 0.3
    for j in [0, 1, lat.index(np.array([1] * len(shape))), lat.n_sites // 2]:
        prod = Y[:, 0] * Y[:, j]
        err = prod.std(ddof=1) / np.sqrt(n)
        assert abs(prod.mean() - K[0, j]) < 4.5 * err, (j, prod.mean(), K[0, j], err)


def test_spectrum_is_the_dense_eigenvalues():
    lat = HypercubicLattice((5, 5, 5), 1.1)
    C = AlmostExponential(1.0, 1.2, 1.0)
    lam = np.sort(gaussian.spectrum(lat, C).ravel())
    np.testing.assert_allclose(lam, np.linalg.eigvalsh(gaussian.dense(lat, C)), atol=1e-10)


def test_inverse_stencil_is_dense_inverse():
    lat = HypercubicLattice((6, 6), 1.1)
    C = AlmostExponential(1.0, 1.2, 1.0)
    kinv = gaussian.stencil(gaussian.spectrum(lat, C), -1.0)
    np.testing.assert_allclose(kinv, np.linalg.inv(gaussian.dense(lat, C))[:, 0], atol=1e-10)
    x = np.random.default_rng(0).normal(size=lat.n_sites)
    np.testing.assert_allclose(gaussian.apply(gaussian.spectrum(lat, C), x), gaussian.dense(lat, C) @ x, atol=1e-10)


def test_non_positive_spectrum_is_a_clear_error():
    lat = HypercubicLattice((8, 8, 8), 1.0)
    lam = gaussian.spectrum(lat, AlmostExponential(1.0, 6.0, 2.0))
    with pytest.raises(ParameterError, match="C\\(r\\) test is not positive definite on this lattice: smallest eigenvalue"):
        gaussian.check_spectrum(lam, "C(r) test")
