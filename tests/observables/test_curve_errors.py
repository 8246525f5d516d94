"""Per-lag error bands of Q(t) and chi4(t) (bootstrap over runs) against the spread of
independent replicas of a known case."""
import numpy as np

from trsp_core.observables.overlap import chi4_from_samples, curve_errors


def _replica(rng, R, O, N, p):
    # R runs x O origins of N independent sites, each persisting with probability p(t):
    # Q = Binomial(N, p) / N per sample, chi4 = N Var Q = p (1 - p)
    return rng.binomial(N, p, size=(R, O, len(p))) / N


def test_bands_match_the_spread_of_independent_replicas():
    rng = np.random.default_rng(11)
    R, O, N = 12, 4, 200
    p = np.array([0.95, 0.7, 0.4, 0.1])
    reps = [_replica(rng, R, O, N, p) for _ in range(300)]
    q_spread = np.std([Q.mean(axis=(0, 1)) for Q in reps], axis=0, ddof=1)
    chi_spread = np.std([chi4_from_samples(Q, N)[1] for Q in reps], axis=0, ddof=1)
    errs = [curve_errors(Q, N) for Q in reps[:60]]
    q_err = np.mean([e[0] for e in errs], axis=0)
    chi_err = np.mean([e[1] for e in errs], axis=0)
    # the bootstrap over R runs underestimates by sqrt((R-1)/R) ~ 4 %; the replica spreads
    # from 300 replicas are good to ~4 %, the mean bootstrap error to ~2 %: 20 % is > 4 sigma
    np.testing.assert_allclose(q_err, q_spread, rtol=0.2)
    np.testing.assert_allclose(chi_err, chi_spread, rtol=0.2)


def test_one_run_has_no_band():
    Q = np.full((1, 5, 3), 0.5)
    q_err, chi_err = curve_errors(Q, 10)
    assert np.isnan(q_err).all() and np.isnan(chi_err).all()
