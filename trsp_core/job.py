"""The main job behind ``trsp compose``: build, simulate several seeds, analyse, write."""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable

import numpy as np
import xarray as xr

from trsp_core.compose import build_model
from trsp_core.io import provenance, runs_dataset, write_dataset
from trsp_core.registry import default_registry
from trsp_core.simulate import simulate


def mean_rate_time(model) -> float:
    """d / <P(R|S)> at equilibrium: the mean waiting time between a site's rearrangements.

    Closed form of E[A exp(gamma S - delta S^2)] for S ~ Normal(mu, sigma^2);
    used to size runs automatically (tau_alpha is a few times this).
    """
    o = model.observed
    v = model.params.C0
    mu = model.mu
    D = 1 + 2 * o.delta * v
    lnE = math.log(o.A) - 0.5 * math.log(D) + (o.gamma * mu - o.delta * mu * mu + o.gamma**2 * v / 2) / D
    return o.d / math.exp(lnE)


def auto_duration(model, factor: float = 30.0, cap: float = 1e6) -> float:
    return float(min(factor * mean_rate_time(model), cap))


def run_job(
    *,
    observables: list[str] | None = None,
    seeds: int = 4,
    seed: int = 0,
    duration: float | None = None,
    out: str | Path | None = None,
    backend: str = "auto",
    progress: Callable[[float, float], None] | None = None,
    **model_options,
):
    """Compose a model from plugin names, run ``seeds`` seeds, compute observables, write netCDF.

    Seed i of the job uses seed ``seed + i`` (so a job can be extended with more seeds).
    Returns (dataset, summary dict).
    """
    t0 = time.perf_counter()
    reg = model_options.pop("registry", None) or default_registry()
    model = build_model(registry=reg, **model_options)
    b_max = model.check_feasible()
    observables = list(observables or ["overlap"])
    obs_objects = [reg.get("observable", name)() for name in observables]
    if duration is None:
        duration = auto_duration(model)
    runs = []
    for i in range(int(seeds)):
        cb = (lambda t, i=i: progress(i * duration + t, seeds * duration)) if progress else None
        runs.append(simulate(model, duration, seed + i, backend=backend, progress=cb))
    ds = runs_dataset(model, runs)
    for obs in obs_objects:
        ds = xr.merge([ds, obs.compute(model, runs)], combine_attrs="drop_conflicts")
    wall = time.perf_counter() - t0
    ds.attrs = provenance(model, {
        "observables": ",".join(observables), "backend": runs[0].backend, "seeds": [seed + i for i in range(seeds)],
        "duration": duration, "kick_b_max": b_max, "wall_s": wall,
        **{f"kernel_{k}": v for k, v in runs[0].info.items() if isinstance(v, (int, float, str))},
    })
    summary = {
        "events": int(sum(r.n_events for r in runs)),
        "seeds": int(seeds),
        "duration": float(duration),
        "backend": runs[0].backend,
        "wall_s": wall,
        "tau_alpha": float(ds["tau_alpha"]) if "tau_alpha" in ds else None,
        "tau_alpha_err": float(ds["tau_alpha_err"]) if "tau_alpha_err" in ds else None,
        "chi4_star": float(ds["chi4_star"]) if "chi4_star" in ds else None,
        "chi4_star_err": float(ds["chi4_star_err"]) if "chi4_star_err" in ds else None,
        "temperature": model.temperature,
        "n_sites": model.n_sites,
    }
    if out is not None:
        summary["out"] = str(write_dataset(ds, out))
    summary = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in summary.items()}
    return ds, summary
