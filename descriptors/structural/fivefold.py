"""Local five-fold order: the fraction of a particle's bonds with the 1551 common-neighbour signature.

Bond i-j (both within ``r_max`` of each other) is 1551 (Honeycutt-Andersen)
when i and j share exactly five neighbours and those five, bonded among
themselves with the same cutoff, form one ring (five bonds, each of the five
bonded to exactly two others). f5(i) = n_1551(i) / n_bonds(i): 1 at the centre
of a perfect icosahedron, 0 in FCC, HCP and BCC; NaN for a particle without bonds.
"""
from __future__ import annotations

import attrs
import numba
import numpy as np

from trsp_core.plugin.interfaces import ComputedDescriptor
from trsp_core.validators import parameter
from descriptors.structural._neighbours import NEIGHBOUR_BACKENDS, csr, neighbour_pairs


@attrs.frozen
class FiveFoldParams:
    """``r_max``: the bond cutoff (sigma_AA), species-blind (default 1.4, the first minimum of the
    KA liquid's total g(r) at density 1.2); ``neighbours``: freud (AABB query) or scipy (cKDTree)."""

    r_max: float = attrs.field(default=1.4, converter=float, validator=parameter.positive)
    neighbours: str = attrs.field(default="freud", validator=attrs.validators.in_(NEIGHBOUR_BACKENDS))


@numba.njit(cache=True)
def _contains(nbrs, lo, hi, x):  # pragma: no cover - numba; sorted nbrs[lo:hi]
    a, b = lo, hi
    while a < b:
        m = (a + b) // 2
        if nbrs[m] < x:
            a = m + 1
        else:
            b = m
    return a < hi and nbrs[a] == x


@numba.njit(cache=True, parallel=True)
def _fivefold_kernel(offsets, nbrs, n):  # pragma: no cover - numba
    out = np.empty(n)
    for i in numba.prange(n):
        a0, a1 = offsets[i], offsets[i + 1]
        if a1 == a0:
            out[i] = np.nan
            continue
        common = np.empty(a1 - a0, np.int64)
        n1551 = 0
        for p in range(a0, a1):
            j = nbrs[p]
            b0, b1 = offsets[j], offsets[j + 1]
            # common neighbours: merge of the sorted lists of i and j
            nc = 0
            x, y = a0, b0
            while x < a1 and y < b1:
                if nbrs[x] == nbrs[y]:
                    common[nc] = nbrs[x]
                    nc += 1
                    x += 1
                    y += 1
                elif nbrs[x] < nbrs[y]:
                    x += 1
                else:
                    y += 1
            if nc != 5:
                continue
            ring = True
            for u in range(5):
                c = common[u]
                deg = 0
                for v in range(5):
                    if v != u and _contains(nbrs, offsets[c], offsets[c + 1], common[v]):
                        deg += 1
                if deg != 2:
                    ring = False
                    break
            if ring:
                n1551 += 1
        out[i] = n1551 / (a1 - a0)
    return out


class FiveFold(ComputedDescriptor):
    """Fraction of the particle's bonds that are 1551 (five-fold, icosahedral-like) bonds."""

    name = "fivefold"
    description = "local five-fold order: fraction of 1551 bonds; S = -f5 standardised (icosahedral = slow)"
    Params = FiveFoldParams
    sign = -1
    sign_known = True
    libraries = ("freud-analysis", "numba")

    def compute_frame(self, box, positions, types):
        n = positions.shape[0]
        i, j, _, _ = neighbour_pairs(box, positions, self.params.r_max, backend=self.params.neighbours)
        offsets, nbrs = csr(i, j, n)
        return _fivefold_kernel(offsets, nbrs, n)
