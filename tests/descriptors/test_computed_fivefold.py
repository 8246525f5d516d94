"""fivefold (fraction of 1551 bonds) against a direct Python loop, the icosahedron and FCC/BCC."""
import numpy as np
import pytest

from descriptors.structural import FiveFold

FIXTURE = "tests/fixtures/ka/ka_T055.npz"


def direct_fivefold(box, pos, r_max):
    d = pos[None] - pos[:, None]
    d -= box * np.round(d / box)
    r = np.linalg.norm(d, axis=2)
    np.fill_diagonal(r, np.inf)
    nb = [set(np.flatnonzero(row < r_max)) for row in r]
    out = np.full(len(pos), np.nan)
    for i, ni in enumerate(nb):
        if not ni:
            continue
        n1551 = 0
        for j in ni:
            common = ni & nb[j]
            if len(common) == 5 and all(len(nb[c] & common) == 2 for c in common):
                n1551 += 1
        out[i] = n1551 / len(ni)
    return out


def icosahedron():
    g = (1 + 5 ** 0.5) / 2
    v = np.array([[0, s1, s2 * g] for s1 in (-1, 1) for s2 in (-1, 1)], float)
    v = np.concatenate([v, np.roll(v, 1, axis=1), np.roll(v, 2, axis=1)])
    v /= np.linalg.norm(v[0])
    return np.full(3, 10.0), np.concatenate([[[0, 0, 0]], v]) + 5.0


def test_icosahedron():
    box, pos = icosahedron()
    f5 = FiveFold({"r_max": 1.2}).raw((box, pos))[0]   # edges 1.05, centre-vertex 1
    assert f5[0] == 1.0 and np.allclose(f5[1:], 1 / 6)  # a vertex: only its bond to the centre is 1551
    assert np.array_equal(direct_fivefold(box, pos, 1.2), f5)


@pytest.mark.parametrize("kind, r_max", [("fcc", 0.8), ("bcc", 1.1)])
def test_crystals_have_no_fivefold_bonds(kind, r_max):
    basis = {"fcc": [[0, 0, 0], [.5, .5, 0], [.5, 0, .5], [0, .5, .5]], "bcc": [[0, 0, 0], [.5, .5, .5]]}[kind]
    cells = np.array([[i, j, k] for i in range(4) for j in range(4) for k in range(4)], float)
    pos = (cells[:, None, :] + np.array(basis)[None]).reshape(-1, 3)
    f5 = FiveFold({"r_max": r_max}).raw((np.full(3, 4.0), pos))[0]
    assert np.all(f5 == 0)


@pytest.mark.parametrize("neighbours", ["freud", "scipy"])
def test_ka_frame_matches_direct_loop(neighbours):
    from trsp_core.md.mdio import read_trajectory

    t = read_trajectory(FIXTURE)
    box, pos = t.box, t.positions[0]
    got = FiveFold({"r_max": 1.4, "neighbours": neighbours}).raw((box, pos))[0]
    ref = direct_fivefold(box, pos, 1.4)
    assert 0.05 < np.mean(ref) < 0.6 and np.std(ref) > 0.05
    assert np.array_equal(got, ref)
