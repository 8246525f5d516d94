"""The model side of the comparison: ``trsp compose`` files (one temperature each) and
``trsp sweep`` results (``sweep.nc``: variant x temperature) -> :class:`Point` records
whose times are in the MD unit.

Time conversion: the model counts time in frames; ``t_MD = t_frames x frame_dt``
(``frame_dt`` is the descriptor parameter ``trsp measure`` writes: the MD time
between the frames it measured on). A compose file carries it as the global
attribute ``param_frame_dt``; a sweep through its per-run files (``runs/*.nc``
beside ``sweep.nc``) or, failing that, the variant's resolved parameters. Where it
cannot be found, 1.0 is assumed and a warning says so.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import attrs
import numpy as np
import xarray as xr

from trsp_core.errors import InputFileError

#: the frame_dt assumed when a file does not record one
DEFAULT_FRAME_DT = 1.0


@attrs.frozen(eq=False)
class Point:
    """One source at one temperature: scalars and Q(t), chi4(t) curves, times in MD units."""

    source: str
    temperature: float
    file: str
    tau_alpha: float
    tau_alpha_err: float
    chi4_star: float
    chi4_star_err: float
    xi4: float
    xi4_err: float
    lag: np.ndarray
    Q: np.ndarray
    Q_err: np.ndarray
    chi4: np.ndarray
    chi4_err: np.ndarray
    frame_dt: float = np.nan          # model: MD time per frame; MD: nan
    tau_alpha_frames: float = np.nan  # model: tau_alpha in its own frames
    label: str = ""                   # full model label (spec), or the MD indicator


def _f(ds, name, default=np.nan) -> float:
    return float(ds[name].values) if name in ds else float(default)


def _nan_like(a) -> np.ndarray:
    return np.full(np.shape(a), np.nan)


# ------------------------------------------------------------------ file kinds
def model_kind(ds: xr.Dataset) -> str | None:
    """'sweep', 'compose' or None (not a model output trsp compare reads)."""
    if "variant" in ds.dims and "temperature" in ds.dims and "tau_alpha" in ds:
        return "sweep"
    if "trsp_model_spec" in ds.attrs and "lag" in ds.dims:
        return "compose"
    return None


def frame_dt_of_compose(ds: xr.Dataset, name: str) -> tuple[float, str | None]:
    """(frame_dt, warning or None) of a compose file."""
    if "param_frame_dt" in ds.attrs:
        return float(ds.attrs["param_frame_dt"]), None
    try:
        value = json.loads(ds.attrs.get("trsp_params_json", "{}")).get("frame_dt")
    except (TypeError, ValueError):
        value = None
    if value is not None:
        return float(value), None
    return DEFAULT_FRAME_DT, (f"model file '{name}' has no attribute 'param_frame_dt'; assuming frame_dt = "
                              f"{DEFAULT_FRAME_DT:g} (model frames = MD time units)")


def _label(spec: dict) -> str:
    from trsp_core.spec import ModelSpec

    return ModelSpec.from_dict({k: v for k, v in spec.items() if k != "temperature"}).label()


# ------------------------------------------------------------------ compose
def _compose_curve_errors(ds: xr.Dataset, name: str, n_boot: int = 200):
    """Bootstrap over seeds of Q(t) and chi4(t), recomputed from the file's event log with
    the model's own estimator (the stored curves are reproduced exactly, or no errors)."""
    from trsp_core.observables.overlap import chi4_from_samples, overlap_samples
    from trsp_core.observables.stats import bootstrap_picks
    from trsp_core.physics.params import DescriptorParams
    from trsp_core.run import runs_from_dataset
    from trsp_core.spec import ModelSpec

    runs = runs_from_dataset(ds, name)
    if len(runs) < 2:
        return None, "one seed: no bootstrap errors"
    spec = ModelSpec.from_dict(json.loads(ds.attrs["trsp_model_spec"]))
    params = DescriptorParams(**json.loads(ds.attrs["trsp_params_json"]))
    model = spec.build(resolved_params=params)
    lags = ds["lag"].values
    Q = overlap_samples(runs, model.cluster_sites, model.n_sites, lags, int(ds.attrs.get("overlap_n_origins", 64)))
    q, chi = chi4_from_samples(Q, model.n_sites)
    if not (np.allclose(q, ds["Q"].values, rtol=1e-9, atol=1e-12)
            and np.allclose(chi, ds["chi4"].values, rtol=1e-9, atol=1e-12)):
        return None, "the event log does not reproduce the stored Q(t), chi4(t)"
    picks = bootstrap_picks(Q.shape[0], n_boot)
    q_boot = np.array([Q[k].reshape(-1, Q.shape[-1]).mean(axis=0) for k in picks])
    chi_boot = np.array([chi4_from_samples(Q[k], model.n_sites)[1] for k in picks])
    return (q_boot.std(axis=0, ddof=1), chi_boot.std(axis=0, ddof=1)), None


def compose_points(ds: xr.Dataset, name: str = "<dataset>", *, curve_errors: bool = True):
    """A compose file -> ([Point], [warnings], [notes])."""
    warns, notes = [], []
    if "tau_alpha" not in ds or "Q" not in ds:
        raise InputFileError(f"model file '{name}' has no Q / tau_alpha: compose it with the 'overlap' observable")
    spec = json.loads(ds.attrs["trsp_model_spec"])
    T = float(ds.attrs.get("temperature", spec.get("temperature", np.nan)))
    fdt, w = frame_dt_of_compose(ds, name)
    if w:
        warns.append(w)
    lag = ds["lag"].values * fdt
    Q, chi = ds["Q"].values, ds["chi4"].values
    Q_err, chi_err = _nan_like(Q), _nan_like(chi)
    if "Q_err" in ds and "chi4_err" in ds:
        Q_err, chi_err = ds["Q_err"].values, ds["chi4_err"].values
    elif curve_errors and "event_time" in ds:
        try:
            errs, why = _compose_curve_errors(ds, name)
        except Exception as exc:  # noqa: BLE001 - errors are an extra; the comparison still runs
            errs, why = None, f"{type(exc).__name__}: {exc}"
        if errs is not None:
            Q_err, chi_err = errs
        else:
            notes.append(f"{name}: no Q(t)/chi4(t) error bands ({why})")
    if "xi4_oz" in ds:
        xi, xi_err = _f(ds, "xi4_oz"), _f(ds, "xi4_oz_err_boot")
        if not np.isfinite(xi_err):
            xi_err = _f(ds, "xi4_oz_err")
    elif "xi4_block" in ds:
        xi, xi_err = _f(ds, "xi4_block"), _f(ds, "xi4_block_err")
    else:
        xi, xi_err = np.nan, np.nan
        notes.append(f"{name}: no xi4 (compose with --observables overlap,s4)")
    point = Point(source="model", temperature=T, file=name,
                  tau_alpha=_f(ds, "tau_alpha") * fdt, tau_alpha_err=_f(ds, "tau_alpha_err") * fdt,
                  chi4_star=_f(ds, "chi4_star"), chi4_star_err=_f(ds, "chi4_star_err"), xi4=xi, xi4_err=xi_err,
                  lag=lag, Q=Q, Q_err=Q_err, chi4=chi, chi4_err=chi_err, frame_dt=fdt,
                  tau_alpha_frames=_f(ds, "tau_alpha"), label=_label(spec))
    return [point], warns, notes


# ------------------------------------------------------------------ sweep
def _sweep_frame_dts(ds: xr.Dataset, name: str, variants: list[dict], runs_dir: Path | None):
    """frame_dt per variant: from a per-run file, else the variant's resolved parameters, else 1.0."""
    from trsp_core.io import netcdf

    found: dict[int, float] = {}
    if runs_dir is not None and runs_dir.is_dir():
        for f in sorted(runs_dir.glob("*.nc")):
            if len(found) == len(variants):
                break
            try:
                with netcdf.opened(f) as r:
                    a = dict(r.attrs)
            except Exception:  # noqa: BLE001 - a foreign or partial file: skip it
                continue
            if "param_frame_dt" not in a or "variant_json" not in a:
                continue
            v = json.loads(a["variant_json"])
            for i, var in enumerate(variants):
                if i not in found and var == v:
                    found[i] = float(a["param_frame_dt"])
    warns = []
    out = []
    for i, var in enumerate(variants):
        if i in found:
            out.append(found[i])
            continue
        value = None
        try:
            from trsp_core.spec import ModelSpec

            value = float(ModelSpec.from_dict(var).resolved_params().frame_dt)
        except Exception:  # noqa: BLE001 - e.g. the parameter file has gone
            value = None
        if value is None:
            value = DEFAULT_FRAME_DT
            warns.append(f"model file '{name}' variant {i}: no frame_dt found (no per-run file records "
                         f"'param_frame_dt'); assuming frame_dt = {DEFAULT_FRAME_DT:g}")
        out.append(value)
    return out, warns


def sweep_points(ds: xr.Dataset, name: str = "<dataset>", *, runs_dir: Path | None = None):
    """A sweep.nc -> ([Point], [warnings], [notes]); one source per variant."""
    notes = []
    try:
        variants = json.loads(ds.attrs["sweep_json"])["variants"]
    except (KeyError, TypeError, ValueError):
        variants = None
    if variants is None or len(variants) != ds.sizes["variant"]:
        raise InputFileError(f"sweep file '{name}': missing or inconsistent attribute 'sweep_json'")
    fdts, warns = _sweep_frame_dts(ds, name, variants, runs_dir)
    labels = [_label(v) for v in variants]
    points = []
    has_curves = "Q" in ds and "chi4" in ds and "lag" in ds
    if not has_curves:
        notes.append(f"{name}: no Q(t)/chi4(t) curves")
    has_bands = has_curves and "Q_err" in ds and "chi4_err" in ds
    if has_curves and not has_bands:
        notes.append(f"{name}: sweep file without per-lag errors (written before Q_err/chi4_err existed); "
                     "no Q(t)/chi4(t) error bands")
    for i in range(ds.sizes["variant"]):
        for T in ds["temperature"].values:
            d = ds.isel(variant=i).sel(temperature=T)
            if not np.isfinite(_f(d, "tau_alpha")) and not np.isfinite(_f(d, "chi4_star")):
                continue  # failed or missing point
            fdt = fdts[i]
            if has_curves:
                lag, Q, chi = d["lag"].values * fdt, d["Q"].values, d["chi4"].values
                keep = np.isfinite(lag)
                lag, Q, chi = lag[keep], Q[keep], chi[keep]
                Qe, ce = (d["Q_err"].values[keep], d["chi4_err"].values[keep]) if has_bands else (_nan_like(Q), _nan_like(chi))
            else:
                lag = Q = chi = Qe = ce = np.zeros(0)
            points.append(Point(source="model", temperature=float(T), file=name,
                                tau_alpha=_f(d, "tau_alpha") * fdt, tau_alpha_err=_f(d, "tau_alpha_err") * fdt,
                                chi4_star=_f(d, "chi4_star"), chi4_star_err=_f(d, "chi4_star_err"),
                                xi4=_f(d, "xi4"), xi4_err=_f(d, "xi4_err"), lag=lag, Q=Q, Q_err=Qe,
                                chi4=chi, chi4_err=ce, frame_dt=fdt,
                                tau_alpha_frames=_f(d, "tau_alpha"), label=labels[i]))
    return points, warns, notes


def model_points(ds: xr.Dataset, name: str = "<dataset>", *, runs_dir: Path | None = None,
                 curve_errors: bool = True):
    """compose or sweep dataset -> ([Point], [warnings], [notes])."""
    kind = model_kind(ds)
    if kind == "compose":
        return compose_points(ds, name, curve_errors=curve_errors)
    if kind == "sweep":
        return sweep_points(ds, name, runs_dir=runs_dir)
    raise InputFileError(f"model file '{name}' is neither a trsp compose file nor a trsp sweep result (sweep.nc)")


def warn_all(messages) -> None:
    for m in messages:
        warnings.warn(m, stacklevel=3)
