"""One simulation API for every backend (dense reference, numba fast kernel)."""
from __future__ import annotations

import importlib
from typing import Callable

import numpy as np

from trsp_core.errors import ParameterError
from trsp_core.run import Run

#: backend name -> "module:function"; each takes (model, SimulationSetup) -> Run.
BACKENDS = {
    "reference": "trsp_core.backends.reference:run",
    "fast": "trsp_core.backends.fast:run",
}


def available_backends() -> list[str]:
    out = []
    for name, target in BACKENDS.items():
        try:
            importlib.import_module(target.split(":")[0])
            out.append(name)
        except ImportError:
            pass
    return out


def resolve_backend(backend: str) -> str:
    """'auto' -> the backend that would actually run (part of a run's identity)."""
    if backend == "auto":
        backend = "fast" if "fast" in available_backends() else "reference"
    if backend not in BACKENDS:
        raise ParameterError(f"unknown backend '{backend}'; choose one of: auto, {', '.join(BACKENDS)}")
    return backend


def _resolve(backend: str):
    backend = resolve_backend(backend)
    mod, fn = BACKENDS[backend].split(":")
    return backend, getattr(importlib.import_module(mod), fn)


def default_hist_edges(model, n_bins: int = 48, width: float = 6.0) -> np.ndarray:
    sd = np.sqrt(model.params.C0)
    return np.linspace(model.mu - width * sd, model.mu + width * sd, n_bins + 1)


def simulate(
    model,
    duration: float,
    seed: int,
    *,
    backend: str = "auto",
    n_snapshots: int = 16,
    snapshot_times: np.ndarray | None = None,
    hist_edges: np.ndarray | None = None,
    initial: np.ndarray | None = None,
    initial_temperature: float | None = None,
    progress: Callable[[float], None] | None = None,
    **options,
) -> Run:
    """Run the Gillespie dynamics of ``model`` for ``duration`` frames.

    The initial state is drawn from equilibrium at the model's temperature (or
    at ``initial_temperature``, for a quench) with ``numpy.random.default_rng(seed)``,
    unless ``initial`` is given. Extra ``options`` go to the backend.

    ``sink(times, clusters, s_before, s_after)``, if given, receives the event log
    in order, in chunks, and the Run comes back without the ``events`` and
    ``kicks`` fields (``n_events`` still counts them): the fast backend then never
    holds the log (memory independent of run length); the dense reference, which
    is limited to small lattices, hands it over once at the end.
    """
    if not (np.isfinite(duration) and duration > 0):
        raise ParameterError(f"duration must be > 0 frames, got {duration!r}")
    name, fn = _resolve(backend)
    rng = np.random.default_rng(seed)
    if initial is None:
        initial = model.sample_equilibrium(rng, initial_temperature)
    initial = np.asarray(initial, dtype=float).copy()
    if initial.shape != (model.n_sites,):
        raise ParameterError(f"initial state must have shape ({model.n_sites},), got {initial.shape}")
    if snapshot_times is None:
        snapshot_times = np.linspace(0.0, duration, n_snapshots + 1)[1:] if n_snapshots else np.zeros(0)
    snapshot_times = np.asarray(snapshot_times, dtype=float)
    if hist_edges is None:
        hist_edges = default_hist_edges(model)
    sink = options.pop("sink", None)
    if sink is not None and name == "fast":
        options["sink"] = sink
    run = fn(model, duration=float(duration), seed=int(seed), initial=initial, snapshot_times=snapshot_times,
             hist_edges=np.asarray(hist_edges, dtype=float), progress=progress, rng=rng, **options)
    if sink is not None and name != "fast":
        import attrs

        if run.n_events:
            sink(run.times, run.clusters, run.s_before, run.s_after)
        run = attrs.evolve(run, times=None, clusters=None, s_before=None, s_after=None, n_events_stored=run.n_events)
    return run
