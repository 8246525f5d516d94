"""p_hop against a direct, loop-by-loop evaluation of its definition."""
import numpy as np
import pytest

from trsp_core.md.phop import phop, unwrap
from trsp_core.errors import ParameterError


def direct_phop(unwrapped, window):
    """Definition, term by term, on already unwrapped paths."""
    f, n, _ = unwrapped.shape
    h = window // 2
    out = np.full((f, n), np.nan)
    for t in range(h, f - h):
        for i in range(n):
            A = unwrapped[t - h: t + 1, i]
            B = unwrapped[t: t + h + 1, i]
            term_a = np.mean([np.sum((r - B.mean(axis=0)) ** 2) for r in A])
            term_b = np.mean([np.sum((r - A.mean(axis=0)) ** 2) for r in B])
            out[t, i] = np.sqrt(term_a * term_b)
    return out


@pytest.mark.parametrize("dim", [2, 3])
def test_matches_direct_computation_on_wrapped_random_walks(dim):
    rng = np.random.default_rng(11)
    box = np.array([7.0, 9.0, 8.0][:dim])
    steps = rng.normal(scale=0.3, size=(60, 12, dim))
    path = 20.0 + np.cumsum(steps, axis=0)        # far outside the box: wraps many times
    wrapped = np.mod(path, box)
    got = phop(wrapped, box, window=10)
    want = direct_phop(path, 10)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[5:-5], want[5:-5], rtol=1e-10, atol=1e-12)


def test_single_hop_peaks_at_hop_and_still_particle_is_zero():
    box = np.array([10.0, 10.0, 10.0])
    f, hop_frame, d = 41, 20, 0.8
    pos = np.zeros((f, 2, 3)) + 5.0
    pos[hop_frame:, 0, 0] += d           # particle 0 jumps by d between frames 19 and 20
    p = phop(pos, box, window=10)
    assert np.all(np.isnan(p[:5])) and np.all(np.isnan(p[-5:]))
    # The B half of the window at t = 20 is entirely after the hop, A has one
    # post-hop frame (t itself) out of h+1 = 6: the exact value follows.
    h = 5
    a_term = (h / (h + 1)) * d ** 2                      # <(r - <r>_B)^2>_A, <r>_B = d
    b_term = (d - d / (h + 1)) ** 2                      # <r>_A = d/(h+1); B all at d
    assert p[hop_frame, 0] == pytest.approx(np.sqrt(a_term * b_term), rel=1e-12)
    peak = np.nanargmax(p[:, 0])
    assert peak in (hop_frame - 1, hop_frame)            # window symmetric about the jump
    assert np.nanmax(p[:, 0]) > 0.5 * d ** 2
    assert np.nanmax(p[:, 1]) < 1e-12
    # Far from the jump (more than h frames away) the indicator vanishes.
    assert np.nanmax(np.abs(p[[5, 6, 7, 8, 9, 31, 32, 33, 34, 35], 0])) < 1e-12


def test_hop_across_boundary_is_unwrapped():
    box = np.array([4.0, 4.0])
    pos = np.zeros((21, 1, 2)) + [3.9, 1.0]
    pos[10:, 0, 0] = 0.3                 # moves +0.4 through the boundary
    p = phop(pos, box, window=8)
    assert np.nanmax(p) == pytest.approx(phop(unwrap(pos, box), box, 8)[~np.isnan(p)].max())
    assert np.nanmax(p) < 0.4 ** 2 + 1e-12   # not a jump of ~3.6


def test_short_trajectory_is_all_nan():
    assert np.all(np.isnan(phop(np.zeros((5, 3, 3)), np.ones(3) * 5, window=6)))


@pytest.mark.parametrize("window", [3, 0, -2, 2.5])
def test_bad_window_names_parameter(window):
    with pytest.raises(ParameterError, match="window"):
        phop(np.zeros((10, 2, 3)), np.ones(3), window)


def test_bad_box_names_parameter():
    with pytest.raises(ParameterError, match="box"):
        phop(np.zeros((10, 2, 3)), np.ones(2), 4)
