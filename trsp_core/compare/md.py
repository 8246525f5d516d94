"""The MD side of the comparison: trajectories grouped by temperature, one
:class:`~trsp_core.md.dynamics.MDDynamics` per temperature, and the results stacked
on a ``temperature`` dimension (the ``md_dynamics.nc`` of ``trsp md dynamics``).

Layout of the stacked dataset (times in the trajectory's unit, tau for LAMMPS LJ):

* ``Q``, ``Q_err``, ``chi4``, ``chi4_err`` (temperature, indicator, lag_index) and
  ``lag`` (temperature, lag_index): each temperature has its own lags (they follow
  the run length), padded with NaN to the longest;
* ``S4``, ``S4_err`` (temperature, indicator, q_index) and ``q_shell`` (temperature,
  q_index), NaN-padded likewise (the box, hence the shells, may differ);
* ``tau_alpha``, ``chi4_star``, ``xi4`` and their ``_err``, ``S4_time``, ``S4_zero``,
  ``block_length_over_tau`` (temperature, indicator);
* ``dt``, ``n_particles``, ``n_runs``, ``error_resampling``, ``files`` (temperature).
"""
from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path

import numpy as np
import xarray as xr

from trsp_core.errors import InputFileError, ParameterError

#: value of the global attribute ``trsp_md_dynamics_format`` that marks the stacked layout
MD_DYNAMICS_FORMAT = 1
#: the paper the model and the comparison follow (CF ``references`` attribute)
REFERENCES = ("S. A. Ridout and A. J. Liu, \"The dynamics of machine-learned 'softness' in supercooled liquids "
              "describe dynamical heterogeneity\", arXiv:2406.05868 (2024)")
#: two temperatures closer than this are the same temperature
TEMPERATURE_TOLERANCE = 1e-6

def _scalar_attrs(time_units: str) -> dict:
    return {
        "dt": {"units": time_units, "long_name": "time between frames"},
        "n_particles": {"units": "1", "long_name": "particles of the analysed species"},
        "n_runs": {"units": "1", "long_name": "trajectory files (independent runs)"},
        "error_resampling": {"units": "1", "long_name": "bootstrap units of the errors: runs or time blocks of one run"},
        "files": {"units": "1", "long_name": "trajectory files at this temperature"},
    }


_INDEX_ATTRS = {
    "lag_index": {"units": "1", "long_name": "index along the lag axis (each temperature has its own lags)"},
    "q_index": {"units": "1", "long_name": "index along the |q| shells (each temperature has its own box)"},
}


def history_line() -> str:
    """One CF ``history`` entry: UTC time and the command line."""
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return f"{now}: {' '.join(sys.argv)}"


def match_temperature(value: float, known, tolerance: float = TEMPERATURE_TOLERANCE):
    """The element of ``known`` within ``tolerance`` of ``value``, or None."""
    for k in known:
        if abs(float(k) - float(value)) <= tolerance:
            return k
    return None


# ------------------------------------------------------------------ trajectories
def _file_temperature(path: Path) -> float:
    """The ``temperature`` of a trajectory file, reading only the attributes when it is netCDF."""
    from trsp_core.io import netcdf
    from trsp_core.md.mdio import read_trajectory

    if path.suffix.lower() in (".nc", ".netcdf", ".nc4"):
        try:
            with netcdf.opened(path) as ds:
                if "position" not in ds.variables:
                    raise InputFileError(f"netCDF file '{path}' is not a trsp trajectory: missing variable 'position'")
                return float(ds.attrs.get("temperature", np.nan))
        except InputFileError:
            raise
        except (OSError, ValueError) as exc:
            raise InputFileError(f"cannot read netCDF file '{path}': {exc}") from None
    return float(read_trajectory(path).temperature)


def group_by_temperature(paths, temperatures=None, tolerance: float = TEMPERATURE_TOLERANCE) -> dict[float, list[Path]]:
    """Trajectory files -> {temperature: [files]}, from ``temperatures`` (one per file) or
    each file's ``temperature`` attribute. Files at the same temperature are independent runs."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise ParameterError("no trajectory files given")
    if temperatures:
        if len(temperatures) != len(paths):
            raise ParameterError(f"--temperature given {len(temperatures)} times for {len(paths)} files "
                                 "(give it once per file, in the same order, or not at all)")
        temps = [float(t) for t in temperatures]
    else:
        temps = []
        for p in paths:
            if not p.is_file():
                raise InputFileError(f"trajectory file '{p}' does not exist")
            temps.append(_file_temperature(p))
    groups: dict[float, list[Path]] = {}
    for p, t in zip(paths, temps):
        if not (np.isfinite(t) and t > 0):
            raise InputFileError(f"trajectory '{p}' has no usable 'temperature' attribute (got {t}); "
                                 "pass --temperature once per file")
        key = match_temperature(t, groups, tolerance)
        groups.setdefault(t if key is None else key, []).append(p)
    return dict(sorted(groups.items()))


def md_dynamics(groups, *, dynamics=None, dt: float | None = None, progress=None, **params) -> xr.Dataset:
    """{temperature: [trajectory files or Trajectory objects]} -> the stacked dataset.

    ``dynamics`` is an :class:`~trsp_core.md.dynamics.MDDynamics` (default: built from
    ``params``, e.g. ``species=0, phop_threshold=0.2``); ``dt`` the frame interval of
    GSD / LAMMPS files (netCDF and .npz carry theirs). Files are read one temperature at a time.
    """
    from trsp_core.md.dynamics import MDDynamics
    from trsp_core.md.mdio import Trajectory, read_trajectory

    dyn = dynamics if dynamics is not None else MDDynamics(**params)
    per_t, files = {}, {}
    for T, items in dict(groups).items():
        if progress is not None:
            progress(float(T), items)
        trajs, names = [], []
        for it in items:
            if isinstance(it, Trajectory):
                trajs.append(it)
                names.append("<Trajectory>")
            else:
                trajs.append(read_trajectory(it, dt=dt))
                names.append(str(it))
        try:
            per_t[float(T)] = dyn.compute(trajs, temperature=float(T))
        except (ParameterError, InputFileError) as exc:
            raise type(exc)(f"T={float(T):g} ({', '.join(names)}): {exc}") from None
        files[float(T)] = names
    return stack_temperatures(per_t, files)


def _block(ds: xr.Dataset, T: float, files) -> xr.Dataset:
    """One temperature's MDDynamics output -> a block with index dims and a temperature axis."""
    lag = ds["lag"]
    q = ds["q_shell"]
    b = ds.drop_vars(["lag", "q_shell"]).rename_dims({"lag": "lag_index", "q_shell": "q_index"})
    b["lag"] = ("lag_index", lag.values, dict(lag.attrs))
    b["q_shell"] = ("q_index", q.values, dict(q.attrs))
    b = b.assign_coords(lag_index=np.arange(b.sizes["lag_index"]), q_index=np.arange(b.sizes["q_index"]))
    values = {"dt": float(ds.attrs["dt"]), "n_particles": int(ds.attrs["n_particles"]),
              "n_runs": int(ds.attrs["n_runs"]), "error_resampling": str(ds.attrs["error_resampling"]),
              "files": "; ".join(files)}
    for name, value in values.items():
        b[name] = ((), value)
    b.attrs = {}
    return b.expand_dims(temperature=[float(T)])


def stack_temperatures(per_t: dict, files: dict | None = None) -> xr.Dataset:
    """{temperature: MDDynamics.compute output} -> one dataset on a ``temperature`` dimension."""
    if not per_t:
        raise ParameterError("no temperatures to stack")
    files = files or {}
    blocks = [_block(ds, T, files.get(T, [])) for T, ds in sorted(per_t.items())]
    out = xr.concat(blocks, dim="temperature", join="outer", combine_attrs="drop", data_vars="all")
    first = next(iter(per_t.values()))
    for name in first.data_vars:
        out[name].attrs = dict(first[name].attrs)
    out["lag"].attrs = dict(first["lag"].attrs)
    out["q_shell"].attrs = dict(first["q_shell"].attrs)
    for name, attrs in {**_scalar_attrs(first["lag"].attrs.get("units", "tau")), **_INDEX_ATTRS}.items():
        out[name].attrs = attrs
    out["temperature"].attrs = {"units": "epsilon_AA/k_B", "long_name": "temperature T"}
    out["indicator"].attrs = {"units": "1", "long_name": "relaxation indicator: phop (p_hop persistence) or overlap "
                                                         "(Theta(a - |dr|))"}
    from trsp_core.io import provenance

    out.attrs = provenance(None, {
        "title": "trsp MD dynamics: Q(t), chi4(t), tau_alpha, chi4*, S4, xi4 per temperature",
        "history": history_line(), "references": REFERENCES, "trsp_md_dynamics_format": MD_DYNAMICS_FORMAT,
        **{k: first.attrs[k] for k in ("species", "phop_threshold", "phop_window", "overlap_a") if k in first.attrs},
        "files_json": json.dumps({f"{T:g}": v for T, v in files.items()}),
    })
    return out


def is_md_dynamics(ds: xr.Dataset) -> bool:
    """The stacked layout, or one temperature's MDDynamics output."""
    return "indicator" in ds.dims and "tau_alpha" in ds and "Q" in ds


def as_stacked(ds: xr.Dataset) -> xr.Dataset:
    """A single-temperature MDDynamics output (dims indicator, lag) -> the stacked layout."""
    if "temperature" in ds.dims:
        return ds
    T = float(ds.attrs.get("temperature", np.nan))
    if not np.isfinite(T):
        raise InputFileError("MD dynamics dataset has no temperature (attribute 'temperature' is NaN)")
    return stack_temperatures({T: ds})
