"""Events per second of the fast kernel and the dense reference, side by side (``trsp bench``).

Timing excludes numba compilation (a warm-up run comes first) and kernel
construction (tables, dense matrices: reported separately under ``build_s``).
Both wall-clock and CPU-time rates are reported: on a shared machine the CPU
rate is the one-core figure, the wall rate is what a user waits for.
"""
from __future__ import annotations

import json as _json
import os
import resource
import time

import numpy as np

from trsp_core.spec import DEFAULTS, compose
from trsp_core.backends.reference import MAX_SITES
from trsp_core.backends.simulate import simulate


def _timed_run(model, backend, n_events, seed=0):
    initial = model.sample_equilibrium(np.random.default_rng(seed))
    w0, c0 = time.perf_counter(), time.thread_time()
    r = simulate(model, 1e12, seed, backend=backend, initial=initial, n_snapshots=0, max_events=n_events)
    w1, c1 = time.perf_counter(), time.thread_time()
    return r.n_events, w1 - w0, c1 - c0, r


def flops_per_event(model) -> float:
    """Floating-point operations of one fast event (multiply-add = 2), from the table sizes."""
    from trsp_core.backends.fast import kernel_tables

    T = kernel_tables(model)
    w = float(T.nW.mean())
    scatter_cells = float(len(T.kvals))  # stencil offsets kept
    mean_kick = 2 * 2 * w * w                 # G and the (square) noise factor
    z_update = 2 * w * scatter_cells + w * 0  # K^-1 Delta S scatter
    rates = float(T.n_aff.mean()) * (T.m + 25)  # sums + exp (~20 flops) + tree adds
    normals = w * 15
    return mean_kick + z_update + rates + normals


#: every built-in lattice with a rule defined on it, at about the same number of sites
LATTICE_CASES = (("cubic", "plaquette", 3), ("fcc", "tetrahedron", 3), ("bcc", "bond", 3), ("triangular", "triangle", 2))


def lattice_rates(size: int = 20, n_events: int = 30000, temperature: float = DEFAULTS.temperature) -> dict:
    """Fast-kernel events/s (CPU) of each built-in lattice beside cubic, measured in one run:
    3D lattices at L = size, the 2D one at L = size^(3/2) (same number of sites)."""
    out = {}
    for lattice, cluster, dim in LATTICE_CASES:
        L = size if dim == 3 else int(round(size ** 1.5))
        simulate(compose(lattice=lattice, cluster=cluster, size=6 if dim == 3 else 12, temperature=temperature),
                 5.0, 0, backend="fast", n_snapshots=0)  # compile / load the numba cache for this geometry
        model = compose(lattice=lattice, cluster=cluster, size=L, temperature=temperature)
        from trsp_core.backends.fast import kernel_tables

        kernel_tables(model)  # built before the clock starts, as in run_bench
        n, wall, cpu, _ = _timed_run(model, "fast", n_events)
        out[f"{lattice}+{cluster}"] = {"L": L, "sites": model.n_sites, "events_per_s": round(n / wall, 1),
                                       "events_per_s_cpu": round(n / cpu, 1)}
    base = out["cubic+plaquette"]["events_per_s_cpu"]
    for v in out.values():
        v["cpu_rate_over_cubic"] = round(v["events_per_s_cpu"] / base, 3)
    return out


def run_bench(sizes=(12, 20, 32, 64), duration_events: int = 30000, json: bool = False,
              reference_events: int = 300, temperature: float = DEFAULTS.temperature,
              lattices: bool = True) -> dict:
    """Measure events/s at each lattice size L (default model, T = 0.55); see the module docstring."""
    from trsp_core.backends.fast import kernel_tables

    warm = compose(size=6, temperature=temperature)
    simulate(warm, 5.0, 0, backend="fast", n_snapshots=0)  # compile / load the numba cache

    out = {"fast": {}, "fast_cpu": {}, "reference": {}, "reference_cpu": {}, "build_s": {},
           "events": {}, "gflops_cpu": {}}
    for L in sizes:
        t0 = time.perf_counter()
        model = compose(size=L, temperature=temperature)
        kernel_tables(model)
        out["build_s"][str(L)] = round(time.perf_counter() - t0, 3)
        n, wall, cpu, r = _timed_run(model, "fast", duration_events)
        out["fast"][str(L)] = round(n / wall, 1)
        out["fast_cpu"][str(L)] = round(n / cpu, 1)
        out["events"][str(L)] = n
        out["gflops_cpu"][str(L)] = round(flops_per_event(model) * n / cpu / 1e9, 3)
        if model.n_sites <= MAX_SITES:
            t0 = time.perf_counter()
            for o in range(len(model.orientations)):
                model.dense_kernel(o)
            out["build_s"][f"reference_{L}"] = round(time.perf_counter() - t0, 3)
            n, wall, cpu, _ = _timed_run(model, "reference", reference_events)
            out["reference"][str(L)] = round(n / wall, 2)
            out["reference_cpu"][str(L)] = round(n / cpu, 2)
        del model, r
    f, ref = out["fast"], out["reference"]
    out["ratio_at_12"] = round(f["12"] / ref["12"], 1) if "12" in f and "12" in ref else None
    out["ratio_at_12_cpu"] = (round(out["fast_cpu"]["12"] / out["reference_cpu"]["12"], 1)
                              if "12" in f and "12" in ref else None)
    out["per_event_growth_20_to_64"] = round(f["20"] / f["64"], 3) if "20" in f and "64" in f else None
    out["per_event_growth_20_to_64_cpu"] = (round(out["fast_cpu"]["20"] / out["fast_cpu"]["64"], 3)
                                            if "20" in f and "64" in f else None)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)
    out["load_avg_1min"] = round(os.getloadavg()[0], 2)
    out["flops_per_event_20"] = round(flops_per_event(compose(size=20, temperature=temperature)))
    if lattices:
        out["lattices_L20"] = lattice_rates(20, duration_events, temperature)
    if json:
        print(_json.dumps(out))
    return out
