"""s2 (local two-body excess entropy) against a direct numpy loop and two analytic cases."""
import math

import numpy as np
import pytest

from descriptors.structural import ExcessEntropy
from trsp_core.errors import ParameterError


def direct_s2(box, pos, r_max, sigma, n_bins):
    """Every pair by brute force (minimum image), the Gaussian-smeared g_i(r) on the grid, trapezoid rule."""
    n = len(pos)
    rho = n / np.prod(box)
    r = np.linspace(0.0, r_max, n_bins + 1)
    out = np.empty(n)
    for i in range(n):
        d = pos - pos[i]
        d -= box * np.round(d / box)
        dist = np.linalg.norm(d, axis=1)
        dist = dist[np.arange(n) != i]
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.exp(-0.5 * ((r[:, None] - dist[None]) / sigma) ** 2).sum(axis=1) / math.sqrt(2 * math.pi * sigma ** 2)
            g = g / (4 * math.pi * rho * r ** 2)
            f = np.where(g > 0, g * np.log(np.where(g > 0, g, 1)) - g + 1, 1.0)
        f[0] = 1.0
        out[i] = -2 * math.pi * rho * np.trapezoid(f * r ** 2, r)
    return out


@pytest.mark.parametrize("neighbours", ["freud", "scipy"])
def test_matches_direct_loop(neighbours):
    rng = np.random.default_rng(5)
    box = np.full(3, 7.5)
    cells = np.array([[i, j, k] for i in range(5) for j in range(5) for k in range(5)], float) * 1.5
    pos = cells + rng.normal(0, 0.2, cells.shape)
    got = ExcessEntropy({"r_max": 3.0, "sigma": 0.1, "n_bins": 300, "neighbours": neighbours}).raw((box, pos))[0]
    ref = direct_s2(box, pos, 3.0, 0.1, 300)
    assert np.std(ref) > 0.05
    # the kernel drops pair contributions beyond 5 sigma from a grid point (< 4e-6 of the peak)
    np.testing.assert_allclose(got, ref, rtol=0, atol=2e-5)


def test_isolated_particles_give_minus_the_ideal_gas_integral():
    """No neighbour within r_m: g = 0, integrand 1, s2 = -(2 pi / 3) rho r_m^3."""
    box = np.full(3, 10.0)
    pos = np.array([[1.0, 1.0, 1.0], [6.0, 6.0, 6.0]])
    s = ExcessEntropy({"r_max": 3.0, "sigma": 0.1, "n_bins": 300}).raw((box, pos))[0]
    # trapezoid rule on r^2: relative error dr^2 / (2 r_m^2) ~ 6e-6
    assert np.allclose(s, -2 * math.pi / 3 * (2 / 1000) * 27, rtol=1e-5, atol=0)


def test_one_neighbour_analytic():
    """One neighbour at d with a narrow Gaussian:
    s2 = -(2 pi/3) rho r_m^3 + (1/2) [1 + (1/2) ln(2 pi e sigma^2) + ln(4 pi rho d^2)] + O(sigma^2/d^2)."""
    box, d, sigma, rm = np.full(3, 10.0), 1.5, 0.02, 3.0
    pos = np.array([[2.0, 2.0, 2.0], [2.0 + d, 2.0, 2.0]])
    s = ExcessEntropy({"r_max": rm, "sigma": sigma, "n_bins": 3000}).raw((box, pos))[0]
    rho = 2 / 1000
    expected = -2 * math.pi / 3 * rho * rm ** 3 + 0.5 * (
        1 + 0.5 * math.log(2 * math.pi * math.e * sigma ** 2) + math.log(4 * math.pi * rho * d ** 2))
    assert np.allclose(s, expected, atol=1e-3) and abs(expected) > 1


def test_grid_must_resolve_the_gaussian():
    with pytest.raises(ParameterError, match="n_bins"):
        ExcessEntropy({"sigma": 0.1, "n_bins": 10})
