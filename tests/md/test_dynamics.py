"""MD-side Q(t), chi4(t), tau_alpha, S4 (trsp_core.md.dynamics): known answers, and the
same numbers as the model's observables on the same indicator array."""
from types import SimpleNamespace

import numpy as np
import pytest

from trsp_core.errors import ParameterError
from trsp_core.md.dynamics import (MDDynamics, box_wavevectors, frame_lags, overlap_samples, particle_fourier_moments,
                                   phop_samples)
from trsp_core.md.mdio import Trajectory
from trsp_core.observables.fourpoint import fourier_moments, s4_from_moments
from trsp_core.observables.overlap import Overlap
from trsp_core.run import Run


def _traj(flags, box=10.0, positions=None, dt=1.0):
    F, N = flags.shape
    pos = np.zeros((F, N, 3)) if positions is None else positions
    return Trajectory(positions=pos, types=np.zeros(N, int), box=np.full(3, box), dt=dt,
                      columns={"phop": flags.astype(float)})


def test_hand_made_hop_sequence():
    # particle 0 hops at frame 3, particle 1 never: I = 1 until the window contains frame 3
    flags = np.zeros((10, 2), bool)
    flags[3, 0] = True
    Q, tau = phop_samples(flags, np.array([0, 3, 4]), np.array([1, 2, 3, 4]))
    np.testing.assert_array_equal(tau[:, 1], np.inf)
    np.testing.assert_array_equal(tau[:, 0], [3, np.inf, np.inf])   # the hop at t0 itself is not in (t0, t0+t]
    np.testing.assert_array_equal(Q[0], [1, 1, 0.5, 0.5])
    np.testing.assert_array_equal(Q[1:], 1.0)


def test_overlap_indicator_forgets_a_return_trip():
    # particle 0 leaves by 0.5 at frame 3 and comes back at frame 6; particle 1 moves by 0.2 (< a)
    F = 10
    r = np.zeros((F, 2, 3))
    r[3:6, 0, 0] = 0.5
    r[5:, 1, 1] = 0.2
    Q = overlap_samples(r, np.array([0]), np.arange(1, 9), a=0.3)
    np.testing.assert_array_equal(Q[0], [1, 1, 0.5, 0.5, 0.5, 1, 1, 1])


def test_independent_poisson_hoppers():
    # each particle hops in each frame with probability p: Q(t) = (1-p)^t and, the particles
    # being independent, chi4(t) = N Var Q = Q (1 - Q), less the pooled-mean bias N Var(<Q>)
    rng = np.random.default_rng(7)
    p, N, F, n_runs = 0.01, 400, 600, 24
    trajs = [_traj(rng.random((F, N)) < p) for _ in range(n_runs)]
    ds = MDDynamics(indicators=("phop",), s4=False, phop_threshold=0.5, n_lags=20, n_boot=200).compute(trajs)
    d = ds.sel(indicator="phop")
    lag = d.lag.values
    q = (1 - p) ** lag
    assert np.max(np.abs(d.Q.values - q) / d.Q_err.values) < 4.5
    chi = q * (1 - q)
    assert np.max(np.abs(d.chi4.values - chi) / d.chi4_err.values) < 4.5
    assert ds.error_resampling == "runs"


def test_single_run_resamples_time_blocks_and_reports_their_length():
    rng = np.random.default_rng(1)
    ds = MDDynamics(indicators=("phop",), s4=False, phop_threshold=0.5, n_blocks=6).compute([_traj(rng.random((800, 300)) < 0.02)])
    assert ds.error_resampling == "time blocks"
    assert np.isfinite(ds.block_length_over_tau).all() and np.all(ds.Q_err.values[1:] > 0)


def _aligned_frames(n_origins=64, window=10, n_lags=20):
    for F in range(300, 2000):
        lags = frame_lags(F - window, n_lags)
        if (F - 1 - lags.max()) % (n_origins - 1) == 0:
            return F, lags
    raise AssertionError


def test_md_path_equals_model_path_on_the_same_hops():
    """Same rearrangement times fed as an MD p_hop array and as a model event log."""
    rng = np.random.default_rng(3)
    N, n_runs = 150, 5
    F, lags = _aligned_frames()
    flags = [rng.random((F, N)) < rng.uniform(0.005, 0.02, N) for _ in range(n_runs)]
    md = MDDynamics(indicators=("phop",), s4=False, phop_threshold=0.5, n_lags=20, n_origins=64).compute(
        [_traj(f) for f in flags]).sel(indicator="phop")
    np.testing.assert_array_equal(md.lag.values, lags)
    runs = []
    for seed, f in enumerate(flags):
        fr, site = np.nonzero(f)
        order = np.argsort(fr, kind="stable")
        runs.append(Run(seed=seed, t_end=float(F - 1), times=fr[order].astype(float), clusters=site[order]))
    model = SimpleNamespace(n_sites=N, cluster_sites=np.arange(N)[:, None])
    ov = Overlap(lags=lags.astype(float), n_origins=64).compute(model, runs)
    for md_name, model_name in [("Q", "Q"), ("chi4", "chi4"), ("tau_alpha", "tau_alpha"), ("chi4_star", "chi4_star"),
                                ("tau_alpha_err", "tau_alpha_err"), ("chi4_star_err", "chi4_star_err")]:
        np.testing.assert_array_equal(md[md_name].values, ov[model_name].values, err_msg=md_name)


def test_particle_fourier_sum_equals_lattice_fft_on_lattice_sites():
    """S4 from the direct sum over particles = the model's FFT S4 when particles sit on the sites."""
    rng = np.random.default_rng(0)
    L, a = 6, 1.3
    idx = np.stack(np.meshgrid(*[np.arange(L)] * 3, indexing="ij"), -1).reshape(-1, 3)
    pos = idx * a
    fields = (rng.random((3, 5, L ** 3)) < 0.6).astype(float)
    qv = box_wavevectors(np.full(3, L * a), 2)
    q2p, q1p = particle_fourier_moments(fields, np.broadcast_to(pos, (3, 5, *pos.shape)), np.full(3, L * a), 2)
    q2l, q1l = fourier_moments(fields, (L, L, L))
    # the FFT's grid index of each q: n mod L on each axis (np.fft sign: e^{-i q r})
    flat = np.ravel_multi_index(tuple((np.round(qv * L * a / (2 * np.pi)).astype(int) % L).T), (L, L, L))
    np.testing.assert_allclose(q2p, q2l[:, flat], atol=1e-12)
    np.testing.assert_allclose(q1p, np.conj(q1l[:, flat]), atol=1e-12)
    np.testing.assert_allclose(s4_from_moments(q2p, q1p, L ** 3), s4_from_moments(q2l, q1l, L ** 3)[flat], atol=1e-10)


def test_chi4_peak_at_the_edge_is_not_reported():
    # nobody ever hops: chi4 = 0 everywhere, no peak -> tau_alpha NaN
    ds = MDDynamics(indicators=("phop",), s4=False, phop_threshold=0.5).compute([_traj(np.zeros((200, 50), bool))])
    assert np.isnan(ds.tau_alpha.item()) and np.isnan(ds.chi4_star.item())


def test_no_xi4_when_tau_alpha_is_at_the_edge():
    # rare hoppers: chi4 still rising at the last lag, so S4 'at tau_alpha' has no meaning
    rng = np.random.default_rng(0)
    f = rng.random((200, 400)) < 1.9e-3     # Q(last lag) ~ 0.84: chi4 = Q(1 - Q) still rising
    ds = MDDynamics(indicators=("phop",), phop_threshold=0.5, s4_n_max=1).compute([_traj(f)])
    assert np.isnan(ds.tau_alpha.item())
    assert np.isnan(ds.xi4.item()) and np.all(np.isnan(ds.S4.values))


def test_bad_input_is_named():
    with pytest.raises(ParameterError, match="indicators"):
        MDDynamics(indicators=("foo",))
    with pytest.raises(ParameterError, match="species 3"):
        MDDynamics(species=3).compute([_traj(np.zeros((50, 4), bool))])


@pytest.mark.filterwarnings("ignore:MD errors")   # short blocks: not what this test is about
def test_time_unit_is_the_files_dt():
    rng = np.random.default_rng(2)
    f = rng.random((400, 200)) < 0.01
    a = MDDynamics(indicators=("phop",), s4=False, phop_threshold=0.5).compute([_traj(f, dt=1.0)])
    b = MDDynamics(indicators=("phop",), s4=False, phop_threshold=0.5).compute([_traj(f, dt=2.5)])
    np.testing.assert_allclose(b.lag.values, 2.5 * a.lag.values)
    np.testing.assert_allclose(b.tau_alpha.values, 2.5 * a.tau_alpha.values)
    assert b.lag.attrs["units"] == "tau"


def test_s4_of_independent_hoppers_is_flat():
    # independent indicators at fixed positions: S4(q) = Q (1 - Q) at every q, whatever the positions
    rng = np.random.default_rng(11)
    N, F, n_runs, box = 300, 400, 12, 7.0
    pos = np.broadcast_to(rng.uniform(0, box, (1, N, 3)), (F, N, 3))
    trajs = [_traj(rng.random((F, N)) < 0.01, box=box, positions=pos) for _ in range(n_runs)]
    d = MDDynamics(indicators=("phop",), phop_threshold=0.5, n_lags=20, s4_n_max=2).compute(trajs).sel(indicator="phop")
    lag = d.S4_time.item()
    q = (1 - 0.01) ** lag
    assert np.max(np.abs(d.S4.values - q * (1 - q)) / d.S4_err.values) < 4.5


def test_time_blocks_shorter_than_tau_alpha_warn():
    # p = 0.015 per frame: chi4 peaks near ln 2 / p ~ 46 frames; the 8 origin blocks of a 400-frame
    # run are ~26 frames, about half of tau_alpha: correlated blocks, underestimated errors
    rng = np.random.default_rng(3)
    md = MDDynamics(indicators=("phop",), s4=False, phop_threshold=0.5, n_blocks=8)
    with pytest.warns(UserWarning, match=r"T = 0.5, indicator phop.*time blocks .* tau_alpha long.*underestimated"):
        ds = md.compute([_traj(rng.random((400, 300)) < 0.015)], temperature=0.5)
    assert float(ds.block_length_over_tau.sel(indicator="phop")) < 3
    # long blocks (the test above: ~3.8 tau_alpha) do not warn
    import warnings as w
    with w.catch_warnings():
        w.simplefilter("error")
        MDDynamics(indicators=("phop",), s4=False, phop_threshold=0.5, n_blocks=6).compute(
            [_traj(np.random.default_rng(1).random((800, 300)) < 0.02)])
