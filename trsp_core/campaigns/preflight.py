"""Pre-flight estimates of sweeps and aging campaigns (the campaign-level part of
:mod:`trsp_core.resources`, which sits below the campaigns and cannot import them)."""
from __future__ import annotations

from trsp_core.resources import (OVERLAP_SITE_BYTES, Estimate, _campaign, _events, _probe, fourpoint_bytes,
                                 fourpoint_seconds)

__all__ = ["estimate_sweep", "estimate_aging", "Estimate"]


def estimate_sweep(variants, temperatures, *, seeds: int, duration: float | None, tau_factor: float,
                   max_duration: float, n_workers: int, backend: str = "fast", kicks: bool = False,
                   observables=None) -> Estimate:
    """Peak memory (client + workers) and wall time of a sweep, before any model is built at full size.

    ``observables``: the names the reduction computes; with ``overlap``, ``s4`` and ``block-chi4``
    alone it holds no event log."""
    from trsp_core.campaigns.tasks import model_spec
    from trsp_core.physics.timescales import auto_run_length

    points = []
    for v in variants:
        for T in temperatures:
            spec = model_spec(v, T)
            n, _, m, tau, small = _probe(spec, spec.size)
            dur = float(duration) if duration else auto_run_length(small, tau_factor, max_duration)
            points.append((int(spec.size), n, m, _events(n, m, dur, tau)))
    per_event = 96.0 + (2 * 8.0 * max(p[2] for p in points) if kicks else 0.0)
    chunked = None
    if observables is not None and set(observables) <= {"overlap", "s4", "block-chi4"}:
        # these read the run files back chunk-wise (streaming.ChunkedRuns): no event log is held
        per_event = 0.0
        four = bool({"s4", "block-chi4"} & set(observables))
        chunked = lambda n: OVERLAP_SITE_BYTES * n + (fourpoint_bytes(n, seeds) if four else 0.0)  # noqa: E731
    # the default observables (None) include s4 and block-chi4
    four = observables is None or bool({"s4", "block-chi4"} & set(observables))
    reduce_s = (lambda n, size: fourpoint_seconds(n, seeds, size)) if four else None  # noqa: E731
    return _campaign("trsp sweep", points, seeds, n_workers, backend, per_event, chunked, reduce_s)


def estimate_aging(models: dict, final_temperatures, *, size: int, seeds: int, duration: float | None,
                   tau_factor: float, max_duration: float, n_workers: int, backend: str = "fast") -> Estimate:
    """Aging campaign: runs keep their event log until the run file (snapshot means) is written."""
    from trsp_core.campaigns.spec import normalise_variant
    from trsp_core.campaigns.tasks import model_spec
    from trsp_core.physics.timescales import auto_run_length

    points = []
    for variant in models.values():
        for T in final_temperatures:
            spec = model_spec(normalise_variant({**variant, "size": size}), T)
            n, _, m, tau, small = _probe(spec, size)
            dur = float(duration) if duration else auto_run_length(small, tau_factor, max_duration)
            points.append((int(size), n, m, _events(n, m, dur, tau)))
    # the runs drop their event log as it is produced (an event sink): no per-event memory
    return _campaign("trsp age", points, seeds, n_workers, backend, 0.0)


def check_models(variants, temperatures, *, initial_temperature: float | None = None) -> None:
    """Build every (variant, temperature) model of a campaign at full size and check its kick
    feasibility (and, for a quench from ``initial_temperature``, the initial statics), so that
    a form that fails at one temperature (e.g. a T-dependent C(r)) is refused before anything is
    submitted. Raises ParameterError naming the variant and the temperature.

    Called after the memory estimate has been checked (the models are built at full size)."""
    from trsp_core.campaigns.spec import variant_label
    from trsp_core.campaigns.tasks import model_spec
    from trsp_core.errors import ParameterError
    from trsp_core.physics import gaussian

    for v in variants:
        for T in temperatures:
            try:
                model = model_spec(v, T).build()
                model.check_feasible()
                if initial_temperature is not None:
                    gaussian.checked_spectrum(model.lattice, model.params.at(float(initial_temperature)),
                                              kicks=False)
            except ParameterError as exc:
                raise ParameterError(f"{variant_label(v)}: {exc}") from None
