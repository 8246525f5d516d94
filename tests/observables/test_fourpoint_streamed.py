"""S4 and block chi4 accumulated from event chunks (no event log held) against the in-memory path."""
from types import SimpleNamespace

import numpy as np
import pytest

from trsp_core.observables import BlockChi4, FourPointStructureFactor
from trsp_core.observables import fourpoint
from trsp_core.observables.overlap import default_lags, overlap_samples
from trsp_core.physics.lattice import HypercubicLattice
from trsp_core.run import Run


def chunked(runs, size):
    """chunks(k): runs[k]'s event log in pieces of ``size`` events (the last one shorter)."""
    return lambda k: [(runs[k].times[a:a + size], runs[k].clusters[a:a + size])
                      for a in range(0, len(runs[k].times), size)]


def light(runs):
    """The runs as the streamed path sees them: seed and t_end, no event log."""
    return [Run(seed=r.seed, t_end=r.t_end, n_events_stored=r.n_events) for r in runs]


def padded_mixture(L=10, n_runs=6, t_end=400.0, seed=1):
    """A mixture-like model: single-site clusters padded to m = 3 by repeating their site
    (the padding of mixtures of cluster rules), beside 3-site clusters; per-site rates differ
    so S4 is not flat. s_before/s_after are NaN-padded as a mixture's logs are."""
    lat = HypercubicLattice((L, L), 1.0)
    N = lat.n_sites
    i = np.arange(N)
    x, y = i // L, i % L
    singles = np.stack([i, i, i], axis=1)                                  # duplicates: one site
    triples = np.stack([i, x * L + (y + 1) % L, ((x + 1) % L) * L + y], axis=1)
    cluster_sites = np.concatenate([singles, triples])
    rng = np.random.default_rng(seed)
    rate = np.concatenate([0.004 * (1 + (x % 5 == 0)), np.full(N, 0.0015)])  # stripes: spatial structure
    runs = []
    for k in range(n_runs):
        n = rng.poisson(rate.sum() * t_end)
        times = np.sort(rng.uniform(0, t_end, n))
        clusters = rng.choice(len(rate), n, p=rate / rate.sum())
        before = rng.normal(size=(n, 3))
        before[clusters < N, 1:] = np.nan
        runs.append(Run(seed=10 + (k * 7) % n_runs, t_end=t_end, times=times, clusters=clusters,
                        s_before=before, s_after=before.copy()))
    model = SimpleNamespace(lattice=lat, n_sites=N, cluster_sites=cluster_sites)
    return model, runs


def poisson(L=12, n_runs=8, t_end=600.0, rate=0.01, seed=0):
    lat = HypercubicLattice((L, L), 1.0)
    N = lat.n_sites
    rng = np.random.default_rng(seed)
    runs = []
    for k in range(n_runs):
        n = rng.poisson(rate * t_end * N)
        runs.append(Run(seed=k, t_end=t_end, times=np.sort(rng.uniform(0, t_end, n)), clusters=rng.integers(0, N, n)))
    return SimpleNamespace(lattice=lat, n_sites=N, cluster_sites=np.arange(N)[:, None]), runs


def _close(a, b, names, rtol=0.0):
    """Equal variables and attributes: bitwise (rtol=0) or to ``rtol``."""
    for name in names:
        x, y = np.asarray(a[name].values, float), np.asarray(b[name].values, float)
        if rtol:
            np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol, err_msg=name)
        else:
            np.testing.assert_array_equal(x, y, err_msg=name)
        assert a[name].attrs == b[name].attrs, name


S4_VARS = ("S4", "S4_err", "S4_n_vectors", "S4_fitted", "S4_time", "S4_zero", "S4_zero_err", "xi4_oz", "xi4_oz_err",
           "xi4_oz_qxi", "xi4_oz_err_boot")
BLOCK_VARS = ("chi4_block", "chi4_block_err", "chi4_block_fit", "block_time", "xi4_block", "xi4_block_err",
              "chi4_inf", "G4_self", "G4_amplitude")


def test_indicator_accumulator_is_indicator_fields_with_padded_clusters():
    model, runs = padded_mixture()
    r = runs[0]
    for t in (0.7, 25.0, 180.0):
        acc = fourpoint.IndicatorAccumulator(model.cluster_sites, model.n_sites, r.t_end, t, 17)
        for times, clusters in chunked(runs, 13)(0):
            acc.add(times, clusters)
        want = fourpoint.indicator_fields([r], model.cluster_sites, model.n_sites, t, 17)[0]
        np.testing.assert_array_equal(acc.result(), want)
        assert 0.05 < want.mean() < 0.999  # neither trivial nor saturated
    with pytest.raises(ValueError, match="shorter than t"):
        fourpoint.IndicatorAccumulator(model.cluster_sites, model.n_sites, 10.0, 11.0)


def test_alpha_samples_equal_overlap_samples():
    model, runs = padded_mixture()
    lags, Q = fourpoint.alpha_samples(model, light(runs), chunked(runs, 50))
    np.testing.assert_array_equal(lags, default_lags(runs[0].t_end, 48))
    np.testing.assert_array_equal(Q, overlap_samples(runs, model.cluster_sites, model.n_sites, lags, 64))


@pytest.mark.parametrize("make", [padded_mixture, poisson])
def test_s4_streamed_equals_in_memory(make):
    model, runs = make()
    obs = FourPointStructureFactor(n_boot=30)
    want = obs.compute(model, runs)
    got = obs.compute_streamed(model, light(runs), chunked(runs, 97))
    _close(got, want, S4_VARS)
    np.testing.assert_array_equal(got.attrs["s4_log_time_offsets"], want.attrs["s4_log_time_offsets"])
    assert len(want.attrs["s4_log_time_offsets"]) == 3 and np.isfinite(float(want.xi4_oz))
    # samples accumulated elsewhere (compose does this while simulating), in the caller's order
    lags, Q = fourpoint.alpha_samples(model, light(runs), chunked(runs, 500))
    _close(obs.compute_streamed(model, light(runs), chunked(runs, 500), alpha=(lags, Q)), want, S4_VARS)
    # a fixed evaluation time
    fixed = FourPointStructureFactor(t=40.0, n_boot=20)
    _close(fixed.compute_streamed(model, light(runs), chunked(runs, 31)), fixed.compute(model, runs), S4_VARS)


def test_s4_known_answer_independent_sites():
    """Independent Poisson sites: S4(q) = Q(1 - Q) at every q, Q = exp(-rate t); the streamed
    path gives it within its error bars (and equals the in-memory one)."""
    model, runs = poisson(n_runs=16)
    got = FourPointStructureFactor(t=50.0, n_boot=50).compute_streamed(model, light(runs), chunked(runs, 1000))
    q = np.exp(-0.01 * 50.0)
    s4 = got.S4.values[1:]   # q = 0 is chi4 (its own, larger error); the rest are independent shells
    err = got.S4_err.values[1:]
    assert np.all(np.abs(s4 - q * (1 - q)) < 5 * err)
    assert abs(s4.mean() - q * (1 - q)) < 5 * np.sqrt(np.mean(err**2) / len(s4)) * 3


@pytest.mark.parametrize("make", [padded_mixture, poisson])
def test_block_chi4_streamed_equals_in_memory(make):
    model, runs = make()
    obs = BlockChi4(n_boot=30)
    _close(obs.compute_streamed(model, light(runs), chunked(runs, 64)), obs.compute(model, runs), BLOCK_VARS)
    fixed = BlockChi4(t=30.0, n_boot=10)
    _close(fixed.compute_streamed(model, light(runs), chunked(runs, 64)), fixed.compute(model, runs), BLOCK_VARS)


#: the fitted values (S4(0), xi4, G4) come from iterative least squares, which turns a
#: rounding difference of 1e-16 in its data into ~1e-9 (measured 1e-9 on S4_zero)
FITTED = ("S4_zero", "S4_zero_err", "xi4_oz", "xi4_oz_err", "xi4_oz_qxi", "xi4_oz_err_boot", "chi4_block_fit",
          "xi4_block", "xi4_block_err", "chi4_inf", "G4_self", "G4_amplitude")


def test_origin_batches_give_the_same_moments(monkeypatch):
    """A run too big for one FFT batch is split by origins: the same S4 and block chi4 to
    float rounding (1e-12), the OZ fit to 1e-7."""
    model, runs = padded_mixture(n_runs=3)
    obs = FourPointStructureFactor(n_boot=10)
    blk = BlockChi4(n_boot=10)
    want, want_b = obs.compute(model, runs), blk.compute(model, runs)
    monkeypatch.setattr(fourpoint, "FFT_BATCH", 5 * model.n_sites)   # 64 origins in 13 batches
    assert len(fourpoint._origin_batches(64, model.n_sites)) == 13
    got, got_b = obs.compute_streamed(model, light(runs), chunked(runs, 200)), blk.compute_streamed(
        model, light(runs), chunked(runs, 200))
    _close(got, want, [v for v in S4_VARS if v not in FITTED], rtol=1e-12)
    _close(got_b, want_b, [v for v in BLOCK_VARS if v not in FITTED], rtol=1e-12)
    _close(got, want, [v for v in S4_VARS if v in FITTED], rtol=1e-7)
    # (this data's block-scaling fit is degenerate, xi4_block at its bound: its fitted values
    # move by 1e-3 with rounding, so only the S4 fit is compared)
    assert not np.array_equal(got.S4.values, want.S4.values)  # the batched sums did take another path


def test_streamed_path_reads_no_event_log():
    """The light runs carry no events: the streamed path reads only the chunks it is given."""
    model, runs = padded_mixture(n_runs=3)
    seen = []

    def chunks(k):
        seen.append(k)
        return chunked(runs, 100)(k)

    FourPointStructureFactor(n_boot=5).compute_streamed(model, light(runs), chunks)
    assert sorted(seen) == sorted(list(range(3)) * 2)   # each run once for tau_alpha, once for its fields
