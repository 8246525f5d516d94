"""Structure functions as `trsp softness apply` computes them: old vs new, side by side.

    python benchmarks/softness_apply.py [--frames 50] [--reference-frames 5] [--threads 1]

Input: the committed KA fixture (tests/fixtures/ka/ka_T055.npz: 1500
particles, 250 frames, 3D). Per frame, the 266 default features of every A
particle (the central species `apply` scores, 1200 per frame) are computed
by the original implementation (``structure_functions_reference``; freud
neighbours, the old default, and scipy's) and by the fast path
(``structure_functions``; numba cell list, and freud/scipy pair lists). The
reference runs on the first ``--reference-frames`` frames (it is ~15x
slower), the fast path on the first ``--frames``; both see the same first
frames, where the largest absolute and relative differences are taken.

Rates are particle-frames per second of wall time, numba compilation
excluded, best of ``--repeats`` passes. Threads: NUMBA_NUM_THREADS is set to
``--threads`` (default 1: the rate per core) before numba is imported. This
is a benchmark, not a test: nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "ka" / "ka_T055.npz"


def _rate(func, traj, frames, query, backend, repeats):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for f in frames:
            func(traj.positions[f], traj.types, traj.box, query=query, backend=backend)
        best = min(best, time.perf_counter() - t0)
    return len(frames) * len(query) / best


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--traj", type=Path, default=FIXTURE, help="trajectory (any format read_trajectory reads)")
    ap.add_argument("--frames", type=int, default=50, help="frames timed for the fast path")
    ap.add_argument("--reference-frames", type=int, default=5, help="frames timed for the reference")
    ap.add_argument("--repeats", type=int, default=3, help="timed passes; the best is reported")
    ap.add_argument("--threads", type=int, default=1, help="numba threads (1: rate per core)")
    args = ap.parse_args(argv)
    if "numba" in sys.modules:
        raise SystemExit("run as a script: NUMBA_NUM_THREADS must be set before numba is imported")
    os.environ["NUMBA_NUM_THREADS"] = str(args.threads)

    import numba
    import numpy as np

    from descriptors.softness_ml.structure import structure_functions, structure_functions_reference
    from trsp_core.md.mdio import read_trajectory

    traj = read_trajectory(args.traj)
    query = np.flatnonzero(traj.types == 0)
    n_ref = min(args.reference_frames, traj.n_frames)
    n_new = min(max(args.frames, n_ref), traj.n_frames)
    ref_frames, new_frames = range(n_ref), range(n_new)

    # compile (cached on disk after the first run) and compare on the reference frames
    max_abs = max_rel = margin = 0.0
    for f in ref_frames:
        want = structure_functions_reference(traj.positions[f], traj.types, traj.box, query=query, backend="scipy")
        got = structure_functions(traj.positions[f], traj.types, traj.box, query=query)
        diff = np.abs(got - want)
        max_abs = max(max_abs, float(diff.max()))
        big = np.abs(want) > 1e-8                 # relative error of features that are not ~0
        max_rel = max(max_rel, float((diff[big] / np.abs(want[big])).max()))
        margin = max(margin, float((diff / (1e-10 + 1e-10 * np.abs(want))).max()))
    structure_functions_reference(traj.positions[0], traj.types, traj.box, query=query, backend="freud")
    for backend in ("freud", "scipy"):
        structure_functions(traj.positions[0], traj.types, traj.box, query=query, backend=backend)

    rows = []
    for label, func, backend, frames in (
            ("old  reference [freud]", structure_functions_reference, "freud", ref_frames),
            ("old  reference [scipy]", structure_functions_reference, "scipy", ref_frames),
            ("new  fast      [cells]", structure_functions, "cells", new_frames),
            ("new  fast      [freud]", structure_functions, "freud", ref_frames),
            ("new  fast      [scipy]", structure_functions, "scipy", ref_frames)):
        rows.append((label, len(frames), _rate(func, traj, frames, query, backend, args.repeats)))

    print(f"{args.traj.name}: {traj.n_particles} particles, {traj.dim}D, {len(query)} A particles per frame, "
          f"266 features; numba threads {numba.get_num_threads()}")
    print(f"{'implementation':24s} {'frames':>6s} {'particle-frames/s':>18s}")
    for label, nf, rate in rows:
        print(f"{label:24s} {nf:6d} {rate:18,.0f}")
    old, new = rows[0][2], rows[2][2]
    print(f"speed-up new [cells] / old [freud]: {new / old:.1f}x  "
          f"(per core: {new / args.threads:,.0f} vs {old / args.threads:,.0f} particle-frames/s)")
    print(f"difference on {n_ref} frames: max abs {max_abs:.2e}, max rel {max_rel:.2e} (features > 1e-8), "
          f"max |diff| / (1e-10 + 1e-10 |ref|) = {margin:.2e}")
    return {"rates": {label.strip(): rate for label, _, rate in rows}, "max_abs": max_abs, "max_rel": max_rel}


if __name__ == "__main__":
    main()
