"""Dense view of one cluster's rearrangement kernel (small lattices), as labelled data."""
from __future__ import annotations

import numpy as np
import xarray as xr

from trsp_core.compose import build_model
from trsp_core.errors import ParameterError
from trsp_core.io import provenance

MAX_SITES = 4096


def kernel_dataset(model_options: dict, orientation: int = 0) -> xr.Dataset:
    model = build_model(**model_options)
    if model.n_sites > MAX_SITES:
        raise ParameterError(f"inspect writes dense N x N matrices: size gives {model.n_sites} sites > {MAX_SITES}")
    if not 0 <= orientation < len(model.orientations):
        raise ParameterError(f"orientation must be in [0, {len(model.orientations) - 1}], got {orientation}")
    k = model.dense_kernel(orientation)
    # Rows outside the kick window vanish analytically; the eigensolver leaves ~1e-16.
    rows = np.flatnonzero(np.abs(k.H).max(axis=1) > 1e-12 * max(np.abs(k.H).max(), 1.0))
    cols = np.arange(model.n_sites)
    pos = model.lattice.positions()
    ds = xr.Dataset(
        {
            "H": (("row", "col"), k.H[rows], {"units": "1", "long_name": "mean-reversion matrix H (non-zero rows)"}),
            "row_sites": ("row", rows, {"units": "1", "long_name": "site index of each row of H"}),
            "col_sites": ("col", cols, {"units": "1", "long_name": "site index of each column of H"}),
            "mu_prime": ("site", k.mu_prime, {"units": "descriptor", "long_name": "mean of S given the rearrangement"}),
            "K_prime": (("site", "site2"), k.K_prime, {"units": "descriptor^2", "long_name": "covariance of S given the rearrangement"}),
            "K_delta": (("site", "site2"), k.K_delta, {"units": "descriptor^2", "long_name": "covariance of the softness change"}),
            "cluster_sites": ("member", k.sites, {"units": "1", "long_name": "sites of the cluster"}),
            "site_position": (("site", "dim"), pos, {"units": "sigma_AA", "long_name": "site position"}),
        }
    )
    ds.attrs = provenance(model, {"orientation": orientation, "kick_b_max": k.b_max})
    return ds
