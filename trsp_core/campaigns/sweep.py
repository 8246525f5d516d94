"""Temperature campaigns: variants x temperatures x seeds on dask.distributed.

Layout of ``out``::

    out/runs/<hash>.nc     one file per (variant, temperature, seed): event log + provenance
    out/sweep.nc           combined: tau_alpha, chi4*, xi4 (+ errors), Q(t), chi4(t)
                           per (variant, temperature)
    out/sweep.json         the sweep's specification (variants, temperatures, seeds, ...)
    out/failures.json      runs that failed in the last invocation, with their parameters

Granularity: one task = one seed. chi4 = N Var Q is taken over time origins *and*
seeds, so it needs all seeds of a (variant, T) point together; but that reduction is
cheap (it reads event logs), while the simulations are expensive and independent.
One-seed tasks balance load across workers (the low-T points cost ~50x the high-T
ones), a killed worker or Ctrl-C loses at most the runs in flight, and adding seeds
later reuses every finished file (a run's hash does not depend on the seed count).
The per-point reduction runs as a second set of tasks once the seeds are in.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import xarray as xr
from rich.console import Console

from trsp_core.io.atomic import atomic_write_text
from trsp_core.io import write_dataset
from trsp_core.campaigns.runner import open_client, run_tasks
from trsp_core.backends.simulate import resolve_backend
from trsp_core.physics.timescales import auto_run_length
from trsp_core.campaigns.spec import (normalise_variant, run_key,
                                  variant_label)
from trsp_core.campaigns.tasks import SWEEP_FIELDS, check_sweep_fields, combine_point, execute_run, is_finished, model_spec
from trsp_core.campaigns.lock import claimed
from trsp_core.observables import required_fields
from trsp_core.campaigns.preflight import check_models, estimate_sweep
from trsp_core.resources import check_fits

XI4_NOTE = ("xi4 is NaN: no selected observable provides a variable named 'xi4' "
            "(select an S4 / Ornstein-Zernike observable with --observables)")


def default_observables(registry=None, fields=SWEEP_FIELDS) -> list[str]:
    """``overlap`` plus every registered observable that works on the sweep's run files
    (its ``requires`` is within the stored ``fields``) and provides a ``xi4*`` variable."""
    from trsp_core.plugin.registry import default_registry

    reg = registry or default_registry()
    extra = []
    for name in reg.listing().get("observable", []):
        cls = reg.get("observable", name)
        requires = set(required_fields(cls))
        provides = getattr(cls, "provides", ())
        if name != "overlap" and requires <= set(fields) and any(str(v).startswith("xi4") for v in provides):
            extra.append(name)
    return ["overlap"] + extra


def _check_observables(names, fields) -> None:
    """Before anything runs: every observable exists and its required fields are stored."""
    from trsp_core.plugin.registry import default_registry
    from trsp_core.run import check_fields

    reg = default_registry()
    for name in names:
        cls = reg.get("observable", name)
        check_fields(required_fields(cls), fields, f"observable '{name}'",
                     "the sweep's run files (choose more with --fields)")


def plan_runs(variants, temperatures, seeds: int, seed: int, out: Path, backend: str,
              duration: float | None, tau_factor: float, max_duration: float, fields=SWEEP_FIELDS):
    """Every run of the sweep as a spec dict, plus the (variant, T) points."""

    runs, points = [], []
    backend = resolve_backend(backend)
    for vi, v in enumerate(variants):
        for T in temperatures:
            model = model_spec(v, T).build()
            dur = float(duration) if duration else auto_run_length(model, tau_factor, max_duration)
            point = {"variant_index": vi, "variant": v, "temperature": float(T), "duration": dur, "paths": [],
                     "m": int(max(ch.m for ch in model.channels)),
                     "channel_m": "+".join(f"{ch.name}:{ch.m}" for ch in model.channels), "T0": float(model.params.T0)}
            for s in range(seed, seed + seeds):
                k = run_key(v, T, s, dur, backend, params=model.params, fields=fields)
                path = out / "runs" / f"{k}.nc"
                runs.append({"key": k, "path": str(path), "variant": v, "temperature": float(T), "seed": s,
                             "duration": dur, "backend": backend, "fields": list(fields)})
                point["paths"].append(str(path))
            points.append(point)
    return runs, points


def describe_run(spec: dict) -> str:
    return f"{variant_label(spec['variant'])} T={spec['temperature']:g} seed={spec['seed']} ({spec['key']})"


def _point_to_block(pds: xr.Dataset, point: dict) -> xr.Dataset:
    """One point's observables -> a block with dims (variant, temperature[, lag_index, ...])."""
    ds = pds.drop_vars([v for v in pds.variables if "run" in pds[v].dims], errors="ignore")
    if "lag" in ds.dims:
        lag = ds["lag"]
        ds = ds.drop_vars("lag").rename_dims({"lag": "lag_index"})
        ds["lag"] = ("lag_index", lag.values, dict(lag.attrs))
    ds = ds.expand_dims(variant=[point["variant_index"]], temperature=[point["temperature"]])
    ds["n_seeds"] = (("variant", "temperature"), [[int(pds.attrs.get("n_seeds", 0))]],
                     {"units": "1", "long_name": "seeds combined"})
    ds["duration"] = (("variant", "temperature"), [[point["duration"]]], {"units": "frames", "long_name": "run length"})
    ds.attrs = {}
    return ds


#: the summary variables every sweep.nc has (NaN where no observable provided them)
_SUMMARY_ATTRS = {
    "tau_alpha": ("alpha time (argmax chi4)", "frames"), "tau_alpha_err": ("std error of tau_alpha", "frames"),
    "chi4_star": ("peak of chi4", "1"), "chi4_star_err": ("std error of chi4*", "1"),
    "xi4": ("dynamical correlation length xi4", "sigma_AA"), "xi4_err": ("std error of xi4", "sigma_AA"),
}

#: long names (and units, for numbers) of the variant coordinates
_VARIANT_ATTRS = {
    "variant_label": ("variant label (descriptor, lattice, size, cluster, ...)", None),
    "descriptor": ("descriptor plugin", None), "lattice": ("lattice plugin", None),
    "size": ("lattice sites per axis L", "1"), "cluster": ("cluster rule plugin", None),
    "delta_rule": ("K_Delta distance rule", None), "rate": ("rate-law plugin", None),
    "facilitation": ("facilitation factor c", "1"), "params": ("descriptor parameter file", None),
    "m": ("sites per rearranging cluster m (a mixture: its largest channel's)", "1"),
    "channel_m": ("sites per cluster m of every channel (name:m joined by +)", None),
}


def combine_dataset(points, point_results, variants, spec: dict, all_points=None) -> xr.Dataset:
    all_points = all_points or points
    blocks = [_point_to_block(r, p) for p, r in zip(points, point_results) if r is not None]
    # "override": variables keep their units and long names (with "drop" every variable lost them)
    ds = xr.merge(blocks, join="outer", compat="no_conflicts", combine_attrs="override") if blocks else xr.Dataset()
    vi = np.arange(len(variants))
    ds = ds.reindex(variant=vi, temperature=sorted({p["temperature"] for p in all_points}))
    notes = []
    # xi4: a variable named xi4 if an observable provides one, else the Ornstein-Zernike
    # fit of S4 (plugin 's4': xi4_oz), else the block-chi4 scaling fit (xi4_block)
    if "xi4" not in ds:
        for src, err_names in (("xi4_oz", ("xi4_oz_err_boot", "xi4_oz_err")), ("xi4_block", ("xi4_block_err",))):
            if src in ds:
                ds["xi4"] = ds[src].copy()
                ds["xi4"].attrs["source"] = src
                err = next((ds[e] for e in err_names if e in ds and np.isfinite(ds[e]).any()), None)
                if err is not None:
                    ds["xi4_err"] = err.copy()
                    ds["xi4_err"].attrs["source"] = err.name
                notes.append(f"xi4 taken from observable variable '{src}'")
                break
    for name, (long_name, units) in _SUMMARY_ATTRS.items():
        if name not in ds:
            ds[name] = (("variant", "temperature"), np.full((len(vi), ds.sizes["temperature"]), np.nan),
                        {"long_name": long_name + " (not computed)", "units": units})
            if name == "xi4":
                notes.append(XI4_NOTE)
    ds["xi4"].attrs.setdefault("units", "sigma_AA")
    ds["xi4"].attrs.setdefault("long_name", "dynamical correlation length xi4 (Ornstein-Zernike fit of S4 at tau_alpha)")
    ds["n_seeds"] = ds["n_seeds"].fillna(0).astype(int)
    ds = ds.assign_coords(
        variant_label=("variant", [variant_label(v) for v in variants]),
        **{k: ("variant", [v[k] if v[k] is not None else "none" for v in variants])
           for k in ("descriptor", "lattice", "size", "cluster", "delta_rule", "rate", "facilitation", "params")},
        **{k: ("variant", [next(p[k] for p in all_points if p["variant_index"] == i) for i in vi])
           for k in ("m", "channel_m")},
    )
    ds["temperature"].attrs.update(units="epsilon_AA/k_B", long_name="temperature T")
    ds["variant"].attrs.update(long_name="variant index (see variant_label)", units="1")
    for name, (long_name, units) in _VARIANT_ATTRS.items():
        if name in ds.variables:
            ds[name].attrs.update(long_name=long_name, **({"units": units} if units else {}))
    if "lag" in ds.data_vars:  # per point (variant, temperature): an auxiliary coordinate, not data
        ds = ds.set_coords("lag")
    errs = {f"{variant_label(p['variant'])} T={p['temperature']:g}": {k: v for k, v in r.attrs.items() if k.startswith("error_")}
            for p, r in zip(points, point_results) if r is not None and any(k.startswith("error_") for k in r.attrs)}
    if errs:
        notes.append("observable errors: " + json.dumps(errs))
    from trsp_core.io import provenance

    ds.attrs = provenance(None, {"title": "trsp temperature sweep", "sweep_json": json.dumps(spec, default=str),
                                 "T0": float(all_points[0]["T0"]), "notes": " | ".join(notes) or "none"})
    return ds


def _interrupted(summary: dict, console, out: Path, t0: float) -> dict:
    kept = _kept(out)
    console.print(f"interrupted; {kept} runs kept, rerun to resume")
    summary.update(interrupted=True, runs_kept=kept, wall_s=time.perf_counter() - t0)
    return summary


def run_sweep(
    *,
    variants: list[dict],
    temperatures: list[float],
    seeds: int = 8,
    seed: int = 0,
    out: str | Path = "trsp_sweep",
    scheduler: str = "local",
    n_workers: int | None = None,
    backend: str = "auto",
    duration: float | None = None,
    tau_factor: float = 20.0,
    max_duration: float = 2e5,
    observables: list[str] | None = None,
    show_progress: bool = True,
    console: Console | None = None,
    client=None,
    on_client=None,
    fields=SWEEP_FIELDS,
) -> dict:
    """Run (or resume) a sweep and write ``out/sweep.nc``. Returns a summary dict.

    ``client``: use an existing dask Client instead of ``scheduler``. ``on_client(client)``
    is called once the client exists (hook for tests and monitoring).

    Before any model is built at full size, the memory and time are estimated
    (printed; :class:`trsp_core.resources.ResourceError` if it cannot fit). ``out`` is
    locked for the sweep (:mod:`trsp_core.campaigns.lock`: a second process on the same
    directory is refused) and stale ``.part`` temporaries of killed writers are removed.
    On Ctrl-C: one line, ``interrupted`` and ``runs_kept`` (finished files on disk) in
    the summary.
    """
    t0 = time.perf_counter()
    console = console or Console(stderr=True)
    out = Path(out)
    # checked before anything is written or submitted
    fields = check_sweep_fields(fields)
    observables = list(observables or default_observables(fields=fields))
    _check_observables(observables, fields)
    variants = [normalise_variant(v) for v in variants]
    temperatures = [float(t) for t in temperatures]
    # pre-flight: memory and time from small copies of the models, before any full-size build
    local = client is None and scheduler == "local"
    est = estimate_sweep(variants, temperatures, seeds=seeds, duration=duration, tau_factor=tau_factor,
                         max_duration=max_duration, n_workers=(n_workers or os.cpu_count() or 1) if local else 0,
                         backend=resolve_backend(backend), kicks="kicks" in fields, observables=observables)
    check_fits(est)
    check_models(variants, temperatures)
    console.print(est.line())  # once the models are known to be valid
    with claimed(out, "sweep", console.print):
        try:
            return _run_sweep_locked(t0, console, out, variants, temperatures, seeds, seed, scheduler, n_workers,
                                     backend, duration, tau_factor, max_duration, observables, show_progress,
                                     client, on_client, fields)
        except KeyboardInterrupt:
            # Ctrl-C outside the task loop (cluster start-up, combine, shutdown): same one line
            kept = _kept(out)
            console.print(f"interrupted; {kept} runs kept, rerun to resume")
            return {"out": str(out), "interrupted": True, "runs_kept": kept, "wall_s": time.perf_counter() - t0}


def _kept(out: Path) -> int:
    """Finished run files on disk (what a resumed sweep will not recompute)."""
    return sum(1 for p in (out / "runs").glob("*.nc") if is_finished(p))


def _run_sweep_locked(t0, console, out, variants, temperatures, seeds, seed, scheduler, n_workers, backend, duration,
                      tau_factor, max_duration, observables, show_progress, client, on_client, fields) -> dict:
    (out / "runs").mkdir(parents=True, exist_ok=True)
    runs, points = plan_runs(variants, temperatures, seeds, seed, out, backend, duration, tau_factor, max_duration,
                             fields)
    spec = {"variants": variants, "temperatures": temperatures, "seeds": seeds, "seed": seed, "backend": runs[0]["backend"],
            "duration": duration, "tau_factor": tau_factor, "max_duration": max_duration, "observables": observables}
    atomic_write_text(out / "sweep.json", json.dumps(spec, indent=1, default=str))
    todo = [r for r in runs if not is_finished(r["path"])]
    cached = len(runs) - len(todo)
    console.print(f"trsp sweep: {len(variants)} variant(s) x {len(temperatures)} T x {seeds} seed(s) = {len(runs)} runs; "
                  f"{cached} already finished, {len(todo)} to run (backend {spec['backend']})")

    summary = {"out": str(out), "runs_total": len(runs), "runs_cached": cached, "runs_computed": 0,
               "runs_failed": 0, "interrupted": False}
    import contextlib

    ctx = contextlib.nullcontext(client) if client is not None else open_client(scheduler, n_workers)
    with ctx as cl:
        if on_client:
            on_client(cl)
        res = run_tasks(cl, execute_run, todo, key=lambda r: f"trsp-run-{r['key']}", describe=describe_run,
                        title="runs", console=console, show=show_progress)
        summary["runs_computed"] = sum(1 for _, r in res.results if r["status"] == "computed")
        summary["runs_cached"] += sum(1 for _, r in res.results if r["status"] == "cached")
        summary["runs_failed"] = len(res.failures)
        atomic_write_text(out / "failures.json", json.dumps(
            [{"run": describe_run(it), "variant": it["variant"], "temperature": it["temperature"], "seed": it["seed"],
              "error": msg} for it, msg in res.failures], indent=1, default=str))
        interrupted = res.interrupted
        if not interrupted:
            # reduction: one task per (variant, T), over the seeds that finished
            for p in points:
                p["observables"] = observables
            live = [p for p in points if any(Path(x).exists() for x in p["paths"])]
            key = lambda p: f"trsp-point-{p['variant_index']}-{p['temperature']:g}-{hash(tuple(p['paths'])) & 0xffffffff:x}"  # noqa: E731
            cres = run_tasks(cl, combine_point, live, key=key,
                             describe=lambda p: f"{variant_label(p['variant'])} T={p['temperature']:g}",
                             title="combine", console=console, show=show_progress)
            interrupted = cres.interrupted
    if interrupted:
        # counted once the local cluster is shut down: no worker can still add a file
        return _interrupted(summary, console, out, t0)
    lookup = {(p["variant_index"], p["temperature"]): r for p, r in cres.results}
    ordered = [(p, lookup.get((p["variant_index"], p["temperature"]))) for p in live]
    ds = combine_dataset([p for p, _ in ordered], [r for _, r in ordered], variants, spec, all_points=points)
    path = out / "sweep.nc"
    write_dataset(ds, path)
    summary.update(combined=str(path), complete=bool((ds["n_seeds"] == seeds).all()) and not res.failures,
                   wall_s=time.perf_counter() - t0)
    return summary
