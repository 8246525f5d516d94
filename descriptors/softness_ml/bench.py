"""Throughput of the structure functions (particles per second)."""
from __future__ import annotations

import time

import numpy as np

from descriptors.softness_ml.structure import (NEIGHBOUR_BACKENDS, StructureParams, structure_functions,
                                               structure_functions_reference)


def bench_structure_functions(n: int = 10_000, density: float = 1.2, dim: int = 3,
                              repeats: int = 2, seed: int = 0, backend: str = "cells",
                              reference: bool = False) -> float:
    """Particles/s for all 266 default features of an n-particle 80:20 system.

    Uniform random positions at the KA density: the neighbour counts within
    r_cut and r_ang, which set the cost, are those of the liquid. The first
    call (numba compilation, cached on disk) is not timed; the best of
    ``repeats`` timed calls is reported. ``reference`` times the original
    implementation (:func:`structure_functions_reference`, backend freud or
    scipy) instead. Threads: numba's (NUMBA_NUM_THREADS); for a per-core rate
    see ``benchmarks/softness_apply.py``.
    """
    func = structure_functions_reference if reference else structure_functions
    rng = np.random.default_rng(seed)
    length = (n / density) ** (1.0 / dim)
    box = np.full(dim, length)
    pos = rng.uniform(0, length, size=(n, dim))
    types = (rng.random(n) < 0.2).astype(np.int64)
    params = StructureParams()
    func(pos[:200] * (12.0 / length) if length < 12 else pos[:200],
         types[:200], np.full(dim, max(length, 12.0)), params, backend=backend)   # warm-up / compile
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        func(pos, types, box, params, backend=backend)
        best = min(best, time.perf_counter() - t0)
    return n / best


if __name__ == "__main__":
    for backend in NEIGHBOUR_BACKENDS:
        rate = bench_structure_functions(backend=backend)
        print(f"structure functions [{backend}]: {rate:,.0f} particles/s (N=10000, 3D, 266 features)")
    rate = bench_structure_functions(backend="scipy", reference=True, repeats=1)
    print(f"reference implementation [scipy]: {rate:,.0f} particles/s")
