"""The built-in cluster rules: m, z, the cluster table and K_Delta distances, by brute force."""
import numpy as np
import pytest

from lattices.builtin import cubic, square
from plugins.clusters import BOND, PLAQUETTE, SINGLE
from trsp_core.errors import ParameterError
from trsp_core.physics.clusters import OffsetClusterRule, kick_distances


@pytest.mark.parametrize("rule,lat,m,z,n_orient", [
    (SINGLE, square(5, 1.0), 1, 1, 1), (BOND, square(5, 1.0), 2, 4, 2), (PLAQUETTE, square(5, 1.0), 4, 4, 1),
    (SINGLE, cubic(4, 1.0), 1, 1, 1), (BOND, cubic(4, 1.0), 2, 6, 3), (PLAQUETTE, cubic(4, 1.0), 4, 12, 3),
])
def test_m_z_and_table(rule, lat, m, z, n_orient):
    sites, orient = rule.clusters(lat)
    assert rule.m == m and sites.shape == (n_orient * lat.n_sites, m)
    assert np.bincount(orient).tolist() == [lat.n_sites] * n_orient
    # z by counting, for every site (translation invariance: all equal)
    counts = np.bincount(sites.ravel(), minlength=lat.n_sites)
    assert (counts == z).all() and rule.coordination(lat) == z
    # each cluster is a set of mutually close sites: diameter sqrt(dim') lattice spacings at most
    D = lat.distance_matrix()
    assert max(D[np.ix_(c, c)].max() for c in sites[:: lat.n_sites]) <= np.sqrt(2) + 1e-12
    # every cluster occurs once
    assert len({tuple(sorted(c)) for c in sites.tolist()}) == len(sites)


def test_kick_distances_match_a_direct_loop():
    lat = square(6, 1.3)
    offs = PLAQUETTE.orientations(lat)[0]
    members = lat.index(offs)
    D = lat.distance_matrix()
    np.testing.assert_allclose(kick_distances(lat, offs, "nearest"), D[:, members].min(axis=1))
    com = offs.mean(axis=0)
    expect = [np.linalg.norm(((x - com + 3) % 6 - 3)) * 1.3 for x in lat.coords()]
    np.testing.assert_allclose(kick_distances(lat, offs, "center-of-mass"), expect)
    with pytest.raises(ParameterError, match="unknown K_Delta distance rule 'far'"):
        kick_distances(lat, offs, "far")


def test_rule_errors_name_the_problem():
    with pytest.raises(ParameterError, match="same m"):
        OffsetClusterRule("odd", {2: [[[0, 0]], [[0, 0], [1, 0]]]})
    with pytest.raises(ParameterError, match="not defined in 3 dimensions"):
        OffsetClusterRule("flat", {2: [[[0, 0]]]}).orientations(cubic(4, 1.0))
    with pytest.raises(ParameterError, match="lattice is too small"):
        OffsetClusterRule("long", {2: [[[0, 0], [2, 0]]]}).clusters(square(2, 1.0))
