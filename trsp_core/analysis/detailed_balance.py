"""The direct detailed-balance test (paper App. F1) on event logs.

Coarsen S of a rearranging site into bins; A = bin before, B = bin after the
event. Detailed balance (a property of any coarsening) requires
P(A|R) P(A->B) = P(B|R) P(B->A), i.e. equal expected counts N(A->B) = N(B->A).
"""
from __future__ import annotations

import numpy as np


def quantile_edges(runs, n_bins: int) -> np.ndarray:
    """Bin edges at quantiles of the pooled before/after S of rearranging sites (open ends)."""
    s = np.concatenate([np.concatenate([r.s_before.ravel(), r.s_after.ravel()]) for r in runs])
    if s.size == 0:
        raise ValueError("no events: cannot test detailed balance")
    inner = np.quantile(s, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.concatenate([[-np.inf], inner, [np.inf]])


def transition_counts(run, edges: np.ndarray) -> np.ndarray:
    """N[A, B]: rearranging sites whose S went from bin A to bin B."""
    nb = len(edges) - 1
    a = np.clip(np.searchsorted(edges, run.s_before.ravel(), "right") - 1, 0, nb - 1)
    b = np.clip(np.searchsorted(edges, run.s_after.ravel(), "right") - 1, 0, nb - 1)
    return np.bincount(a * nb + b, minlength=nb * nb).reshape(nb, nb).astype(float)


def upper_pairs(n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(n_bins, k=1)
