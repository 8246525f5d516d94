"""Built-in observables, each a small compute object returning labelled data."""
from __future__ import annotations

import numpy as np
import xarray as xr

from trsp_core import hookimpl
from trsp_core.interfaces import Observable
from trsp_core.overlap import bootstrap_peak, chi4_from_samples, default_lags, overlap_samples, peak


class Overlap(Observable):
    """Q(t), chi4(t) = N Var Q over origins and seeds, tau_alpha = argmax chi4, chi4*."""

    name = "overlap"

    def __init__(self, n_lags: int = 48, n_origins: int = 64, lags=None):
        self.n_lags, self.n_origins, self.lags = n_lags, n_origins, lags

    def compute(self, model, runs):
        t_end = min(r.t_end for r in runs)
        lags = np.asarray(self.lags) if self.lags is not None else default_lags(t_end, self.n_lags)
        N = model.n_sites
        Q = overlap_samples(runs, model.cluster_sites, N, lags, self.n_origins)
        q_mean, chi4 = chi4_from_samples(Q, N)
        tau, chi_star = peak(lags, chi4)
        tau_err, chi_err = bootstrap_peak(Q, lags, N)
        lag = xr.Variable("lag", lags, {"units": "frames", "long_name": "lag time t"})
        ds = xr.Dataset(
            {
                "Q": ("lag", q_mean, {"units": "1", "long_name": "overlap Q(t): fraction of sites not rearranged"}),
                "chi4": ("lag", chi4, {"units": "1", "long_name": "four-point susceptibility N Var Q(t)"}),
                "Q_run": (("run", "lag"), Q.mean(axis=1), {"units": "1", "long_name": "Q(t) per run"}),
                "tau_alpha": ((), tau, {"units": "frames", "long_name": "alpha time (argmax chi4)"}),
                "tau_alpha_err": ((), tau_err, {"units": "frames", "long_name": "bootstrap std error of tau_alpha over seeds"}),
                "chi4_star": ((), chi_star, {"units": "1", "long_name": "peak of chi4"}),
                "chi4_star_err": ((), chi_err, {"units": "1", "long_name": "bootstrap std error of chi4* over seeds"}),
            },
            coords={"lag": lag},
        )
        ds.attrs["overlap_n_origins"] = self.n_origins
        return ds


@hookimpl
def trsp_observables():
    return {"overlap": Overlap}
