"""C(r), <S>, P(R|S) and the detailed-balance test on data with known answers."""
import numpy as np
import pytest

from trsp_core.observables import DetailedBalanceTest, ObservedRateLaw, TimeWeightedStatics
from trsp_core.physics import gaussian
from trsp_core.observables import statics
from trsp_core.observables.stats import ALPHA, seed_t_test, sign_flip_test
from trsp_core.spec import compose
from trsp_core.physics.rates import ObservedRate
from trsp_core.run import Run
from trsp_core.validation import checks


def _run(seed, N, t_end=1.0, s_before=None, s_after=None, snapshots=None, occupancy=None, edges=None, s_int=None):
    e = np.zeros((0, 1)) if s_before is None else s_before
    return Run(seed=seed, t_end=t_end, times=np.zeros(len(e)), clusters=np.zeros(len(e), np.int64), s_before=e,
               s_after=e if s_after is None else s_after, snapshot_times=np.zeros(0 if snapshots is None else len(snapshots)),
               snapshots=np.zeros((0, N)) if snapshots is None else snapshots, s_initial=np.zeros(N), s_final=np.zeros(N),
               hist_edges=np.array([0.0, 1.0]) if edges is None else edges,
               occupancy=np.zeros(1) if occupancy is None else occupancy,
               s_time_integral=np.zeros(N) if s_int is None else s_int)


@pytest.fixture(scope="module")
def model():
    return compose(size=8, temperature=0.55)


def test_correlation_estimator_on_exact_gaussian_fields(model):
    """Snapshot C(r) of exact samples equals C(r) - lambda0/N; the check passes, and fails for a wrong C."""
    rng = np.random.default_rng(11)
    runs = []
    for k in range(16):
        snaps = gaussian.sample(model.spectrum, model.mu, rng, size=200)
        runs.append(_run(k, model.n_sites, snapshots=snaps, s_int=snaps.mean(axis=0)))  # t_end = 1
    ds = TimeWeightedStatics().compute(model, runs)
    assert checks.correlation(ds).passed
    assert checks.mean_s(ds).passed
    # The finite-N correction matters at this precision: C(r) itself is rejected.
    wrong = ds.copy()
    wrong["C_target"] = ds["C_model"]
    assert not checks.correlation(wrong).passed
    # ... and so is a 5% error in the correlation length.
    shells = statics.CorrelationShells(model.lattice, 4.4)
    p = model.params.evolve(xi=1.05 * model.params.xi)
    wrong["C_target"] = ("r_shell", shells.target(p.correlation))
    assert not checks.correlation(wrong).passed


def test_time_weighted_mean(model):
    runs = [_run(k, 4, t_end=2.0, s_int=np.array([1.0, 2.0, 3.0, 4.0])) for k in range(3)]
    assert statics.time_weighted_mean(runs[0]) == pytest.approx(1.25)


def _frozen_rate_runs(obs, mu, n_seeds, N, t_end, rng, edges):
    """Sites with fixed S ~ Normal(mu, 1) firing as Poisson processes at P(R|S)/d: a known P(R|S)."""
    runs = []
    for k in range(n_seeds):
        S = rng.normal(mu, 1.0, N)
        n = rng.poisson(obs.probability(S) / obs.d * t_end)
        occ = np.histogram(S, edges)[0] * t_end
        runs.append(_run(k, N, t_end=t_end, s_before=np.repeat(S, n)[:, None], occupancy=occ.astype(float), edges=edges))
    return runs


def test_rate_law_estimator_recovers_known_law(model):
    rng = np.random.default_rng(2)
    edges = np.linspace(model.mu - 6, model.mu + 6, 49)
    runs = _frozen_rate_runs(model.observed, model.mu, 16, 4000, 400.0, rng, edges)
    ds = ObservedRateLaw().compute(model, runs)
    c = checks.rate_law(ds, model.observed.d)
    assert c.passed and c.details["bins_tested"] > 10
    # A law with a 10% different gamma is detected.
    o = model.observed
    bad = ObservedRate(A=o.A, gamma=1.1 * o.gamma, delta=o.delta, d=o.d)
    runs_bad = _frozen_rate_runs(bad, model.mu, 16, 4000, 400.0, rng, edges)
    assert not checks.rate_law(ObservedRateLaw().compute(model, runs_bad), o.d).passed


def _pairs(n_seeds, n, rng, shrink=1.0):
    runs = []
    for k in range(n_seeds):
        x = rng.normal(0, 1, n)
        y = 0.6 * x + 0.8 * rng.normal(0, 1, n)  # (x, y) exchangeable: same marginal, symmetric joint
        runs.append(_run(k, 1, s_before=x[:, None], s_after=shrink * y[:, None]))
    return runs


def test_detailed_balance_test_on_exchangeable_and_broken_pairs(model):
    rng = np.random.default_rng(4)
    ds = DetailedBalanceTest().compute(model, _pairs(16, 4000, rng))
    assert checks.detailed_balance(ds).passed
    assert np.all(np.abs(ds["db_ratio"].values - 1) < 5 * ds["db_ratio_err"].values)
    # After-states 10% narrower than before-states: not time-reversible.
    broken = DetailedBalanceTest().compute(model, _pairs(16, 4000, rng, shrink=0.9))
    assert not checks.detailed_balance(broken).passed


@pytest.mark.parametrize("test", [seed_t_test, sign_flip_test])
def test_seed_tests_are_calibrated(test):
    """False-alarm rate at level alpha = 0.05 on null data is 0.05 within binomial error; power on shifted data."""
    rng = np.random.default_rng(0)
    rep = 400
    alarms = sum(not test(rng.normal(0, 1, (12, 5)), alpha=0.05).passed for _ in range(rep))
    assert alarms / rep < 0.05 + 3 * np.sqrt(0.05 * 0.95 / rep)
    assert not test(rng.normal(3.0, 1, (12, 5)), alpha=ALPHA).passed
