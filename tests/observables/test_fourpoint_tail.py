"""infinite_chi4: lattice sum with a continuum tail, against the brute-force sum."""
import numpy as np
import pytest

from trsp_core.observables.fourpoint import infinite_chi4


def _brute(g0, g1, xi, a, dim):
    n = int(np.ceil(40 * xi / a)) + 1
    ax = np.arange(-n, n + 1) * a
    r = np.sqrt(sum(g**2 for g in np.meshgrid(*([ax] * dim), indexing="ij")))
    return g0 + g1 * np.exp(-r[r > 0] / xi).sum()


@pytest.mark.parametrize("xi", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("dim", [2, 3])
def test_matches_brute_force(xi, dim):
    assert infinite_chi4(1.0, 0.5, xi, 1.1, dim) == pytest.approx(_brute(1.0, 0.5, xi, 1.1, dim), rel=1e-7)


def test_huge_xi_is_finite_and_cheap():
    # an unconstrained block-scaling fit can return xi of many box sizes (was a 245 GiB grid)
    v = infinite_chi4(1.0, 0.5, 44.0, 1.1, 3)
    continuum = 1.0 + 0.5 * 8 * np.pi * 44.0**3 / 1.1**3
    assert v == pytest.approx(continuum, rel=0.05)
