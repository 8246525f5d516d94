"""netCDF output: event log, snapshots, observables and full provenance in one file.

Files are written atomically (temporary file + rename). Every variable carries
``units`` and ``long_name``; the global attributes carry the parameter set as
JSON and flat, the plugin names, the package version and the command line.
"""
from __future__ import annotations

import datetime as _dt
import json
import platform
import sys
from pathlib import Path

import numpy as np
import xarray as xr

from trsp_core import __version__
from trsp_core import netcdf
from trsp_core.atomic import atomic_path
from trsp_core.errors import InputFileError


def _attr_value(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (list, tuple)):
        return np.asarray(v)
    if v is None:
        return "none"
    return v


def provenance(model=None, extra: dict | None = None) -> dict:
    attrs = {
        "title": "trsp TRSP lattice model output",
        "trsp_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command_line": " ".join(sys.argv),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "Conventions": "CF-1.8",
    }
    if model is not None:
        desc = model.describe()
        attrs["parameters_json"] = json.dumps(desc, default=float)
        attrs.update({k: _attr_value(v) for k, v in desc.items()})
    for k, v in (extra or {}).items():
        attrs[k] = _attr_value(v)
    return attrs


def runs_dataset(model, runs) -> xr.Dataset:
    """Event logs of all runs concatenated along ``event`` (``event_run`` says which run)."""
    m = model.cluster_sites.shape[1]
    ev_run = np.concatenate([np.full(r.n_events, i, np.int32) for i, r in enumerate(runs)]) if runs else np.zeros(0, np.int32)
    cat = lambda f, shape=(): np.concatenate([getattr(r, f) for r in runs]) if runs else np.zeros((0, *shape))  # noqa: E731
    snap_t = runs[0].snapshot_times if runs else np.zeros(0)
    n_snap = min(r.snapshots.shape[0] for r in runs) if runs else 0
    snaps = np.stack([r.snapshots[:n_snap] for r in runs]) if runs else np.zeros((0, 0, model.n_sites))
    ds = xr.Dataset(
        {
            "event_time": ("event", cat("times"), {"units": "frames", "long_name": "time of the rearrangement"}),
            "event_cluster": ("event", cat("clusters").astype(np.int64), {"units": "1", "long_name": "index of the rearranging cluster"}),
            "event_run": ("event", ev_run, {"units": "1", "long_name": "run (seed) the event belongs to"}),
            "event_s_before": (("event", "member"), cat("s_before", (m,)), {"units": "descriptor", "long_name": "S on the cluster's sites before the event"}),
            "event_s_after": (("event", "member"), cat("s_after", (m,)), {"units": "descriptor", "long_name": "S on the cluster's sites after the event"}),
            "snapshot_S": (("run", "snapshot", "site"), snaps.astype(np.float32), {"units": "descriptor", "long_name": "descriptor field S at snapshot times"}),
            "snapshot_time": ("snapshot", snap_t[:n_snap], {"units": "frames", "long_name": "snapshot time"}),
            "seed": ("run", np.asarray([r.seed for r in runs], np.int64), {"units": "1", "long_name": "random seed of the run"}),
            "t_end": ("run", np.asarray([r.t_end for r in runs]), {"units": "frames", "long_name": "simulated duration"}),
            "n_events": ("run", np.asarray([r.n_events for r in runs], np.int64), {"units": "1", "long_name": "number of events"}),
            "wall_s": ("run", np.asarray([r.wall_s for r in runs]), {"units": "s", "long_name": "wall-clock time of the run"}),
            "S_time_mean": (("run", "site"), np.stack([r.s_time_integral / r.t_end for r in runs]) if runs else np.zeros((0, model.n_sites)),
                            {"units": "descriptor", "long_name": "time-weighted mean of S per site"}),
            "occupancy": (("run", "S_bin"), np.stack([r.occupancy for r in runs]) if runs else np.zeros((0, 0)),
                          {"units": "site frames", "long_name": "time-weighted number of sites in each S bin"}),
            "S_bin_edges": ("S_bin_edge", runs[0].hist_edges if runs else np.zeros(0), {"units": "descriptor", "long_name": "edges of the S bins"}),
            "cluster_sites": (("cluster", "member"), model.cluster_sites, {"units": "1", "long_name": "sites of each cluster"}),
            "site_position": (("site", "dim"), model.lattice.positions(), {"units": "sigma_AA", "long_name": "lattice site position"}),
        }
    )
    return ds


def write_dataset(ds: xr.Dataset, path: str | Path, **kwargs) -> Path:
    """Write ``ds`` as netCDF4 atomically and thread-safely; ``kwargs`` go to ``to_netcdf``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        netcdf.write(ds, tmp, **{"format": "NETCDF4", **kwargs})
    return path


def read_dataset(path: str | Path) -> xr.Dataset:
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"file {path} does not exist")
    try:
        with netcdf.opened(path) as ds:
            return ds.load()
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{path} is not a readable netCDF file: {exc}") from None
