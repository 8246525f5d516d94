"""The work units of a sweep, executed on dask workers (plain importable functions).

``execute_run``  one (variant, temperature, seed) simulation -> one netCDF file, written
                 atomically under a content-hash name; a finished file is never rewritten.
``combine_point`` all seeds of one (variant, temperature) -> observables (Q, chi4 over
                 seeds, tau_alpha, chi4*, xi4 when an observable provides it).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import xarray as xr

from trsp_core import netcdf
from trsp_core.io import write_dataset
from trsp_core.run import Run

#: per-run files keep only what the observables need from the event log (times, clusters)
_ENC = {"zlib": True, "complevel": 4, "shuffle": True}


def model_options(variant: dict, temperature: float) -> dict:
    return dict(descriptor=variant["descriptor"], lattice=variant["lattice"], size=variant["size"],
                cluster=variant["cluster"], delta_rule=variant["delta_rule"], rate=variant["rate"],
                temperature=float(temperature), facilitation=variant["facilitation"], params=variant["params"])


def is_finished(path: str | Path) -> bool:
    """A run file counts as finished if it exists under its final name and says so.

    Files only appear under the final name by an atomic rename after a complete
    write, so existence is enough; the ``trsp_run_complete`` attribute is a second
    guard against foreign or truncated files (which are then recomputed).
    """
    path = Path(path)
    if not path.exists():
        return False
    try:
        with netcdf.opened(path) as ds:
            return int(ds.attrs.get("trsp_run_complete", 0)) == 1
    except Exception:  # noqa: BLE001 - unreadable => not finished
        return False


def execute_run(spec: dict) -> dict:
    """Simulate one seed and write ``spec['path']`` atomically. Idempotent.

    If the file is already finished (e.g. the scheduler re-ran a task whose result
    was held by a worker that died) nothing is recomputed.
    """
    path = Path(spec["path"])
    if is_finished(path):
        return {"key": spec["key"], "status": "cached", "path": str(path)}
    from trsp_core.compose import build_model
    from trsp_core.io import provenance
    from trsp_core.simulate import simulate

    t0 = time.perf_counter()
    model = build_model(**model_options(spec["variant"], spec["temperature"]))
    run = simulate(model, spec["duration"], spec["seed"], backend=spec["backend"], n_snapshots=0)
    wall = time.perf_counter() - t0
    ds = xr.Dataset(
        {
            "event_time": ("event", run.times, {"units": "frames", "long_name": "time of the rearrangement"}),
            "event_cluster": ("event", run.clusters.astype(np.int32), {"units": "1", "long_name": "index of the rearranging cluster"}),
            "S_time_mean": ((), float(run.s_time_integral.mean() / run.t_end),
                            {"units": "descriptor", "long_name": "time- and site-averaged S"}),
        }
    )
    ds.attrs = provenance(model, {
        "trsp_run_key": spec["key"], "trsp_run_complete": 1, "seed": int(spec["seed"]), "t_end": float(run.t_end),
        "duration": float(spec["duration"]), "backend": run.backend, "n_events": run.n_events, "wall_s": wall,
        "variant_json": json.dumps(spec["variant"]), "worker_pid": os.getpid(),
    })
    write_dataset(ds, path, encoding={"event_time": _ENC, "event_cluster": _ENC})
    return {"key": spec["key"], "status": "computed", "path": str(path), "wall_s": wall, "n_events": run.n_events}


def load_run(path: str | Path, model) -> Run:
    """Rebuild a (light) Run from a per-run file: event log and run length."""
    with netcdf.opened(path) as ds:
        times = ds["event_time"].values.astype(float)
        clusters = ds["event_cluster"].values.astype(np.int64)
        attrs = dict(ds.attrs)
    m = model.cluster_sites.shape[1]
    empty = np.zeros((len(times), m))
    N = model.n_sites
    return Run(seed=int(attrs["seed"]), t_end=float(attrs["t_end"]), times=times, clusters=clusters,
               s_before=empty, s_after=empty, snapshot_times=np.zeros(0), snapshots=np.zeros((0, N)),
               s_initial=np.zeros(N), s_final=np.zeros(N), hist_edges=np.zeros(1), occupancy=np.zeros(0),
               s_time_integral=np.zeros(N), backend=str(attrs.get("backend", "")),
               wall_s=float(attrs.get("wall_s", 0.0)))


def combine_point(point: dict) -> xr.Dataset:
    """Observables of one (variant, temperature) from all its finished seeds.

    chi4 is N Var Q over time origins *and* seeds, so it must be computed from the
    seeds together; the bootstrap errors resample seeds.
    """
    from trsp_core.compose import build_model
    from trsp_core.registry import default_registry

    reg = default_registry()
    model = build_model(registry=reg, **model_options(point["variant"], point["temperature"]))
    paths = [p for p in point["paths"] if Path(p).exists()]
    runs = [load_run(p, model) for p in paths]
    out = xr.Dataset(attrs={"n_seeds": len(runs)})
    if len(runs) == 0:
        return out
    parts = []
    for name in point["observables"]:
        obs = reg.get("observable", name)()
        try:
            parts.append(obs.compute(model, runs))
        except Exception as exc:  # noqa: BLE001 - one failing observable must not sink the sweep
            out.attrs[f"error_{name}"] = f"{type(exc).__name__}: {exc}"
    ds = xr.merge(parts, combine_attrs="drop_conflicts") if parts else xr.Dataset()
    ds.attrs.update(out.attrs)
    ds.attrs["seeds"] = np.asarray(sorted(r.seed for r in runs))
    ds.attrs["events"] = int(sum(r.n_events for r in runs))
    ds.attrs["run_wall_s"] = float(sum(r.wall_s for r in runs))
    return ds
