"""Small helpers shared by the observables: labelled variables and run order."""
from __future__ import annotations

import numpy as np
import xarray as xr


def var(dims, data, units, long_name):
    return (dims, np.asarray(data), {"units": units, "long_name": long_name})


def in_seed_order(runs):
    """Runs sorted by seed: bootstrap resamples (hence errors and fits) then do not
    depend on the order in which files were found on disk."""
    return sorted(runs, key=lambda r: r.seed)


def seed_coord(runs):
    return xr.Variable("run", np.asarray([r.seed for r in runs], np.int64), {"units": "1", "long_name": "random seed of the run"})
