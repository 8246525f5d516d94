"""Aging after a quench: <S(t)> from equilibrium at T_I, run at T_F (paper Fig. 8).

Each (model, T_F, seed) is one task writing one small netCDF file (content-hash
name, atomic), so ``trsp age`` resumes like ``trsp sweep``. The combined file holds
<S(t)> averaged over sites and seeds, with the standard error over seeds, on a
logarithmic grid of times since the quench, for the TRSP model and the trap model.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import xarray as xr

from trsp_core.run import RUN_FORMAT
from trsp_core.spec import DEFAULTS
from trsp_core.io import write_dataset
from trsp_core.backends.simulate import resolve_backend
from trsp_core.campaigns.spec import normalise_variant, params_digest, variant_label
from trsp_core.physics.timescales import auto_run_length
from trsp_core.campaigns.lock import claimed
from trsp_core.campaigns.tasks import is_finished, load_runs, model_spec
from trsp_core.campaigns.preflight import check_models, estimate_aging
from trsp_core.resources import check_fits

#: the two models of Fig. 8: the TRSP model and the independent-site trap model
AGING_MODELS = {
    "TRSP": {"descriptor": DEFAULTS.descriptor, "cluster": DEFAULTS.cluster},
    "trap": {"descriptor": "trap", "cluster": "single"},
}


#: an aging run file keeps the site-averaged snapshots and the end points
AGING_FIELDS = ("snapshot_mean", "endpoints")


def time_grid(duration: float, n_times: int = 40, t_min: float | None = None) -> np.ndarray:
    t_min = t_min if t_min is not None else max(duration * 1e-5, 1e-3)
    return np.geomspace(t_min, duration, n_times)


def aging_key(variant: dict, ti: float, tf: float, seed: int, duration: float, n_times: int, backend: str,
              params=None) -> str:
    """Content hash of one aging run; ``params`` (resolved descriptor parameters) are part of it."""
    payload = {"kind": "aging", "format": RUN_FORMAT, "variant": {k: v for k, v in variant.items() if k != "params"},
               "params": params_digest(params) if params is not None else None,
               "ti": round(ti, 12), "tf": round(tf, 12), "seed": seed, "duration": float(f"{duration:.12g}"),
               "n_times": n_times, "backend": backend}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


def _discard(*chunk) -> None:
    """An event sink that keeps nothing."""


def execute_aging_run(spec: dict) -> dict:
    path = Path(spec["path"])
    if is_finished(path):
        return {"status": "cached", "path": str(path)}
    from trsp_core.run import run_file

    t0 = time.perf_counter()
    model = model_spec(spec["variant"], spec["tf"]).build()
    times = time_grid(spec["duration"], spec["n_times"])
    # the file keeps the snapshot means and end points only: the event log is dropped as it is
    # produced (a sink), so a run's memory does not grow with its length
    run = model.simulate(spec["duration"], spec["seed"], backend=spec["backend"], snapshot_times=times,
                         initial_temperature=spec["ti"], sink=_discard)
    ds = run_file([run], model, AGING_FIELDS, geometry=False, extra={
        "trsp_run_complete": 1, "seed": spec["seed"], "initial_temperature": spec["ti"],
        "n_events": run.n_events, "wall_s": time.perf_counter() - t0})
    write_dataset(ds, path)
    return {"status": "computed", "path": str(path)}


def plan_aging(ti, tfs, seeds, seed, size, backend, duration, tau_factor, max_duration, n_times, out: Path,
               models=None):

    backend = resolve_backend(backend)
    specs = []
    for name, opts in (models or AGING_MODELS).items():
        v = normalise_variant({**opts, "size": size})
        for tf in tfs:
            model = model_spec(v, tf).build()
            dur = float(duration) if duration else auto_run_length(model, tau_factor, max_duration)
            for s in range(seed, seed + seeds):
                k = aging_key(v, ti, tf, s, dur, n_times, backend, params=model.params)
                specs.append({"model": name, "variant": v, "ti": float(ti), "tf": float(tf), "seed": s, "duration": dur,
                              "n_times": n_times, "backend": backend, "key": k, "path": str(out / "runs" / f"aging-{k}.nc")})
    return specs


def combine_aging(specs, ti: float) -> xr.Dataset:
    """<S(t)> over sites and seeds -> dims (model, final_temperature, time_index)."""
    models = list(dict.fromkeys(s["model"] for s in specs))
    tfs = sorted(set(s["tf"] for s in specs))
    n_t = specs[0]["n_times"]
    mean = np.full((len(models), len(tfs), n_t), np.nan)
    err = np.full_like(mean, np.nan)
    times = np.full_like(mean, np.nan)
    s0 = np.full((len(models), len(tfs)), np.nan)
    nseed = np.zeros((len(models), len(tfs)), int)
    mu_eq = np.full((len(models), len(tfs)), np.nan)
    for i, m in enumerate(models):
        for j, tf in enumerate(tfs):
            group = [s for s in specs if s["model"] == m and s["tf"] == tf and Path(s["path"]).exists()]
            if not group:
                continue
            vals, ini = [], []
            for s in group:
                (run,) = load_runs(s["path"])
                vals.append(run.snapshot_mean)
                ini.append(float(run.s_initial.mean()))
                times[i, j] = run.snapshot_times
            vals = np.asarray(vals)
            mean[i, j] = vals.mean(axis=0)
            err[i, j] = vals.std(axis=0, ddof=1) / np.sqrt(len(vals)) if len(vals) > 1 else np.nan
            s0[i, j] = np.mean(ini)
            nseed[i, j] = len(vals)
            mu_eq[i, j] = model_spec(group[0]["variant"], tf).build().mu
    dims = ("model", "final_temperature")
    ds = xr.Dataset(
        {
            "S_mean": (dims + ("time_index",), mean, {"units": "descriptor", "long_name": "<S(t)> after the quench (sites and seeds)"}),
            "S_err": (dims + ("time_index",), err, {"units": "descriptor", "long_name": "standard error of <S(t)> over seeds"}),
            "time": (dims + ("time_index",), times, {"units": "frames", "long_name": "time since the quench"}),
            "S_initial": (dims, s0, {"units": "descriptor", "long_name": "<S> at t = 0 (equilibrium at T_I)"}),
            "S_equilibrium": (dims, mu_eq, {"units": "descriptor", "long_name": "equilibrium <S> = mu(T_F)"}),
            "n_seeds": (dims, nseed, {"units": "1", "long_name": "seeds averaged"}),
        },
        coords={"model": ("model", models, {"long_name": "aging model name (see models_json)"}), "final_temperature": ("final_temperature", tfs, {"units": "epsilon_AA/k_B", "long_name": "final temperature T_F"})},
    )
    ds = ds.set_coords("time")   # per (model, T_F): an auxiliary coordinate of S_mean, as sweep's lag
    from trsp_core.io import provenance

    ds.attrs = provenance(None, {"title": "trsp aging after a quench", "initial_temperature": ti,
                                 "models_json": json.dumps({m: variant_label(next(s["variant"] for s in specs if s["model"] == m))
                                                            for m in models})})
    return ds


def run_aging(*, initial_temperature: float, final_temperatures: list[float], seeds: int = 50, seed: int = 0,
              size: int = 10, backend: str = "auto", duration: float | None = None, tau_factor: float = 20.0,
              max_duration: float = 2e5, n_times: int = 40, out: str | Path = "trsp_aging", scheduler: str = "local",
              n_workers: int | None = None, show_progress: bool = True, console=None, models=None, client=None) -> dict:

    from rich.console import Console


    t0 = time.perf_counter()
    console = console or Console(stderr=True)
    out = Path(out)
    local = client is None and scheduler == "local"
    est = estimate_aging(models or AGING_MODELS, final_temperatures, size=size, seeds=seeds, duration=duration,
                         tau_factor=tau_factor, max_duration=max_duration,
                         n_workers=(n_workers or os.cpu_count() or 1) if local else 0, backend=resolve_backend(backend))
    check_fits(est)
    check_models([normalise_variant({**v, "size": size}) for v in (models or AGING_MODELS).values()],
                 final_temperatures, initial_temperature=initial_temperature)
    console.print(est.line())  # once the models are known to be valid
    with claimed(out, "aging campaign", console.print):
        try:
            return _run_aging_locked(t0, console, out, initial_temperature, final_temperatures, seeds, seed, size,
                                     backend, duration, tau_factor, max_duration, n_times, scheduler, n_workers,
                                     show_progress, models, client)
        except KeyboardInterrupt:
            return _interrupted({"interrupted": True}, console, out)


def _interrupted(summary: dict, console, out: Path) -> dict:
    kept = sum(1 for p in (out / "runs").glob("aging-*.nc") if is_finished(p))
    console.print(f"interrupted; {kept} runs kept, rerun to resume")
    summary.update(interrupted=True, runs_kept=kept)
    return summary


def _run_aging_locked(t0, console, out, initial_temperature, final_temperatures, seeds, seed, size, backend, duration,
                      tau_factor, max_duration, n_times, scheduler, n_workers, show_progress, models, client) -> dict:
    import contextlib

    from trsp_core.campaigns.runner import open_client, run_tasks

    (out / "runs").mkdir(parents=True, exist_ok=True)
    specs = plan_aging(initial_temperature, final_temperatures, seeds, seed, size, backend, duration, tau_factor,
                       max_duration, n_times, out, models)
    todo = [s for s in specs if not is_finished(s["path"])]
    console.print(f"trsp age: {len(specs)} runs, {len(specs) - len(todo)} already finished")
    summary = {"runs_total": len(specs), "runs_cached": len(specs) - len(todo), "runs_computed": 0, "runs_failed": 0}
    ctx = contextlib.nullcontext(client) if client is not None else open_client(scheduler, n_workers)
    with ctx as cl:
        res = run_tasks(cl, execute_aging_run, todo, key=lambda s: f"trsp-age-{s['key']}",
                        describe=lambda s: f"{s['model']} T_I={s['ti']:g} T_F={s['tf']:g} seed={s['seed']}",
                        title="aging", console=console, show=show_progress)
    summary["runs_computed"] = sum(1 for _, r in res.results if r["status"] == "computed")
    summary["runs_failed"] = len(res.failures)
    summary["interrupted"] = res.interrupted
    if res.interrupted:
        return _interrupted(summary, console, out)
    ds = combine_aging(specs, initial_temperature)
    path = out / "aging.nc"
    write_dataset(ds, path)
    from trsp_core.plotting.figures import plot_aging

    summary["figure"] = str(plot_aging(ds, out))
    summary["combined"] = str(path)
    summary["wall_s"] = time.perf_counter() - t0
    return summary
