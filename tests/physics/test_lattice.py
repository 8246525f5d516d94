"""The built-in lattices against brute-force geometry: indexing, minimum image, translations."""
import itertools

import numpy as np
import pytest

from lattices.builtin import cubic, square
from trsp_core.errors import ParameterError


@pytest.mark.parametrize("make,dim", [(square, 2), (cubic, 3)])
def test_shape_positions_and_index(make, dim):
    lat = make(5, 1.1)
    assert lat.dim == dim and lat.n_sites == 5**dim and lat.shape == (5,) * dim
    c = lat.coords()
    np.testing.assert_array_equal(lat.index(c), np.arange(lat.n_sites))          # index inverts coords
    np.testing.assert_array_equal(lat.index(c + 5 * 3), np.arange(lat.n_sites))  # periodic
    np.testing.assert_allclose(lat.positions(), 1.1 * c)


@pytest.mark.parametrize("L", [4, 5])
def test_minimum_image_distance_is_the_smallest_periodic_image(L):
    lat = cubic(L, 0.9)
    D = lat.distance_matrix()
    c = lat.coords().astype(float)
    images = np.array(list(itertools.product((-1, 0, 1), repeat=3))) * L
    brute = np.full_like(D, np.inf)
    for im in images:  # direct loop over the 27 nearest images
        brute = np.minimum(brute, np.linalg.norm(c[:, None, :] - c[None, :, :] + im, axis=-1) * 0.9)
    np.testing.assert_allclose(D, brute, atol=1e-12)
    np.testing.assert_allclose(lat.stencil_distances().ravel(), D[0])


def test_translation_is_a_permutation_preserving_distances():
    lat = square(6, 1.0)
    perm = lat.translation(np.array([2, -1]))
    assert sorted(perm.tolist()) == list(range(lat.n_sites))
    D = lat.distance_matrix()
    np.testing.assert_allclose(D[np.ix_(perm, perm)], D)


@pytest.mark.parametrize("size,spacing,needle", [(1, 1.0, "size must be >= 2"), (4, 0.0, "spacing a must be > 0"),
                                                 (4, float("nan"), "spacing a must be > 0")])
def test_bad_geometry_is_a_clear_error(size, spacing, needle):
    with pytest.raises(ParameterError, match=needle):
        cubic(size, spacing)
