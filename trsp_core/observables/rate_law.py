"""Observed per-site P(R|S) from event logs and time-weighted occupancies.

Estimator: every site of a firing cluster rearranges, with S_before its value
just before the event. Per S bin b, rate_b = (rearrangements with S_before in
b) / (time-weighted site occupancy of b); P_b = d * rate_b (per frame). The
denominator is ``Run.occupancy``: dividing by the number of *events* in a bin
would weight states by the event rate and bias the law.
"""
from __future__ import annotations

import numpy as np
import warnings

import xarray as xr

from trsp_core.observables._labels import seed_coord, var
from trsp_core.observables.stats import bootstrap
from trsp_core.plugin.interfaces import Observable
from scipy import stats


def site_counts(run, edges: np.ndarray) -> np.ndarray:
    """Rearrangements per S bin (S_before of every member of every event)."""
    s = np.asarray(run.s_before).reshape(-1)
    counts, _ = np.histogram(s[np.isfinite(s)], bins=edges)  # NaN pads a mixture's smaller clusters
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


class ObservedRateLaw(Observable):
    """Observed per-site P(R|S) = d * counts / occupancy per S bin, against the target law."""

    name = "rate-law"
    requires = ('kicks', 'occupancy')
    provides = ('P_R', 'P_R_err', 'P_R_target')

    def compute(self, model, runs):
        counts, occ = per_seed_rates(runs)
        edges = runs[0].hist_edges
        d = model.observed.d
        with np.errstate(invalid="ignore", divide="ignore"):
            P = d * counts.sum(0) / occ.sum(0)
            P_run = d * counts / occ
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # empty tail bins: NaN, not an error
            boot = bootstrap(lambda k: d * counts[k].sum(0) / occ[k].sum(0), len(runs)) if len(runs) > 1 else None
            err = np.nanstd(boot, axis=0, ddof=1) if boot is not None else np.full_like(P, np.nan)
        target = d * bin_target(model.observed, model.mu, model.params.C0, edges)
        centre = xr.Variable("rate_bin", 0.5 * (edges[1:] + edges[:-1]), {"units": "descriptor", "long_name": "S bin centre"})
        return xr.Dataset(
            {
                "P_R": var("rate_bin", P, "1/frame", "observed P(R|S) per frame (d x counts / occupancy)"),
                "P_R_err": var("rate_bin", err, "1/frame", "bootstrap std error of P(R|S) over seeds"),
                "P_R_target": var("rate_bin", target, "1/frame", "target A exp(gamma S - delta S^2), equilibrium-weighted bin average"),
                "P_R_run": var(("run", "rate_bin"), P_run, "1/frame", "observed P(R|S) per run"),
                "rate_counts": var(("run", "rate_bin"), counts, "1", "site rearrangements per S bin"),
                "rate_occupancy": var(("run", "rate_bin"), occ, "site frames", "time-weighted site occupancy per S bin"),
                "rate_bin_lo": var("rate_bin", edges[:-1], "descriptor", "lower bin edge"),
                "rate_bin_hi": var("rate_bin", edges[1:], "descriptor", "upper bin edge"),
            },
            coords={"rate_bin": centre, "run": seed_coord(runs)},
        )
