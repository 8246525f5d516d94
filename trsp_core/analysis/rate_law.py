"""Observed per-site P(R|S) from event logs and time-weighted occupancies.

Estimator: every site of a firing cluster rearranges, with S_before its value
just before the event. Per S bin b, rate_b = (rearrangements with S_before in
b) / (time-weighted site occupancy of b); P_b = d * rate_b (per frame). The
denominator is ``Run.occupancy``: dividing by the number of *events* in a bin
would weight states by the event rate and bias the law.
"""
from __future__ import annotations

import numpy as np
from scipy import stats


def site_counts(run, edges: np.ndarray) -> np.ndarray:
    """Rearrangements per S bin (S_before of every member of every event)."""
    counts, _ = np.histogram(np.asarray(run.s_before).reshape(-1), bins=edges)
    return counts.astype(float)


def bin_target(observed, mu: float, sigma2: float, edges: np.ndarray, n_sub: int = 64) -> np.ndarray:
    """Bin average of P(R|S)/d weighted by the equilibrium density Normal(mu, sigma2).

    That is what count/occupancy estimates in a finite bin (exactly, in expectation).
    """
    out = np.empty(len(edges) - 1)
    sd = np.sqrt(sigma2)
    for b, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        s = np.linspace(lo, hi, n_sub + 1)
        s = 0.5 * (s[1:] + s[:-1])
        w = stats.norm.pdf(s, mu, sd)
        out[b] = np.sum(w * observed.probability(s)) / np.sum(w) / observed.d
    return out


def per_seed_rates(runs) -> tuple[np.ndarray, np.ndarray]:
    """(counts (n_runs, B), occupancy (n_runs, B)) on the runs' common histogram edges."""
    edges = runs[0].hist_edges
    for r in runs[1:]:
        if not np.array_equal(r.hist_edges, edges):
            raise ValueError("all runs must share the same hist_edges to pool P(R|S)")
    return np.stack([site_counts(r, edges) for r in runs]), np.stack([r.occupancy for r in runs])
