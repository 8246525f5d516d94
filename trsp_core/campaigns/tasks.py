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

from trsp_core.io import netcdf
from trsp_core.run import Run, runs_from_dataset

#: per-run files keep only what the sweep's observables need: by default the event log
SWEEP_FIELDS = ("events",)
#: fields a sweep can store (snapshots are not taken in sweeps)
SWEEP_STORABLE = ("events", "kicks", "endpoints", "occupancy", "time_integral")


def check_sweep_fields(fields) -> tuple[str, ...]:
    from trsp_core.errors import ParameterError

    fields = tuple(dict.fromkeys(fields))
    bad = [f for f in fields if f not in SWEEP_STORABLE]
    if bad or "events" not in fields:
        raise ParameterError(f"sweep fields must include 'events' and be among {', '.join(SWEEP_STORABLE)}; "
                             f"got {', '.join(fields) or 'none'}")
    return fields


def model_spec(variant: dict, temperature: float):
    from trsp_core.spec import ModelSpec

    return ModelSpec.from_dict({**variant, "temperature": float(temperature)})


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
    from trsp_core.streaming import simulate_to_file

    t0 = time.perf_counter()
    model = model_spec(spec["variant"], spec["temperature"]).build()
    timing = {}

    def extra(run):
        timing["wall"] = wall = time.perf_counter() - t0
        return {"trsp_run_key": spec["key"], "trsp_run_complete": 1, "seed": int(spec["seed"]),
                "t_end": float(run.t_end), "duration": float(spec["duration"]), "n_events": run.n_events,
                "wall_s": wall, "variant_json": json.dumps(spec["variant"]), "worker_pid": os.getpid()}

    # the event log goes to the file chunk by chunk (compressed, as before): a worker's memory
    # does not grow with the run length
    run = simulate_to_file(model, path, spec["duration"], spec["seed"], fields=tuple(spec.get("fields", SWEEP_FIELDS)),
                           extra=extra, backend=spec["backend"], n_snapshots=0)
    return {"key": spec["key"], "status": "computed", "path": str(path), "wall_s": timing["wall"],
            "n_events": run.n_events}


def load_runs(path: str | Path) -> list[Run]:
    """The runs of a run file, with exactly the fields it stores."""
    with netcdf.opened(path) as ds:
        return runs_from_dataset(ds.load(), str(path))


def combine_point(point: dict) -> xr.Dataset:
    """Observables of one (variant, temperature) from all its finished seeds.

    chi4 is N Var Q over time origins *and* seeds, so it must be computed from the
    seeds together; the bootstrap errors resample seeds.
    """
    from trsp_core.observables import compute
    from trsp_core.plugin.registry import default_registry

    reg = default_registry()
    model = model_spec(point["variant"], point["temperature"]).build(reg)
    from trsp_core.streaming import chunked_runs_of_files, is_chunked, light_runs_of_file

    paths = [p for p in point["paths"] if Path(p).exists()]
    runs = [r for p in paths for r in light_runs_of_file(p)]  # bookkeeping only; event logs stay on disk
    out = xr.Dataset(attrs={"n_seeds": len(runs)})
    if len(runs) == 0:
        return out
    parts = []
    full = chunked = None
    for name in point["observables"]:
        obs = reg.get("observable", name)()
        try:
            if is_chunked(obs):
                # Q(t), chi4, S4, block chi4: the event logs read back chunk by chunk, one run at a
                # time (same numbers as loading them; tau_alpha's samples shared by S4 and block chi4)
                chunked = chunked if chunked is not None else chunked_runs_of_files(paths)
                parts.append(chunked.compute(obs, model))
            else:
                full = full if full is not None else [r for p in paths for r in load_runs(p)]
                parts.append(compute(obs, model, full, "the sweep's run files"))
        except Exception as exc:  # noqa: BLE001 - one failing observable must not sink the sweep
            out.attrs[f"error_{name}"] = f"{type(exc).__name__}: {exc}"
    ds = xr.merge(parts, combine_attrs="drop_conflicts") if parts else xr.Dataset()
    ds.attrs.update(out.attrs)
    ds.attrs["seeds"] = np.asarray(sorted(r.seed for r in runs))
    ds.attrs["events"] = int(sum(r.n_events for r in runs))
    ds.attrs["run_wall_s"] = float(sum(r.wall_s for r in runs))
    return ds
