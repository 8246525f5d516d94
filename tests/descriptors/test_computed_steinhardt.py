"""q6 and w6 (freud.order.Steinhardt) against an independent numpy/scipy/sympy computation.

The reference builds q_lm from scipy's spherical harmonics over brute-force
minimum-image neighbours and w_l from sympy's exact Wigner 3j symbols; it
reproduces the literature crystal values (Steinhardt et al. 1983; e.g. q6 =
0.57452 for FCC, 0.62854 for BCC with 8 neighbours, w6_hat = -0.01316 for
FCC, +0.01316 for BCC) and the descriptors match it particle by particle.
"""
import functools
import math

import numpy as np
import pytest
from scipy.special import sph_harm_y

from descriptors.structural import Q6, W6


def crystal(kind, n, a=1.0):
    basis = {"fcc": [[0, 0, 0], [.5, .5, 0], [.5, 0, .5], [0, .5, .5]], "bcc": [[0, 0, 0], [.5, .5, .5]],
             "sc": [[0, 0, 0]]}[kind]
    cells = np.array([[i, j, k] for i in range(n) for j in range(n) for k in range(n)], float)
    pos = (cells[:, None, :] + np.array(basis, float)[None]).reshape(-1, 3) * a
    return np.full(3, n * a), pos


def neighbours(box, pos, r_max=None, k=None):
    """Brute force, minimum image: list of (N_b, 3) bond vectors per particle."""
    d = pos[None, :, :] - pos[:, None, :]
    d -= box * np.round(d / box)
    r = np.linalg.norm(d, axis=2)
    np.fill_diagonal(r, np.inf)
    out = []
    for i in range(len(pos)):
        idx = np.argsort(r[i], kind="stable")[:k] if k else np.flatnonzero(r[i] < r_max)
        out.append((idx, d[i, idx]))
    return out


def qlm(vectors, l):
    x, y, z = vectors.T
    theta = np.arccos(np.clip(z / np.linalg.norm(vectors, axis=1), -1, 1))
    phi = np.arctan2(y, x)
    return np.array([sph_harm_y(l, m, theta, phi).mean() for m in range(-l, l + 1)])


@functools.lru_cache(maxsize=None)
def wigner_table(l):
    from sympy.physics.wigner import wigner_3j

    return [(m1, m2, -m1 - m2, float(wigner_3j(l, l, l, m1, m2, -m1 - m2)))
            for m1 in range(-l, l + 1) for m2 in range(-l, l + 1) if abs(m1 + m2) <= l]


def ql_wl(q, l):
    norm2 = float(np.sum(np.abs(q) ** 2))
    ql = math.sqrt(4 * math.pi / (2 * l + 1) * norm2)
    w = sum(c * q[m1 + l] * q[m2 + l] * q[m3 + l] for m1, m2, m3, c in wigner_table(l))
    return ql, float(np.real(w)) / norm2 ** 1.5


def reference(box, pos, l=6, r_max=None, k=None, average=False):
    nb = neighbours(box, pos, r_max, k)
    q = np.array([qlm(v, l) for _, v in nb])
    if average:  # Lechner-Dellago: mean of q_lm over the particle and its neighbours
        q = np.array([(q[i] + q[idx].sum(axis=0)) / (len(idx) + 1) for i, (idx, _) in enumerate(nb)])
    return np.array([ql_wl(qi, l) for qi in q]).T


@pytest.mark.parametrize("kind, k, q6, w6", [("fcc", 12, 0.57452, -0.013161), ("bcc", 8, 0.62854, 0.013161),
                                             ("bcc", 14, 0.51069, 0.013161)])
def test_perfect_crystals(kind, k, q6, w6):
    box, pos = crystal(kind, 3)
    ref_q, ref_w = reference(box, pos, k=k)
    # the independent reference reproduces the literature values ...
    assert np.allclose(ref_q, q6, atol=2e-5) and np.allclose(ref_w, w6, atol=2e-6)
    # ... and so do the descriptors, on every particle
    got_q = Q6({"num_neighbors": k}).raw((box, pos))[0]
    got_w = W6({"num_neighbors": k}).raw((box, pos))[0]
    assert np.allclose(got_q, ref_q, atol=2e-6) and np.allclose(got_w, ref_w, atol=2e-6)


def test_icosahedron_w6():
    """The centre of a perfect icosahedron: w6_hat = -11/sqrt(4199) = -0.169754."""
    g = (1 + 5 ** 0.5) / 2
    verts = np.array([[0, s1, s2 * g] for s1 in (-1, 1) for s2 in (-1, 1)], float)
    verts = np.concatenate([verts, np.roll(verts, 1, axis=1), np.roll(verts, 2, axis=1)])
    verts /= np.linalg.norm(verts[0])
    pos = np.concatenate([[[0, 0, 0]], verts]) + 5.0
    box = np.full(3, 10.0)
    w = W6({"r_max": 1.01}).raw((box, pos))[0, 0]
    assert w == pytest.approx(-11 / math.sqrt(4199), abs=2e-6)
    assert reference(box, pos, r_max=1.01)[1][0] == pytest.approx(-11 / math.sqrt(4199), abs=1e-9)


def test_cutoff_shell_equals_neighbour_count_on_fcc():
    box, pos = crystal("fcc", 3, a=1.5)  # nearest 1.06, next 1.5
    assert np.allclose(Q6({"r_max": 1.3}).raw((box, pos)), Q6({"num_neighbors": 12}).raw((box, pos)), atol=1e-6)


@pytest.fixture(scope="module")
def liquid():
    """A disordered configuration: a jittered SC crystal (no two particles closer than ~0.4)."""
    rng = np.random.default_rng(3)
    box, pos = crystal("sc", 5, a=1.0)
    return box, pos + rng.normal(0, 0.15, pos.shape)


@pytest.mark.parametrize("average", [False, True])
def test_disordered_configuration_matches_direct_loop(liquid, average):
    box, pos = liquid
    ref_q, ref_w = reference(box, pos, r_max=1.4, average=average)
    got_q = Q6({"r_max": 1.4, "average": average}).raw((box, pos))[0]
    got_w = W6({"r_max": 1.4, "average": average}).raw((box, pos))[0]
    assert np.std(ref_q) > 0.01 and np.std(ref_w) > 0.005  # a real test: values vary
    np.testing.assert_allclose(got_q, ref_q, atol=5e-6)
    np.testing.assert_allclose(got_w, ref_w, atol=5e-6)


def test_other_l_and_orientation():
    box, pos = crystal("fcc", 3)
    q4 = Q6({"l": 4, "num_neighbors": 12}).raw((box, pos))[0]
    assert np.allclose(q4, reference(box, pos, l=4, k=12)[0], atol=2e-6)
    assert np.allclose(q4, 0.19094, atol=2e-5)
    assert Q6.sign == -1 and W6.sign == 1
