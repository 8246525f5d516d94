"""The chi4 (and S4) estimator is unbiased: many independent replicas of a known case.

Independent sites hopping with probability p per frame: Q(t) of one origin is the mean
of N Bernoulli((1-p)^t) variables, so N Var Q = q (1 - q) exactly. Origins of one run
overlap (strongly correlated), which is what makes the pooled-mean estimator biased low.
"""
import numpy as np

from trsp_core.md.dynamics import phop_samples
from trsp_core.observables.fourpoint import s4_from_moments
from trsp_core.observables.overlap import chi4_from_samples


def _replica(rng, R=3, F=120, N=200, p=0.02, lag=30):
    Q = np.stack([phop_samples(rng.random((F, N)) < p, np.arange(F - lag), np.array([lag]))[0] for _ in range(R)])
    return Q, (1 - p) ** lag


def test_chi4_is_unbiased_over_replicas_and_the_uncorrected_one_is_not():
    rng = np.random.default_rng(5)
    N, reps = 200, 1000
    corrected, naive = [], []
    for _ in range(reps):
        Q, q = _replica(rng, N=N)
        corrected.append(chi4_from_samples(Q, N)[1][0])
        naive.append(N * Q.reshape(-1).var())
    truth = q * (1 - q)
    corrected, naive = np.array(corrected), np.array(naive)
    se = corrected.std(ddof=1) / np.sqrt(reps)
    assert abs(corrected.mean() - truth) < 4 * se, (corrected.mean(), truth, se)
    # the test has power: the old estimator sits many standard errors low
    assert naive.mean() < truth - 4 * naive.std(ddof=1) / np.sqrt(reps)


def test_s4_at_q0_equals_the_corrected_chi4():
    rng = np.random.default_rng(6)
    Q, _ = _replica(rng)
    N = 200
    # q = 0: Q(q=0) = Q itself, |Q|^2 its square; moments per run over origins
    q2 = (Q[..., 0] ** 2).mean(axis=1)[:, None]
    q1 = Q[..., 0].mean(axis=1)[:, None].astype(complex)
    np.testing.assert_allclose(s4_from_moments(q2, q1, N), chi4_from_samples(Q, N)[1], rtol=1e-12)
