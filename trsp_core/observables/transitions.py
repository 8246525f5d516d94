"""The direct detailed-balance test (paper App. F1) on event logs.

Coarsen S of a rearranging site into bins; A = bin before, B = bin after the
event. Detailed balance (a property of any coarsening) requires
P(A|R) P(A->B) = P(B|R) P(B->A), i.e. equal expected counts N(A->B) = N(B->A).
"""
from __future__ import annotations

import numpy as np
import warnings

import xarray as xr

from trsp_core.observables._labels import seed_coord, var
from trsp_core.observables.stats import bootstrap
from trsp_core.plugin.interfaces import Observable


def quantile_edges(runs, n_bins: int) -> np.ndarray:
    """Bin edges at quantiles of the pooled before/after S of rearranging sites (open ends)."""
    s = np.concatenate([np.concatenate([r.s_before.ravel(), r.s_after.ravel()]) for r in runs])
    s = s[np.isfinite(s)]  # NaN pads the smaller clusters of a mixture
    if s.size == 0:
        raise ValueError("no events: cannot test detailed balance")
    inner = np.quantile(s, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.concatenate([[-np.inf], inner, [np.inf]])


def transition_counts(run, edges: np.ndarray) -> np.ndarray:
    """N[A, B]: rearranging sites whose S went from bin A to bin B."""
    nb = len(edges) - 1
    real = np.isfinite(run.s_before.ravel())  # not the NaN padding of a mixture's smaller clusters
    a = np.clip(np.searchsorted(edges, run.s_before.ravel()[real], "right") - 1, 0, nb - 1)
    b = np.clip(np.searchsorted(edges, run.s_after.ravel()[real], "right") - 1, 0, nb - 1)
    return np.bincount(a * nb + b, minlength=nb * nb).reshape(nb, nb).astype(float)


def upper_pairs(n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(n_bins, k=1)


class DetailedBalanceTest(Observable):
    """App. F1: N(A->B) vs N(B->A) for S of rearranging sites binned before (A) and after (B)."""

    name = "detailed-balance"
    requires = ('kicks',)
    provides = ('db_counts', 'db_ratio', 'db_ratio_err')

    def __init__(self, n_bins: int = 6, n_boot: int = 200):
        self.n_bins, self.n_boot = n_bins, n_boot

    def compute(self, model, runs):
        edges = quantile_edges(runs, self.n_bins)
        N = np.stack([transition_counts(r, edges) for r in runs])  # (run, A, B)
        a, b = upper_pairs(self.n_bins)
        fwd, rev = N[:, a, b], N[:, b, a]
        total = N.sum(axis=(1, 2))

        def ratio(k):
            with np.errstate(invalid="ignore", divide="ignore"):
                return fwd[k].sum(0) / rev[k].sum(0)

        boot = bootstrap(ratio, len(runs), self.n_boot) if len(runs) > 1 else None
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            r_err = np.nanstd(boot, axis=0, ddof=1) if boot is not None else np.full(len(a), np.nan)
        pair = np.arange(len(a))
        return xr.Dataset(
            {
                "db_counts": var(("run", "db_from", "db_to"), N, "1", "rearranging sites moved from S bin A to bin B"),
                "db_edges": var("db_edge", edges, "descriptor", "S bin edges (quantiles of rearranging sites' S)"),
                "db_from_bin": var("db_pair", a, "1", "bin A of the pair (A < B)"),
                "db_to_bin": var("db_pair", b, "1", "bin B of the pair"),
                "db_forward": var(("run", "db_pair"), fwd, "1", "N(A->B) per run"),
                "db_reverse": var(("run", "db_pair"), rev, "1", "N(B->A) per run"),
                "db_joint": var("db_pair", fwd.sum(0) / total.sum(), "1", "P(A|R) P(A->B) (pooled frequency)"),
                "db_ratio": var("db_pair", ratio(np.arange(len(runs))), "1", "P(A|R)P(A->B) / (P(B|R)P(B->A))"),
                "db_ratio_err": var("db_pair", r_err, "1", "bootstrap std error of the ratio over seeds"),
            },
            coords={"db_pair": xr.Variable("db_pair", pair, {"units": "1", "long_name": "bin pair (A < B)"}),
                    "run": seed_coord(runs)},
        )
