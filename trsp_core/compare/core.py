"""``compare``: model and MD on one labelled dataset (source x temperature).

Every input becomes :class:`~trsp_core.compare.model.Point` records (one source at one
temperature, times in the MD unit); temperatures of model and MD are matched by value
(within ``tolerance``); the records are laid out as

* ``tau_alpha``, ``tau_alpha_err``, ``chi4_star``, ``chi4_star_err``, ``xi4``, ``xi4_err``,
  ``frame_dt``, ``tau_alpha_frames`` (source, temperature);
* ``Q``, ``Q_err``, ``chi4``, ``chi4_err`` and ``lag`` (source, temperature, lag_index),
  padded with NaN (each source and temperature has its own lags);
* ``matched`` (temperature): 1 where both a model and an MD source are present.

Sources: ``model`` (or ``model:<label>`` when several model variants are given) and
``md:<indicator>`` (``md:phop``, ``md:overlap``).
"""
from __future__ import annotations

import json
from pathlib import Path

import attrs
import numpy as np
import xarray as xr

from trsp_core.compare.md import REFERENCES, TEMPERATURE_TOLERANCE, as_stacked, history_line, is_md_dynamics
from trsp_core.compare.model import Point, model_kind, model_points, warn_all
from trsp_core.errors import InputFileError, ParameterError

#: a dataset's file name, if it was read from one (used in messages and the ``file`` variable)
SOURCE_FILE_ATTR = "trsp_compare_source_file"

SCALARS = {
    "tau_alpha": ("alpha time (argmax chi4), MD time units", "time"),
    "tau_alpha_err": ("std error of tau_alpha", "time"),
    "chi4_star": ("peak of chi4", "1"),
    "chi4_star_err": ("std error of chi4*", "1"),
    "xi4": ("dynamical correlation length xi4 (Ornstein-Zernike fit of S4 at tau_alpha)", "sigma_AA"),
    "xi4_err": ("std error of xi4", "sigma_AA"),
}
CURVES = {
    "Q": ("overlap Q(t)", "1"),
    "Q_err": ("std error of Q(t) (nan: not available)", "1"),
    "chi4": ("four-point susceptibility chi4(t)", "1"),
    "chi4_err": ("std error of chi4(t) (nan: not available)", "1"),
}


# ------------------------------------------------------------------ MD records
def md_points(ds: xr.Dataset, name: str = "<dataset>") -> list[Point]:
    """An md_dynamics dataset (stacked, or one temperature's MDDynamics output) -> Points."""
    if not is_md_dynamics(ds):
        raise InputFileError(f"MD file '{name}' is not an md_dynamics result (trsp md dynamics)")
    ds = as_stacked(ds)
    out = []
    for T in ds["temperature"].values:
        for ind in ds["indicator"].values:
            d = ds.sel(temperature=T, indicator=ind)
            lag = d["lag"].values
            keep = np.isfinite(lag)

            def curve(v):
                return d[v].values[keep] if v in d else np.full(keep.sum(), np.nan)

            file = name if name != "<dataset>" or "files" not in d else str(d["files"].values)
            out.append(Point(source=f"md:{ind}", temperature=float(T), file=file,
                             **{k: float(d[k].values) if k in d else np.nan for k in SCALARS},
                             lag=lag[keep], Q=curve("Q"), Q_err=curve("Q_err"), chi4=curve("chi4"),
                             chi4_err=curve("chi4_err"), label=str(ind)))
    return out


# ------------------------------------------------------------------ inputs
def _open(path, role: str) -> xr.Dataset:
    from trsp_core.io import netcdf

    path = Path(path)
    if path.is_dir():
        path = path / "sweep.nc"
    if not path.is_file():
        raise InputFileError(f"{role} file '{path}' does not exist")
    try:
        with netcdf.opened(path) as ds:
            return ds.load()
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{role} file '{path}' is not a readable netCDF file: {exc}") from None


def _name(ds: xr.Dataset) -> str:
    return str(ds.attrs.get(SOURCE_FILE_ATTR, "<dataset>"))


def load_model(item, *, curve_errors: bool = True):
    """A model input (path of a compose file, a sweep.nc or its directory, or a dataset) ->
    ([Point], [warnings], [notes])."""
    if isinstance(item, xr.Dataset):
        return model_points(item, _name(item), curve_errors=curve_errors)
    path = Path(item)
    ds = _open(path, "--model")
    sweep_nc = path / "sweep.nc" if path.is_dir() else path
    if model_kind(ds) is None:
        raise InputFileError(f"--model file '{sweep_nc}' is neither a trsp compose file nor a trsp sweep "
                             "result (sweep.nc)")
    return model_points(ds, str(sweep_nc), runs_dir=sweep_nc.parent / "runs", curve_errors=curve_errors)


def load_md(item) -> tuple[list[Point], str]:
    """An MD dynamics input (path or dataset) -> ([Point], time unit of its lags)."""
    if isinstance(item, xr.Dataset):
        ds, name = item, _name(item)
    else:
        ds, name = _open(item, "--md"), str(item)
        if not is_md_dynamics(ds):
            raise InputFileError(f"--md file '{item}' is not an md_dynamics result (trsp md dynamics)")
    return md_points(ds, name), str(ds["lag"].attrs.get("units", "tau"))


# ------------------------------------------------------------------ matching
def match_temperatures(values, preferred=(), tolerance: float = TEMPERATURE_TOLERANCE) -> dict[float, float]:
    """Map each value to a canonical temperature: values within ``tolerance`` of each
    other are one temperature, named by a ``preferred`` value (the MD's) if one is close."""
    canon: list[float] = []
    for v in list(preferred) + sorted(values):
        if not any(abs(v - c) <= tolerance for c in canon):
            canon.append(float(v))
    return {float(v): next(c for c in canon if abs(v - c) <= tolerance) for v in list(values) + list(preferred)}


def _source_names(model: list[Point]) -> list[Point]:
    """Source 'model' if all Points share one model label, else 'model:<label>'."""
    labels = list(dict.fromkeys(p.label for p in model))
    return [attrs.evolve(p, source="model" if len(labels) == 1 else f"model:{p.label}") for p in model]


# ------------------------------------------------------------------ the comparison
def compare(md, model, *, tolerance: float = TEMPERATURE_TOLERANCE, curve_errors: bool = True,
            time_units: str | None = None, warn: bool = True) -> xr.Dataset:
    """Model against MD on one dataset (dims source x temperature [x lag_index]).

    ``md``: md_dynamics datasets or files (``trsp md dynamics`` output; a single dataset
    is accepted too). ``model``: ``trsp compose`` files / datasets and ``sweep.nc``
    results. Model times are converted to MD units with each file's ``frame_dt``.
    Warnings (a frame_dt assumed) are issued with :mod:`warnings` and stored in the
    ``warnings`` attribute; ``notes`` lists temperatures present on one side only.
    """
    md = [md] if isinstance(md, (xr.Dataset, str, Path)) else list(md)
    model = [model] if isinstance(model, (xr.Dataset, str, Path)) else list(model)
    if not md and not model:
        raise ParameterError("nothing to compare: no MD and no model input")
    md_pts, model_pts, warns, notes = [], [], [], []
    units = set()
    for item in md:
        pts, unit = load_md(item)
        md_pts += pts
        units.add(unit)
    for item in model:
        pts, w, n = load_model(item, curve_errors=curve_errors)
        model_pts += pts
        warns += w
        notes += n
    if warn:
        warn_all(warns)
    model_pts = _source_names(model_pts)
    if len(units) > 1:
        raise ParameterError(f"MD inputs use different time units: {', '.join(sorted(units))}")
    time_units = time_units or (units.pop() if units else "tau")

    mapping = match_temperatures([p.temperature for p in model_pts], [p.temperature for p in md_pts], tolerance)
    temps = sorted(set(mapping.values()))
    sources = list(dict.fromkeys([p.source for p in model_pts] + [p.source for p in md_pts]))
    cell: dict[tuple[str, float], Point] = {}
    for p in model_pts + md_pts:
        key = (p.source, mapping[p.temperature])
        if key in cell:
            raise ParameterError(f"two inputs for source '{p.source}' at T={key[1]:g}: '{cell[key].file}' and "
                                 f"'{p.file}'")
        cell[key] = p

    n_lag = max([len(p.lag) for p in cell.values()] + [1])
    shape = (len(sources), len(temps))
    data = {k: np.full(shape, np.nan) for k in (*SCALARS, "frame_dt", "tau_alpha_frames")}
    curves = {k: np.full((*shape, n_lag), np.nan) for k in (*CURVES, "lag")}
    files = np.full(shape, "", dtype=object)
    for (s, T), p in cell.items():
        i, j = sources.index(s), temps.index(T)
        for k in data:
            data[k][i, j] = getattr(p, k)
        for k in curves:
            v = np.asarray(getattr(p, k), float)
            curves[k][i, j, : len(v)] = v
        files[i, j] = p.file
    md_T = {mapping[p.temperature] for p in md_pts}
    model_T = {mapping[p.temperature] for p in model_pts}
    matched = np.array([int(T in md_T and T in model_T) for T in temps])
    only_model = sorted(model_T - md_T)
    only_md = sorted(md_T - model_T)
    unmatched = ("temperatures on one side only: model " + (", ".join(f"{t:g}" for t in only_model) or "none")
                 + "; MD " + (", ".join(f"{t:g}" for t in only_md) or "none")) if (only_md or only_model) else ""

    tu = {"time": time_units, "1": "1", "sigma_AA": "sigma_AA"}
    dv = {k: (("source", "temperature"), data[k], {"units": tu[u], "long_name": ln}) for k, (ln, u) in SCALARS.items()}
    dv["frame_dt"] = (("source", "temperature"), data["frame_dt"],
                      {"units": f"{time_units}/frame", "long_name": "MD time per model frame used to convert model "
                                                                   "times (nan: MD source)"})
    dv["tau_alpha_frames"] = (("source", "temperature"), data["tau_alpha_frames"],
                              {"units": "frames", "long_name": "model tau_alpha in its own frames (nan: MD source)"})
    for k, (ln, u) in CURVES.items():
        dv[k] = (("source", "temperature", "lag_index"), curves[k], {"units": u, "long_name": ln})
    dv["lag"] = (("source", "temperature", "lag_index"), curves["lag"],
                 {"units": time_units, "long_name": "lag time t in MD time units (model: frames x frame_dt); "
                                                    "nan-padded"})
    dv["file"] = (("source", "temperature"), files.astype(str), {"units": "1", "long_name": "input file"})
    dv["matched"] = ("temperature", matched, {"units": "1", "long_name": "1 if both model and MD are present"})
    kind = ["model" if s.startswith("model") else "md" for s in sources]
    labels = {}
    for p in cell.values():
        labels.setdefault(p.source, p.label)
    ds = xr.Dataset(dv, coords={
        "source": ("source", sources, {"units": "1", "long_name": "model (variant) or MD indicator"}),
        "temperature": ("temperature", np.array(temps, float), {"units": "epsilon_AA/k_B", "long_name": "temperature T"}),
        "lag_index": ("lag_index", np.arange(n_lag), {"units": "1", "long_name": "index along the lag axis"}),
        "source_kind": ("source", kind, {"units": "1", "long_name": "model or md"}),
        "source_label": ("source", [labels[s] for s in sources],
                         {"units": "1", "long_name": "model variant label or MD indicator"}),
    })
    from trsp_core.io import provenance

    ds.attrs = provenance(None, {
        "title": "trsp compare: TRSP lattice model against MD (tau_alpha, chi4*, xi4, Q(t), chi4(t))",
        "history": history_line(), "references": REFERENCES, "time_units": time_units,
        "temperature_tolerance": float(tolerance), "unmatched_temperatures": unmatched or "none",
        "warnings": " | ".join(warns) or "none", "notes": " | ".join(dict.fromkeys(notes)) or "none",
        "inputs_json": json.dumps({"md": sorted({p.file for p in md_pts}), "model": sorted({p.file for p in model_pts})}),
    })
    return ds
