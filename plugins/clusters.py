"""Built-in cluster rules: single sites (m=1), bonds (m=2), plaquettes (m=4)."""
from itertools import combinations

import numpy as np

from trsp_core import hookimpl
from trsp_core.physics.clusters import OffsetClusterRule


def _unit(dim, k):
    e = [0] * dim
    e[k] = 1
    return e


def _single():
    return {d: [[[0] * d]] for d in (1, 2, 3)}


def _bonds():
    return {d: [[[0] * d, _unit(d, k)] for k in range(d)] for d in (1, 2, 3)}


def _plaquettes():
    # One orientation per pair of axes: 1 in 2D, 3 in 3D (z = 4 and 12 per site).
    out = {}
    for d in (2, 3):
        out[d] = [
            [[0] * d, _unit(d, k), _unit(d, l), list(np.add(_unit(d, k), _unit(d, l)))]
            for k, l in combinations(range(d), 2)
        ]
    return out


SINGLE = OffsetClusterRule("single", _single(), "one site (m = 1, z = 1)")
BOND = OffsetClusterRule("bond", _bonds(), "nearest-neighbour pair (m = 2, z = 2d)")
PLAQUETTE = OffsetClusterRule("plaquette", _plaquettes(), "unit square of 4 sites (m = 4; z = 4 in 2D, 12 in 3D)")


@hookimpl
def trsp_cluster_rules():
    return {"single": SINGLE, "bond": BOND, "plaquette": PLAQUETTE}
