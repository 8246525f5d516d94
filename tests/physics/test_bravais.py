"""Skewed Bravais lattices (fcc, bcc, triangular) and the cluster rules defined on them,
against brute-force geometry and dense linear algebra."""
import itertools

import numpy as np
import pytest

from lattices.builtin import bcc, cubic, fcc, square, triangular
from plugins.clusters import BOND, PLAQUETTE, SINGLE, TETRAHEDRON, TRIANGLE
from trsp_core.errors import ParameterError
from trsp_core.observables.shells import wavevectors
from trsp_core.physics import gaussian
from trsp_core.physics.params import AlmostExponential

FACTORIES = {"triangular": triangular, "fcc": fcc, "bcc": bcc}
Z_NN = {"triangular": 6, "fcc": 12, "bcc": 8}


def _brute_min_distance(lat, offsets, reach=2):
    """Smallest |(offset + n L) B| a over (2 reach + 1)^d images, nothing assumed about the cell."""
    L = np.asarray(lat.shape)
    best = np.full(len(offsets), np.inf)
    for n in itertools.product(range(-reach, reach + 1), repeat=lat.dim):
        v = (offsets + np.asarray(n) * L) @ lat.basis * lat.spacing
        best = np.minimum(best, np.sqrt((v * v).sum(-1)))
    return best


@pytest.mark.parametrize("name", FACTORIES)
@pytest.mark.parametrize("L", [4, 5])
def test_minimum_image_is_the_nearest_of_all_images(name, L):
    lat = FACTORIES[name](L, 1.3)
    c = lat.coords()
    off = (c[:, None, :] - c[None, :, :]).reshape(-1, lat.dim)
    np.testing.assert_allclose(lat.offset_distance(off), _brute_min_distance(lat, off), atol=1e-12)
    # wrap() returns the offset of that image: same distance, same site
    w = lat.wrap(off)
    np.testing.assert_allclose(np.sqrt(((w @ lat.basis * lat.spacing) ** 2).sum(-1)), lat.offset_distance(off), atol=1e-12)
    np.testing.assert_array_equal(lat.index(w), lat.index(off))


@pytest.mark.parametrize("name", FACTORIES)
def test_spacing_is_the_nearest_neighbour_distance(name):
    lat = FACTORIES[name](6, 0.9)
    nn = lat.neighbour_offsets()
    assert len(nn) == Z_NN[name]
    np.testing.assert_allclose(lat.offset_distance(nn), 0.9, atol=1e-12)
    # independent: from real-space positions in an explicit periodic supercell
    pos = lat.positions()
    cell = np.asarray(lat.shape)[:, None] * lat.basis * lat.spacing
    d = []
    for n in itertools.product((-1, 0, 1), repeat=lat.dim):
        d.append(np.linalg.norm(pos[1:] - pos[0] + np.asarray(n) @ cell, axis=1))
    d = np.min(d, axis=0)
    assert d.min() == pytest.approx(0.9, abs=1e-12)
    assert int(np.sum(np.abs(d - 0.9) < 1e-9)) == Z_NN[name]
    assert len(lat.bond_vectors()) == Z_NN[name] // 2


@pytest.mark.parametrize("name,L", [("triangular", 7), ("fcc", 4), ("bcc", 5)])
def test_fft_spectrum_is_the_dense_eigenvalues(name, L):
    lat = FACTORIES[name](L, 1.1)
    C = AlmostExponential(1.0, 1.2, 1.0)
    lam = np.sort(gaussian.spectrum(lat, C).ravel())
    np.testing.assert_allclose(lam, np.linalg.eigvalsh(gaussian.dense(lat, C)), atol=1e-10)


@pytest.mark.parametrize("name", FACTORIES)
def test_wavevectors_are_the_plane_waves_of_the_grid(name):
    """|q| of FFT index m: the shortest q with exp(i q.r) = exp(2 pi i m.c / L) on every site."""
    L = 5
    lat = FACTORIES[name](L, 1.2)
    qabs = wavevectors(lat).reshape(-1)
    recip = 2 * np.pi * np.linalg.inv(lat.basis).T / lat.spacing
    r = lat.positions()
    c = lat.coords()
    for flat, m in enumerate(c):  # FFT index m in C order, like the lattice sites
        best = np.inf
        for n in itertools.product(range(-2, 3), repeat=lat.dim):
            q = ((m + np.asarray(n) * L) / L) @ recip
            phase = r @ q - 2 * np.pi * (c @ m) / L
            assert np.allclose(np.cos(phase), 1.0, atol=1e-9)   # the same plane wave on the grid
            best = min(best, float(np.linalg.norm(q)))
        assert qabs[flat] == pytest.approx(best, abs=1e-10)


@pytest.mark.parametrize("rule,make,m,z,n_orient", [
    (SINGLE, fcc, 1, 1, 1), (BOND, fcc, 2, 12, 6), (TETRAHEDRON, fcc, 4, 8, 2),
    (SINGLE, bcc, 1, 1, 1), (BOND, bcc, 2, 8, 4),
    (SINGLE, triangular, 1, 1, 1), (BOND, triangular, 2, 6, 3), (TRIANGLE, triangular, 3, 6, 2),
    (BOND, cubic, 2, 6, 3), (BOND, square, 2, 4, 2),
])
def test_rules_are_nearest_neighbour_clusters(rule, make, m, z, n_orient):
    lat = make(6, 1.0)
    sites, orient = rule.clusters(lat)
    assert rule.m == m and sites.shape == (n_orient * lat.n_sites, m)
    assert rule.coordination(lat) == z
    # every site is in exactly z clusters; no cluster is listed twice
    assert np.all(np.bincount(sites.ravel(), minlength=lat.n_sites) == z)
    assert len({tuple(sorted(s)) for s in sites.tolist()}) == len(sites)
    # every pair of sites in a cluster are nearest neighbours (regular simplices)
    c = lat.coords()
    for a, b in itertools.combinations(range(m), 2):
        np.testing.assert_allclose(lat.offset_distance(c[sites[:, a]] - c[sites[:, b]]), 1.0, atol=1e-12)


@pytest.mark.parametrize("rule,make", [(PLAQUETTE, fcc), (PLAQUETTE, triangular), (TETRAHEDRON, cubic),
                                       (TETRAHEDRON, bcc), (TRIANGLE, square)])
def test_rule_on_a_lattice_it_is_not_defined_on_is_an_error(rule, make):
    with pytest.raises(ParameterError, match=f"cluster rule '{rule.name}' is defined on"):
        rule.clusters(make(6, 1.0))


def test_hypercubic_geometry_is_unchanged():
    """The generic methods reduce to the per-axis minimum image on hypercubic lattices."""
    lat = cubic(5, 0.8)
    c = lat.coords()
    off = (c[:, None, :] - c[None, :, :]).reshape(-1, 3)
    np.testing.assert_allclose(lat.offset_distance(off), _brute_min_distance(lat, off), atol=1e-12)
    np.testing.assert_array_equal(lat.bond_vectors(), np.eye(3, dtype=int))
    np.testing.assert_allclose(lat.displacement(np.array([[4.5, 0.0, -3.0]])), [[-0.5 * 0.8, 0.0, 2 * 0.8]])
