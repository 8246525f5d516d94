"""Built-in cluster rules: single sites (m=1), nearest-neighbour bonds (m=2) on any lattice;
plaquettes (m=4) on hypercubic lattices, triangles (m=3) on triangular, tetrahedra (m=4) on fcc."""
from itertools import combinations

import numpy as np

from trsp_core import hookimpl
from trsp_core.physics.clusters import BondClusterRule, OffsetClusterRule


def _unit(dim, k):
    e = [0] * dim
    e[k] = 1
    return e


def _single():
    return {d: [[[0] * d]] for d in (1, 2, 3)}


def _plaquettes():
    # One orientation per pair of axes: 1 in 2D, 3 in 3D (z = 4 and 12 per site).
    out = {}
    for d in (2, 3):
        out[d] = [
            [[0] * d, _unit(d, k), _unit(d, l), list(np.add(_unit(d, k), _unit(d, l)))]
            for k, l in combinations(range(d), 2)
        ]
    return out


# In primitive coordinates (a1 = (1, 0), a2 = (1/2, sqrt 3/2)): the up triangle
# {0, a1, a2} and the down triangle {0, a1, a1 - a2}; every site is in 3 of each (z = 6).
_TRIANGLES = {2: [[[0, 0], [1, 0], [0, 1]], [[0, 0], [1, 0], [1, -1]]]}
# fcc primitive vectors a_i are mutually nearest neighbours, so {0, a1, a2, a3} is a
# regular nearest-neighbour tetrahedron, and so is its inversion {0, -a1, -a2, -a3}:
# the two tetrahedral holes per site (z = 8 tetrahedra per site).
_TETRAHEDRA = {3: [[[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], [[0, 0, 0], [-1, 0, 0], [0, -1, 0], [0, 0, -1]]]}

SINGLE = OffsetClusterRule("single", _single(), "one site (m = 1, z = 1)")
BOND = BondClusterRule()
PLAQUETTE = OffsetClusterRule("plaquette", _plaquettes(), "unit square of 4 sites (m = 4; z = 4 in 2D, 12 in 3D)",
                              kinds=("hypercubic",))
TRIANGLE = OffsetClusterRule("triangle", _TRIANGLES, "nearest-neighbour triangle on the triangular lattice (m = 3, z = 6)",
                             kinds=("triangular",))
TETRAHEDRON = OffsetClusterRule("tetrahedron", _TETRAHEDRA,
                                "nearest-neighbour tetrahedron on the fcc lattice (m = 4, z = 8)", kinds=("fcc",))


@hookimpl
def trsp_cluster_rules():
    return {"single": SINGLE, "bond": BOND, "plaquette": PLAQUETTE, "triangle": TRIANGLE, "tetrahedron": TETRAHEDRON}
