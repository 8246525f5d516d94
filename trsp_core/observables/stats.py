"""Seed-level significance tests shared by every check.

Independent seeds are the only samples we can treat as independent: events,
snapshots and time origins within a run are correlated (facilitation,
slow relaxation). So every test here reduces a run to one number per
component and compares the seed-to-seed scatter with the target.
"""
from __future__ import annotations

import attrs
import numpy as np
from scipy import stats

#: Family-wise false-alarm probability of one check (Bonferroni over its components).
ALPHA = 1e-3


@attrs.frozen
class TestResult:
    """Outcome of a max-|t| test over K components."""

    mean: np.ndarray       # (K,) mean over seeds of the per-seed deviation
    se: np.ndarray         # (K,) standard error of that mean
    t: np.ndarray          # (K,) mean / se
    statistic: float       # max_k |t_k|
    threshold: float       # Bonferroni two-sided quantile
    dof: int

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.statistic) and self.statistic <= self.threshold)


def t_threshold(n_components: int, dof: int | None, alpha: float = ALPHA) -> float:
    """|t| quantile at two-sided level alpha / K (Student-t; normal when dof is None)."""
    p = 1.0 - alpha / (2.0 * max(int(n_components), 1))
    return float(stats.norm.ppf(p) if dof is None else stats.t.ppf(p, dof))


def seed_t_test(per_seed: np.ndarray, target=0.0, alpha: float = ALPHA) -> TestResult:
    """Max-|t| test that the seed mean of ``per_seed`` (n_seeds, K) equals ``target``.

    Each component gets a one-sample Student t with n_seeds - 1 degrees of
    freedom; the check's statistic is the largest |t| and its threshold the
    Bonferroni-corrected quantile, so the family-wise false-alarm rate is at
    most ``alpha`` whatever the correlations between components.
    """
    x = np.asarray(per_seed, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    n = x.shape[0]
    if n < 3:
        raise ValueError(f"a seed-level test needs at least 3 independent seeds, got {n}")
    dev = x - np.asarray(target, dtype=float)
    mean = dev.mean(axis=0)
    se = dev.std(axis=0, ddof=1) / np.sqrt(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, mean / se, np.where(mean == 0, 0.0, np.inf))
    return TestResult(mean=mean, se=se, t=t, statistic=float(np.max(np.abs(t))),
                      threshold=t_threshold(x.shape[1], n - 1, alpha), dof=n - 1)


def z_test(mean: np.ndarray, se: np.ndarray, alpha: float = ALPHA) -> TestResult:
    """Max-|z| test for components estimated from many iid samples (normal quantile)."""
    mean, se = np.atleast_1d(np.asarray(mean, float)), np.atleast_1d(np.asarray(se, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, mean / se, np.where(mean == 0, 0.0, np.inf))
    return TestResult(mean=mean, se=se, t=z, statistic=float(np.max(np.abs(z))),
                      threshold=t_threshold(len(mean), None, alpha), dof=-1)


def bootstrap_picks(n_seeds: int, n_boot: int = 200, seed: int = 0) -> list[np.ndarray]:
    """Index arrays of ``n_boot`` bootstrap resamplings of ``n_seeds`` seeds.

    Every bootstrap in trsp draws these, so observables computed from the same runs
    (tau_alpha, chi4*, xi4 at each resample's own tau_alpha) share their resamples.
    """
    rng = np.random.default_rng(seed)
    return [rng.integers(0, n_seeds, n_seeds) for _ in range(n_boot)]


def bootstrap(per_seed_fn, n_seeds: int, n_boot: int = 200, seed: int = 0) -> np.ndarray:
    """Stack of ``per_seed_fn(indices)`` over bootstrap resamplings of the seeds."""
    return np.asarray([per_seed_fn(k) for k in bootstrap_picks(n_seeds, n_boot, seed)])


@attrs.frozen
class FlipResult:
    """Outcome of a sign-flip (randomisation) chi-square test over K components."""

    mean: np.ndarray
    se: np.ndarray
    t: np.ndarray
    statistic: float       # sum_k t_k^2 (Student t of each component over seeds)
    threshold: float       # (1 - alpha) quantile of the statistic over sign flips of whole seeds
    p_value: float
    dof: int

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.statistic) and self.statistic <= self.threshold)


def sign_flip_test(per_seed: np.ndarray, target=0.0, alpha: float = ALPHA, n_flips: int = 65536,
                   seed: int = 0) -> FlipResult:
    """Chi-square-like test that the seed mean of ``per_seed`` (n_seeds, K) equals ``target``.

    Statistic: T = sum_k t_k^2, t_k the one-sample Student t of component k
    over seeds (a chi-square symmetry statistic with seed-estimated variances).
    Its null distribution comes from randomisation: under the null each
    seed's deviation vector is symmetric about 0, so flipping the sign of
    whole seeds leaves its law unchanged (Fisher's test). The threshold is the
    (1 - alpha) quantile of T over the flips, which accounts exactly for
    correlations between components and for the heavy tails of t at few
    seeds. All 2^n flips are used when n <= 16, else ``n_flips`` random ones.
    """
    x = np.asarray(per_seed, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    x = x - np.asarray(target, dtype=float)
    n, K = x.shape
    if n < 8:
        raise ValueError(f"a sign-flip test at alpha={alpha:g} needs at least 8 seeds, got {n}")
    if n <= 16:
        eps = 1.0 - 2.0 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
    else:
        eps = np.random.default_rng(seed).choice([-1.0, 1.0], size=(n_flips, n))
        eps[0] = 1.0
    ss = (x**2).sum(axis=0)

    def t2(m):  # m: (F, K) flipped means; sum of squares is flip-invariant
        var = np.maximum((ss - n * m**2) / (n - 1), 1e-300)
        return n * m**2 / var

    null = np.concatenate([t2(e @ x / n).sum(axis=1) for e in np.array_split(eps, max(1, len(eps) // 8192))])
    mean = x.mean(axis=0)
    stat = float(t2(mean[None, :]).sum())
    se = x.std(axis=0, ddof=1) / np.sqrt(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, mean / se, 0.0)
    return FlipResult(mean=mean, se=se, t=t, statistic=stat, threshold=float(np.quantile(null, 1.0 - alpha)),
                      p_value=float(np.mean(null >= stat)), dof=K)


def value_with_error(v: float, e: float | None) -> str:
    """'156 ± 10' style: the error to two significant digits, the value to the same place."""
    import math

    if e is None or not math.isfinite(e) or e <= 0:
        return f"{v:.4g}"
    place = 1 - int(math.floor(math.log10(e)))     # decimals that keep two digits of the error
    if place <= 0:
        q = 10 ** (-place)
        return f"{round(v / q) * q:.0f} ± {round(e / q) * q:.0f}"
    return f"{v:.{place}f} ± {e:.{place}f}"
