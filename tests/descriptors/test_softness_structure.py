"""Structure functions against a plain O(N^2) minimum-image evaluation, and the
fast path (cell list, recurrences, vectorised Gaussians) against the original
implementation kept as ``structure_functions_reference``."""
from pathlib import Path

import numpy as np
import pytest

from descriptors.softness_ml.structure import (NEIGHBOUR_BACKENDS, StructureParams, structure_functions,
                                               structure_functions_reference)
from trsp_core.errors import ParameterError

FIXTURE = Path(__file__).parents[1] / "fixtures" / "ka" / "ka_T055.npz"


def brute_force(pos, types, box, p: StructureParams):
    n = len(pos)
    out = np.zeros((n, p.n_features))
    mus = p.mus
    grid = p.angular_grid()
    for i in range(n):
        bonds = []
        for j in range(n):
            if j == i:
                continue
            v = pos[j] - pos[i]
            v -= box * np.round(v / box)
            r = np.sqrt(v @ v)
            if r < p.r_cut:
                out[i, types[j] * p.n_mu: (types[j] + 1) * p.n_mu] += np.exp(-((r - mus) / p.width) ** 2)
            if r < p.angular_cut:
                bonds.append(v)
        for a in range(len(bonds)):
            for b in range(a + 1, len(bonds)):
                va, vb = bonds[a], bonds[b]
                ra, rb, rc = np.linalg.norm(va), np.linalg.norm(vb), np.linalg.norm(vb - va)
                cos = va @ vb / (ra * rb)
                for c, (xi, lam, zeta) in enumerate(grid):
                    out[i, p.n_radial + c] += np.exp(-(ra**2 + rb**2 + rc**2) / xi**2) * (1 + lam * cos) ** zeta
    return out


@pytest.mark.parametrize("backend", NEIGHBOUR_BACKENDS)
@pytest.mark.parametrize("dim,n", [(2, 70), (3, 90)])
def test_matches_brute_force(dim, n, backend):
    rng = np.random.default_rng(100 + dim)
    box = np.array([11.0, 12.5, 10.5][:dim])
    pos = rng.uniform(-3, 20, size=(n, dim))          # also outside the box: must wrap
    types = (rng.random(n) < 0.3).astype(int)
    p = StructureParams()
    got = structure_functions(pos, types, box, p, backend=backend)
    want = brute_force(pos, types, box, p)
    assert got.shape == (n, 266)
    assert np.abs(want).max() > 1                     # the comparison is not vacuous
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("backend", NEIGHBOUR_BACKENDS)
def test_query_subset_and_custom_grid(backend):
    rng = np.random.default_rng(5)
    box = np.array([10.2, 10.4, 10.6])
    pos = rng.uniform(0, 10, size=(60, 3))
    types = rng.integers(0, 3, size=60)
    p = StructureParams(n_species=3, n_mu=30, mu_step=0.1, width=0.1, r_cut=4.0, angular_cut=3.0,
                        xis=(0.8, 1.7), lambdas=(-1, 0.5, 1), zetas=(1, 3.5))
    q = np.array([3, 7, 59, 0])
    got = structure_functions(pos, types, box, p, query=q, backend=backend)
    np.testing.assert_allclose(got, brute_force(pos, types, box, p)[q], rtol=1e-10, atol=1e-10)


def test_feature_names_follow_layout():
    p = StructureParams()
    names = p.feature_names()
    assert len(names) == p.n_features == 266
    assert names[0] == "G[b=0,mu=0.05]" and names[199] == "G[b=1,mu=5]"
    assert names[200] == "Psi[xi=1,lambda=-1,zeta=1]" and names[-1] == "Psi[xi=2,lambda=+1,zeta=4]"


def test_small_box_rejected_with_parameter_named():
    with pytest.raises(ParameterError, match="box"):
        structure_functions(np.zeros((3, 3)), np.zeros(3, int), np.ones(3) * 9.0)


def test_type_out_of_range_rejected():
    with pytest.raises(ParameterError, match="n_species"):
        structure_functions(np.zeros((3, 3)), np.array([0, 1, 2]), np.ones(3) * 11.0)


def test_unknown_backend_and_repeated_query_rejected():
    pos = np.random.default_rng(0).uniform(0, 11, size=(5, 3))
    with pytest.raises(ParameterError, match="backend"):
        structure_functions(pos, np.zeros(5, int), np.ones(3) * 11.0, backend="octree")
    with pytest.raises(ParameterError, match="query"):
        structure_functions(pos, np.zeros(5, int), np.ones(3) * 11.0, query=[1, 1])


# The fast path takes different routes by grid: the default (integer zetas <= 4,
# Gaussian argument <= 44.8) expands (1 + lambda cos)^zeta in moments of cos;
# other zetas or narrow xi take the general route; mu_step / L > 4 skips the
# shell recurrence. Each must equal the plain loop.
@pytest.mark.parametrize("params", [
    StructureParams(n_species=2, lambdas=(-0.5, 1.0), zetas=(0, 3), xis=(1.3, 2.2)),       # moments, odd zeta
    StructureParams(xis=(0.5, 1.0), zetas=(1, 2)),                                         # narrow xi: general
    StructureParams(n_mu=12, mu_step=0.4, width=0.08),                                     # direct shells
], ids=["moments", "general-gauss", "direct-shells"])
def test_fast_routes_match_brute_force(params):
    rng = np.random.default_rng(11)
    box = np.array([11.0, 11.5, 10.5])
    pos = rng.uniform(0, 11, size=(80, 3))
    types = (rng.random(80) < 0.3).astype(int)
    got = structure_functions(pos, types, box, params)
    np.testing.assert_allclose(got, brute_force(pos, types, box, params), rtol=1e-10, atol=1e-10)


def _assert_same(got, want):
    """Equal to 1e-10: relative for the large features, absolute (1e-10) for the tiny ones."""
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dim", [2, 3])
def test_fast_equals_reference_random(dim):
    """A configuration big enough that the cell list skips cells (box > 5 cells wide)."""
    rng = np.random.default_rng(21 + dim)
    box = np.array([27.0, 13.0, 11.0][:dim])
    n = int(1.2 * np.prod(box)) if dim == 3 else int(1.0 * np.prod(box))
    pos = rng.uniform(-5, 30, size=(n, dim))
    types = (rng.random(n) < 0.2).astype(int)
    query = rng.choice(n, size=min(n, 400), replace=False)
    want = structure_functions_reference(pos, types, box, query=query, backend="scipy")
    for backend in NEIGHBOUR_BACKENDS:
        _assert_same(structure_functions(pos, types, box, query=query, backend=backend), want)


def test_fast_equals_reference_on_fixture_frames():
    from trsp_core.md.mdio import read_trajectory

    traj = read_trajectory(FIXTURE)
    for f in (0, 124, 249):
        want = structure_functions_reference(traj.positions[f], traj.types, traj.box, backend="scipy")
        got = structure_functions(traj.positions[f], traj.types, traj.box)
        assert np.abs(want).max() > 10                  # real liquid: large angular sums
        _assert_same(got, want)


def test_bench_returns_a_rate():
    from descriptors.softness_ml.bench import bench_structure_functions

    for backend in ("scipy", "cells"):
        rate = bench_structure_functions(n=2000, repeats=1, backend=backend)
        assert np.isfinite(rate) and rate > 0


@pytest.mark.parametrize("params", [StructureParams(), StructureParams(xis=(1.3, 2.2), angular_cut=3.0)])
def test_gaussian_table_accuracy(params):
    """The moments path's exp(-s / xi^2) = table entry x Chebyshev polynomial: the
    documented bound (< 6e-14 relative) over the whole range of s, 0..6 r_ang^2."""
    from descriptors.softness_ml.structure import _gauss_table

    tab, poly, h, inv_h = _gauss_table(params, True)
    n_xi = len(params.xis)
    tab = tab.reshape(-1, n_xi)
    s = np.linspace(0.0, 6 * params.angular_cut ** 2, 200_001)
    j = np.minimum(np.floor(s * inv_h), tab.shape[0] - 1)
    t = s - (j + 0.5) * h
    for k, xi in enumerate(params.xis):
        p = np.zeros_like(t)
        for d in range(poly.shape[0] - 1, -1, -1):       # Horner, as the kernel
            p = p * t + poly[d, k]
        got = tab[j.astype(int), k] * p
        want = np.exp(-s / xi ** 2)
        assert np.max(np.abs(got / want - 1)) < 6e-14
