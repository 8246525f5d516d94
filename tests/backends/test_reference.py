"""The dense reference simulator keeps the equilibrium law and obeys detailed balance."""
import numpy as np
import pytest

from profile_forms import FORMS
from trsp_core.spec import compose
from trsp_core.physics.timescales import mean_rate_time
from trsp_core.backends.simulate import simulate

N_SEEDS = 10
DURATION = 22.0  # mean per-site rearrangement times d/<P(R|S)> per seed


# cubic + plaquette (the default), and the skewed lattices with their own rules
COMPOSITIONS = {"cubic": dict(size=5), "fcc": dict(size=5, lattice="fcc", cluster="tetrahedron"),
                "triangular": dict(size=10, lattice="triangular", cluster="triangle"),
                "mixture": dict(size=5, cluster="single:0.3+plaquette:0.7"),
                # functional forms (issue 14)
                **{form: dict(size=5, params=FORMS[form]) for form in ("tabulated-coarse", "damped-oscillation",
                                                                       "per-temperature")}}


@pytest.fixture(scope="module", params=list(COMPOSITIONS))
def runs(request):
    m = compose(temperature=0.6, **COMPOSITIONS[request.param])
    out = [simulate(m, DURATION * mean_rate_time(m), s, backend="reference", n_snapshots=24) for s in range(N_SEEDS)]
    return m, out


def _zscore(samples, target):
    samples = np.asarray(samples)
    return (samples.mean() - target) / (samples.std(ddof=1) / np.sqrt(len(samples)))


def test_time_weighted_mean_is_stationary(runs):
    m, rs = runs
    per_seed = [r.s_time_integral.mean() / r.t_end for r in rs]
    assert abs(_zscore(per_seed, m.mu)) < 4


def test_correlation_is_stationary(runs):
    """C(r) from fixed-time snapshots (late half of each run) matches the target C(r)."""
    m, rs = runs
    lat = m.lattice
    for shift in ([0, 0, 0], [1, 0, 0], [1, 1, 0], [2, 0, 0]):
        shift = shift[:lat.dim]
        perm = lat.translation(np.array(shift))
        target = float(m.params.correlation(lat.offset_distance(np.array(shift))))
        per_seed = []
        for r in rs:
            late = r.snapshots[len(r.snapshots) // 2:] - m.mu
            per_seed.append(np.mean(late * late[:, perm]))
        assert abs(_zscore(per_seed, target)) < 4, shift


def _symmetry_chi2(before, after, edges):
    """chi^2 of N(A->B) vs N(B->A) over bin pairs with enough counts, and its dof."""
    nb = len(edges) - 1
    a = np.clip(np.digitize(before, edges) - 1, 0, nb - 1)
    b = np.clip(np.digitize(after, edges) - 1, 0, nb - 1)
    N = np.zeros((nb, nb))
    np.add.at(N, (a, b), 1)
    iu = np.triu_indices(nb, 1)
    nab, nba = N[iu], N.T[iu]
    ok = nab + nba >= 10
    chi2 = np.sum((nab[ok] - nba[ok]) ** 2 / (nab[ok] + nba[ok]))
    return chi2, int(ok.sum())


def _chi2_limit(dof):
    # p = 0.001 upper quantile of chi^2 (Wilson-Hilferty), so a correct model fails 1 in 1000
    from scipy.stats import chi2

    return chi2.ppf(0.999, dof)


def test_binned_transitions_are_symmetric(runs):
    """Detailed balance channel by channel (a mixture's channels are each reversible)."""
    m, rs = runs
    edges = np.linspace(m.mu - 2.5, m.mu + 2.5, 9)
    for c in range(len(m.channels)):
        mine = [m.orientation_channel[r.clusters // m.n_sites] == c for r in rs]
        before = np.concatenate([r.s_before[k, 0] for r, k in zip(rs, mine)])
        after = np.concatenate([r.s_after[k, 0] for r, k in zip(rs, mine)])
        chi2, dof = _symmetry_chi2(before, after, edges)
        assert dof >= 10, c
        assert chi2 < _chi2_limit(dof), (c, chi2, dof)


def test_symmetry_statistic_detects_irreversible_transitions():
    """A drift after every event (S' = S + 0.3 + noise) is irreversible: the chi^2 must flag it."""
    rng = np.random.default_rng(5)
    before = rng.normal(size=20000)
    after = 0.6 * before + 0.8 * rng.normal(size=20000) + 0.3
    chi2, dof = _symmetry_chi2(before, after, np.linspace(-2.5, 2.5, 9))
    assert chi2 > _chi2_limit(dof)


def test_stationarity_detects_a_broken_kernel(monkeypatch):
    """Over-reverting kicks (H scaled by 1.5) shrink the variance of S: C(0) must drift off target.

    (A single site's binned transitions stay symmetric here: any linear-Gaussian
    update of one variable is reversible w.r.t. its own stationary law.)
    """
    m = compose(size=5, temperature=0.6)
    import attrs

    broken = {o: attrs.evolve(m.dense_kernel(o), H=1.5 * m.dense_kernel(o).H) for o in range(3)}
    monkeypatch.setattr(m, "dense_kernel", lambda o: broken[o])
    rs = [simulate(m, DURATION * mean_rate_time(m), s, backend="reference", n_snapshots=24) for s in range(N_SEEDS)]
    per_seed = [np.mean((r.snapshots[12:] - m.mu) ** 2) for r in rs]
    assert _zscore(per_seed, m.params.C0) < -4


def test_same_seed_same_events():
    m = compose(size=4, temperature=0.6)
    a = simulate(m, 100.0, 3, backend="reference")
    b = simulate(m, 100.0, 3, backend="reference")
    np.testing.assert_array_equal(a.times, b.times)
    np.testing.assert_array_equal(a.clusters, b.clusters)


def test_overlap_on_poisson_log_matches_analytics():
    """Independent sites rearranging at rate r: Q(t) = exp(-r t), chi4 = Q (1 - Q)."""
    from trsp_core.observables.overlap import chi4_from_samples, overlap_samples
    from trsp_core.run import Run

    rng = np.random.default_rng(0)
    n, rate, t_end = 400, 0.05, 4000.0
    runs = []
    for s in range(4):
        times, sites = [], []
        for i in range(n):
            t = np.cumsum(rng.exponential(1 / rate, size=int(3 * rate * t_end)))
            t = t[t < t_end]
            times.append(t)
            sites.append(np.full(len(t), i))
        t = np.concatenate(times)
        c = np.concatenate(sites)
        o = np.argsort(t)
        z = np.zeros((len(t), 1))
        runs.append(Run(seed=s, t_end=t_end, times=t[o], clusters=c[o], s_before=z, s_after=z,
                        snapshot_times=np.zeros(0), snapshots=np.zeros((0, n)), s_initial=np.zeros(n),
                        s_final=np.zeros(n), hist_edges=np.zeros(2), occupancy=np.zeros(1), s_time_integral=np.zeros(n)))
    lags = np.array([2.0, 10.0, 20.0, 40.0])
    Q = overlap_samples(runs, np.arange(n)[:, None], n, lags, n_origins=200)
    q, chi4 = chi4_from_samples(Q, n)
    exact = np.exp(-rate * lags)
    np.testing.assert_allclose(q, exact, atol=0.01)
    np.testing.assert_allclose(chi4, exact * (1 - exact), rtol=0.15)
