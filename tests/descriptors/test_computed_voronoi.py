"""voronoi-volume (freud/voro++) against scipy's Qhull on periodic images, and 1/density on crystals."""
import numpy as np
import pytest
from scipy.spatial import ConvexHull, Voronoi

from descriptors.structural import VoronoiVolume


def crystal(kind, n, a=1.0):
    basis = {"fcc": [[0, 0, 0], [.5, .5, 0], [.5, 0, .5], [0, .5, .5]], "bcc": [[0, 0, 0], [.5, .5, .5]]}[kind]
    cells = np.array([[i, j, k] for i in range(n) for j in range(n) for k in range(n)], float)
    pos = (cells[:, None, :] + np.array(basis, float)[None]).reshape(-1, 3) * a
    return np.full(3, n * a), pos


def qhull_volumes(box, pos):
    """Independent: Voronoi of the 27 periodic images (scipy/Qhull), hull volume of each central cell."""
    shifts = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)], float) * box
    pos = pos - box * np.floor(pos / box)
    images = (pos[None] + shifts[:, None]).reshape(-1, 3)
    vor = Voronoi(images)
    centre = int(np.flatnonzero(np.all(shifts == 0, axis=1))[0]) * len(pos)
    out = []
    for i in range(len(pos)):
        region = vor.regions[vor.point_region[centre + i]]
        assert -1 not in region
        out.append(ConvexHull(vor.vertices[region]).volume)
    return np.array(out)


@pytest.mark.parametrize("kind, n_basis", [("fcc", 4), ("bcc", 2)])
@pytest.mark.parametrize("a", [1.0, 1.7])
def test_perfect_crystal_volume_is_one_over_density(kind, n_basis, a):
    box, pos = crystal(kind, 3, a)
    vol = VoronoiVolume().raw((box, pos))[0]
    assert np.allclose(vol, a ** 3 / n_basis, rtol=1e-5)


def test_random_configuration_matches_qhull():
    rng = np.random.default_rng(7)
    box = np.array([4.0, 5.0, 4.5])
    pos = rng.uniform(0, 1, (60, 3)) * box
    got = VoronoiVolume().raw((box, pos))[0]
    ref = qhull_volumes(box, pos)
    assert np.std(ref) > 0.1 * np.mean(ref)
    np.testing.assert_allclose(got, ref, rtol=1e-4)
    assert got.sum() == pytest.approx(np.prod(box), rel=1e-6)


def test_2d_areas():
    rng = np.random.default_rng(1)
    box = np.array([6.0, 5.0])
    pos = rng.uniform(0, 1, (40, 2)) * box
    area = VoronoiVolume().raw((box, pos))[0]
    assert area.sum() == pytest.approx(30.0, rel=1e-6) and np.all(area > 0)
