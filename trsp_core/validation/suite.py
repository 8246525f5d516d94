"""Run the validation suite on one composed model.

Simulates ``n_seeds`` independent equilibrium runs, computes every observable
plugin and evaluates every check. The model is used as given, so a test can
hand in a deliberately broken one (e.g. a patched kernel) and go through the
exact same checks as ``trsp validate``.
"""
from __future__ import annotations

import time
from typing import Callable

import attrs
import numpy as np

from trsp_core.physics.timescales import mean_rate_time
from trsp_core.observables.overlap import chi4_from_samples, overlap_samples
from trsp_core.backends.simulate import simulate
from trsp_core.validation import checks as C


@attrs.frozen
class SuiteConfig:
    """How much simulation the suite does. ``quick()`` fits in under 3 minutes on 2 cores at L = 8."""

    n_seeds: int = 32
    duration_factor: float = 60.0   # run length in mean per-site rearrangement times
    n_snapshots: int = 60
    kick_samples: int = 12000
    seed: int = 0
    backend: str = "auto"

    @classmethod
    def quick(cls, **kw) -> "SuiteConfig":
        return cls(**{**dict(n_seeds=16, duration_factor=20.0, n_snapshots=40, kick_samples=6000), **kw})


@attrs.frozen(eq=False)
class ValidationResult:
    checks: list
    datasets: dict
    info: dict

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def failed(self) -> list[str]:
        return [c.name for c in self.checks if not c.passed]

    def as_json(self) -> dict:
        return {"checks": [c.as_json() for c in self.checks]}


def _equilibrium_rate(model) -> float:
    return 1.0 / mean_rate_time(model)


def run_suite(model, config: SuiteConfig | None = None,
              progress: Callable[[str, float], None] | None = None) -> ValidationResult:
    """Simulate, measure and check ``model``; ``progress(stage, fraction)`` reports advance."""
    from trsp_core.observables import (BlockChi4, DetailedBalanceTest, FourPointStructureFactor, ObservedRateLaw,
                                     Overlap, SoftnessChange, TimeWeightedStatics)

    cfg = config or SuiteConfig()
    if cfg.n_seeds < 3:
        raise ValueError(f"the suite's seed-level tests need at least 3 seeds, got {cfg.n_seeds}")
    report = progress or (lambda stage, frac: None)
    t0 = time.perf_counter()
    duration = cfg.duration_factor * mean_rate_time(model)
    report("building kernels", 0.0)
    model.check_feasible()
    runs = []
    for i in range(cfg.n_seeds):
        cb = lambda t, i=i: report("simulating", (i + t / duration) / cfg.n_seeds)  # noqa: E731
        runs.append(simulate(model, duration, cfg.seed + i, backend=cfg.backend, n_snapshots=cfg.n_snapshots,
                             progress=cb))
    t_sim = time.perf_counter() - t0
    report("observables", 1.0)
    ds = {
        "overlap": Overlap().compute(model, runs),
        "statics": TimeWeightedStatics().compute(model, runs),
        "rate-law": ObservedRateLaw().compute(model, runs),
        "detailed-balance": DetailedBalanceTest().compute(model, runs),
        "softness-change": SoftnessChange(n_samples=cfg.kick_samples, seed=cfg.seed + 1_000_003).compute(model, runs),
    }
    tau = float(ds["overlap"]["tau_alpha"])
    ds["s4"] = FourPointStructureFactor(t=tau).compute(model, runs)
    ds["block-chi4"] = BlockChi4(t=tau).compute(model, runs)
    Q = overlap_samples(runs, model.cluster_sites, model.n_sites, np.asarray([tau]), 64)
    chi4_tau = float(chi4_from_samples(Q, model.n_sites)[1][0])

    checks = [
        C.mean_s(ds["statics"]),
        C.correlation(ds["statics"]),
        C.rate_law(ds["rate-law"], model.observed.d),
        C.mean_rate(runs, model, _equilibrium_rate(model)),
        C.detailed_balance(ds["detailed-balance"]),
        C.kick_exchangeability(ds["softness-change"]),
        C.kick_variance(ds["softness-change"]),
        C.fourpoint_identities(chi4_tau, ds["s4"], ds["block-chi4"]),
    ]
    info = {
        "n_seeds": cfg.n_seeds, "duration": duration, "events": int(sum(r.n_events for r in runs)),
        "backend": runs[0].backend, "simulation_wall_s": t_sim, "wall_s": time.perf_counter() - t0,
        "n_sites": model.n_sites, "lattice_shape": list(model.lattice.shape), "temperature": model.temperature,
        "tau_alpha": tau, "chi4_tau": chi4_tau, "seed": cfg.seed,
    }
    return ValidationResult(checks=checks, datasets=ds, info=info)
