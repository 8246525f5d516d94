"""Two-body excess entropy per particle (Piaggi and Parrinello's local form).

g_i(r) = 1 / (4 pi rho r^2) sum_j exp(-(r - r_ij)^2 / (2 s^2)) / sqrt(2 pi s^2)   (3D; 2 pi rho r in 2D)
s2_i   = -2 pi rho int_0^{r_m} [g_i ln g_i - g_i + 1] r^2 dr                      (-pi rho int ... r dr in 2D)

rho = N / V (all species), k_B = 1; the integral is the trapezoid rule on
r_k = k dr, k = 0..n_bins, dr = r_m / n_bins (where g_i = 0 the integrand is r^2).
"""
from __future__ import annotations

import math

import attrs
import numba
import numpy as np

from trsp_core.errors import ParameterError
from trsp_core.plugin.interfaces import ComputedDescriptor
from trsp_core.validators import parameter
from descriptors.structural._neighbours import NEIGHBOUR_BACKENDS, csr, neighbour_pairs

GAUSS_WIDTHS = 5.0  # pairs farther than 5 s from a grid point add < exp(-12.5) ~ 4e-6 of the peak there


@attrs.frozen
class EntropyParams:
    """``r_max``: upper limit r_m of the integral (sigma_AA); ``sigma``: Gaussian width s of each
    pair's contribution to g_i(r); ``n_bins``: integration intervals on [0, r_m];
    ``neighbours``: the pair search, freud (AABB query) or scipy (periodic cKDTree), same pairs."""

    r_max: float = attrs.field(default=3.0, converter=float, validator=parameter.positive)
    sigma: float = attrs.field(default=0.1, converter=float, validator=parameter.positive)
    n_bins: int = attrs.field(default=300, converter=int, validator=parameter.positive)
    neighbours: str = attrs.field(default="freud", validator=attrs.validators.in_(NEIGHBOUR_BACKENDS))

    def __attrs_post_init__(self):
        if self.r_max / self.n_bins > self.sigma / 2:
            raise ParameterError(f"parameter 'n_bins'={self.n_bins} too small: the grid step r_max/n_bins = "
                                 f"{self.r_max / self.n_bins:g} must be <= sigma/2 = {self.sigma / 2:g}")


@numba.njit(cache=True, parallel=True)
def _s2_kernel(offsets, dist, n, r_grid, weights, sigma, rho, dim):  # pragma: no cover - numba
    out = np.empty(n)
    nb = r_grid.size
    dr = r_grid[1] - r_grid[0]
    reach = GAUSS_WIDTHS * sigma
    norm = 1.0 / math.sqrt(2.0 * math.pi * sigma * sigma)
    delta = dr / sigma
    m_max = int(math.ceil(2 * reach / dr)) + 2
    c = np.empty(m_max + 1)
    for m in range(m_max + 1):
        c[m] = math.exp(-0.5 * m * m * delta * delta)
    for i in numba.prange(n):
        h = np.zeros(nb)
        for p in range(offsets[i], offsets[i + 1]):
            d = dist[p]
            lo = max(0, int(math.floor((d - reach) / dr)))
            hi = min(nb - 1, int(math.ceil((d + reach) / dr)))
            # Gaussian recurrence on the grid: x_m = x0 + m delta,
            # exp(-x_m^2/2) = exp(-x0^2/2) exp(-x0 delta)^m exp(-m^2 delta^2/2): two exp per pair
            x0 = (r_grid[lo] - d) / sigma
            g0 = norm * math.exp(-0.5 * x0 * x0)
            q = math.exp(-x0 * delta)
            qm = 1.0
            for k in range(lo, hi + 1):
                h[k] += g0 * qm * c[k - lo]
                qm *= q
        acc = 0.0
        for k in range(nb):
            r = r_grid[k]
            shell = 4.0 * math.pi * rho * r * r if dim == 3 else 2.0 * math.pi * rho * r
            if h[k] > 0.0 and shell > 0.0:
                g = h[k] / shell
                f = g * math.log(g) - g + 1.0
            else:
                f = 1.0
            acc += weights[k] * f * (r * r if dim == 3 else r)
        out[i] = -(2.0 * math.pi if dim == 3 else math.pi) * rho * acc
    return out


class ExcessEntropy(ComputedDescriptor):
    """Local two-body excess entropy s2: how much the particle's own g(r) is more structured than an ideal gas."""

    name = "s2"
    description = "local two-body excess entropy s2 (Piaggi-Parrinello); S = +s2 standardised (disordered = soft)"
    Params = EntropyParams
    sign = 1
    sign_known = False
    libraries = ("freud-analysis", "numba")

    def grid(self):
        p = self.params
        r = np.linspace(0.0, p.r_max, p.n_bins + 1)
        w = np.full(r.size, r[1] - r[0])
        w[0] = w[-1] = 0.5 * (r[1] - r[0])
        return r, w

    def compute_frame(self, box, positions, types):
        p = self.params
        box = np.asarray(box, float)
        n, dim = positions.shape
        i, j, _, dist = neighbour_pairs(box, positions, p.r_max + GAUSS_WIDTHS * p.sigma, backend=p.neighbours,
                                        sort_j=False)
        offsets, _ = csr(i, j, n)
        rho = n / float(np.prod(box))
        r, w = self.grid()
        return _s2_kernel(offsets, np.ascontiguousarray(dist), n, r, w, p.sigma, rho, dim)
