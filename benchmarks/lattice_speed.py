"""Events per second of the fast kernel on every built-in lattice, side by side (issue 15).

    python benchmarks/lattice_speed.py [--events 20000] [--sizes 12,20,32] [--json]

Each lattice runs with a rule defined on it (cubic: plaquette; fcc: tetrahedron;
bcc: bond; triangular: triangle, L^2 sized to about the same number of sites),
same descriptor and temperature. Timing excludes numba compilation and table
construction; CPU time is the one-core figure. The per-event cost
should be flat in N: `growth` is events/s at the smallest over the largest size.
"""
from __future__ import annotations

import argparse
import json
import os

from trsp_core.bench import lattice_rates


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--sizes", default="12,20,32", help="3D sizes L; 2D lattices get L^(3/2) per axis")
    ap.add_argument("--temperature", type=float, default=0.55)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    sizes = [int(s) for s in a.sizes.split(",")]
    out = {"events": a.events, "temperature": a.temperature, "cases": {}}
    for L3 in sizes:  # trsp bench's measurement, at each size
        for name, r in lattice_rates(L3, a.events, a.temperature).items():
            out["cases"].setdefault(name, {})[str(L3)] = r
    for row in out["cases"].values():
        row["growth"] = round(row[str(sizes[0])]["events_per_s_cpu"] / row[str(sizes[-1])]["events_per_s_cpu"], 3)
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
