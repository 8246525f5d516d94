"""Events per second of the fast kernel on every built-in lattice, side by side (issue 15).

    python benchmarks/lattice_speed.py [--events 20000] [--sizes 12,20,32] [--json]

Each lattice runs with a rule defined on it (cubic: plaquette; fcc: tetrahedron;
bcc: bond; triangular: triangle, L^2 sized to about the same number of sites),
same descriptor and temperature. Timing excludes numba compilation and table
construction (`build_s`); CPU time is the one-core figure. The per-event cost
should be flat in N: `growth` is events/s at the smallest over the largest size.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from trsp_core.backends.fast import kernel_tables
from trsp_core.backends.simulate import simulate
from trsp_core.spec import compose

CASES = [("cubic", "plaquette", 3), ("fcc", "tetrahedron", 3), ("bcc", "bond", 3), ("triangular", "triangle", 2)]


def _rate(model, n_events, seed=0):
    initial = model.sample_equilibrium(np.random.default_rng(seed))
    c0 = time.thread_time()
    r = simulate(model, 1e12, seed, backend="fast", initial=initial, n_snapshots=0, max_events=n_events)
    return r.n_events / (time.thread_time() - c0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--sizes", default="12,20,32", help="3D sizes L; 2D lattices get L^(3/2) per axis")
    ap.add_argument("--temperature", type=float, default=0.55)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    sizes = [int(s) for s in a.sizes.split(",")]
    out = {"events": a.events, "temperature": a.temperature, "load_avg_1min": None, "cases": {}}
    for lattice, cluster, dim in CASES:
        simulate(compose(lattice=lattice, cluster=cluster, size=6 if dim == 3 else 12, temperature=a.temperature),
                 5.0, 0, backend="fast", n_snapshots=0)  # compile / load the numba cache
        row = {}
        for L3 in sizes:
            L = L3 if dim == 3 else int(round(L3 ** 1.5))
            t0 = time.perf_counter()
            model = compose(lattice=lattice, cluster=cluster, size=L, temperature=a.temperature)
            kernel_tables(model)
            build = time.perf_counter() - t0
            row[str(L3)] = {"L": L, "sites": model.n_sites, "events_per_s_cpu": round(_rate(model, a.events), 1),
                            "build_s": round(build, 2)}
        first, last = row[str(sizes[0])], row[str(sizes[-1])]
        row["growth"] = round(first["events_per_s_cpu"] / last["events_per_s_cpu"], 3)
        out["cases"][f"{lattice}+{cluster}"] = row
    out["load_avg_1min"] = round(os.getloadavg()[0], 2)
    if a.json:
        print(json.dumps(out))
    else:
        print(f"fast kernel, T = {a.temperature}, {a.events} events per point, CPU time (load {out['load_avg_1min']})")
        for name, row in out["cases"].items():
            cells = "  ".join(f"N={row[str(s)]['sites']}: {row[str(s)]['events_per_s_cpu']:.0f}/s" for s in sizes)
            print(f"  {name:22s} {cells}  (small/large {row['growth']})")
    return out


if __name__ == "__main__":
    main()
