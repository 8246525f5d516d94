"""Pre-flight estimates of memory and time, and the refusal of work that cannot fit.

Every command that simulates calls :func:`estimate_compose`, :func:`~trsp_core.campaigns.preflight.estimate_sweep`
or :func:`estimate_aging` *before* building its (full-size) model, prints the
one-line :meth:`Estimate.line`, and :func:`check_fits` refuses with a
:class:`ResourceError` naming the size and the estimate when the peak would exceed
the memory the machine has available (``MemAvailable``, or a cgroup limit if
lower; ``TRSP_MAX_MEMORY``, e.g. ``8G``, overrides it).

The model is a sum of measured costs (coefficients below; how they were measured is
in docs/performance.md, and ``tests/io/test_resources.py`` checks the estimate
against the peak RSS of real runs):

* a base (interpreter, numpy/xarray/netCDF/numba, compiled kernels);
* a cost per lattice site (S, Z and the other per-site arrays, the FFT spectrum,
  the cluster table and the sum tree over the clusters of a site, 16 snapshots);
* a cost per stored event when a run keeps its event log in memory (``Model.run``,
  a sweep's or aging's per-run task), and the transient of the overlap reduction.

A streaming compose (:mod:`trsp_core.streaming`) stores no events: its peak does
not depend on the run length. Events per run are the run length over the mean
time between a site's rearrangements, times N / m (m sites per cluster); time is
events over the fast kernel's rate (``trsp bench``), plus the build.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from trsp_core.errors import ParameterError, TRSPError

#: bytes: interpreter + libraries + the kernels (peak RSS of `trsp compose --size 32`: 324 MiB with the
#: numba cache warm; compiling the kernels in a first run adds 65 to 70 MiB)
BASE_BYTES = 420e6
#: bytes per site of a run in progress (L = 16 -> 128 streamed compose: 491 to 542 B/site, plaquettes)
SITE_BYTES = 560.0
#: bytes per site of building a model at all (client side of a sweep: 900 MB at L = 128)
BUILD_SITE_BYTES = 340.0
#: bytes per event kept in memory: the Run's log (times, clusters, 2 x m kicks = 80 B at m = 4)
#: plus its copy in the run Dataset
EVENT_BYTES = 160.0
#: bytes per event-site of the overlap reduction of one run (site_event_times: 5 arrays of 8 B)
OVERLAP_EVENT_SITE_BYTES = 40.0
#: bytes per site of the overlap reduction (64 origins x 8 B, and its sorted copy)
OVERLAP_SITE_BYTES = 1100.0
#: bytes per site of the four-point observables accumulated from event chunks (s4, block-chi4):
#: one run's boolean fields at up to 3 times (3 x 64 origins x 1 B) and the shell tables
FOURPOINT_SITE_BYTES = 250.0
#: bytes per site and seed: the per-run Fourier moments the bootstrap resamples (3 times x (8 + 16) B)
FOURPOINT_SEED_SITE_BYTES = 72.0
#: bytes per (origin, site) of one FFT batch (float field, complex transform, block sums), at most
#: observables.fourpoint.FFT_BATCH = 2^22 (origin, site) pairs at a time
FOURPOINT_BATCH_BYTES, FOURPOINT_BATCH_MAX = 64.0, 2**22
#: seconds of S4 / block chi4 work: per site, block side (1..L) and run (running block sums
#: per origin and side, and the S4 FFTs: 0.46 s at L = 32, one seed, idle; ~12 s per run at
#: L = 64 on a shared machine), and per site once per compose or sweep point (the
#: block-scaling fit: 0.17 s at L = 32)
FOURPOINT_S_PER_SITE_SIDE_SEED, FOURPOINT_S_PER_SITE = 7e-7, 1.0e-5
#: fast-kernel events per second per core (trsp bench: 23 000 to 34 000, L = 12 to 64); reference: 400
EVENTS_PER_S = {"fast": 2.0e4, "reference": 4.0e2}
#: build time per site, seconds (7 s + 7 s feasibility check at L = 128)
BUILD_S_PER_SITE = 7e-6
#: bytes in a compose file: per site and seed (16 snapshots + 4 per-site arrays, float64), per event
#: (time, cluster, run, 2 x 4 kicks, zlib: 889 MiB for L = 128, 2 seeds, 1.4e5 events), geometry per site
FILE_SITE_BYTES, FILE_EVENT_BYTES, FILE_GEOMETRY_BYTES = 160.0, 65.0, 120.0
#: the estimate is refused when it exceeds this fraction of the available memory
HEADROOM = 0.9


class ResourceError(TRSPError, MemoryError):
    """The estimated peak memory exceeds what the machine has available."""


@dataclass
class Estimate:
    what: str
    size: int
    n_sites: int
    events_per_run: float
    n_runs: int
    memory_bytes: float
    time_s: float
    parts: dict = field(default_factory=dict)

    def line(self) -> str:
        workers = self.parts.get("workers")
        per = (f" ({workers} worker(s) x {_bytes(self.parts['per_worker'])} + client)" if workers else
               f" (client; {_bytes(self.parts['per_worker'])} per remote worker)") if workers is not None else ""
        file = f", output ~{_bytes(self.parts['file'])}" if "file" in self.parts else ""
        return (f"{self.what}: size {self.size} ({self.n_sites:,} sites), {self.n_runs} run(s) of ~"
                f"{_num(self.events_per_run)} events: estimated peak memory {_bytes(self.memory_bytes)}{per}, "
                f"time ~{_dur(self.time_s)}{file}")

    def to_dict(self) -> dict:
        return {"memory_bytes": self.memory_bytes, "time_s": self.time_s, "n_sites": self.n_sites,
                "events_per_run": self.events_per_run, "n_runs": self.n_runs}


def _num(x: float) -> str:
    return f"{x:.2g}" if x >= 1e4 else f"{x:.0f}"


def _bytes(b: float) -> str:
    for unit, f in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if b >= f:
            return f"{b / f:.1f} {unit}"
    return f"{b / 2**20:.2f} MiB"


def _dur(s: float) -> str:
    if s >= 86400:
        return f"{s / 86400:.1f} d"
    if s >= 3600:
        return f"{s / 3600:.1f} h"
    if s >= 60:
        return f"{s / 60:.0f} min"
    return f"{s:.0f} s"


def parse_bytes(text: str) -> float:
    """'8G', '512M', '1.5T' or a plain number of bytes."""
    t = str(text).strip().upper().removesuffix("B").removesuffix("I")
    mult = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}.get(t[-1:], 1)
    try:
        return float(t[:-1] if mult != 1 else t) * mult
    except ValueError:
        raise ParameterError(f"TRSP_MAX_MEMORY must be a size such as 8G or 512M, got {text!r}") from None


def available_memory() -> float:
    """Bytes this process may still use: MemAvailable, a cgroup limit if lower, or TRSP_MAX_MEMORY."""
    if os.environ.get("TRSP_MAX_MEMORY"):
        return parse_bytes(os.environ["TRSP_MAX_MEMORY"])
    avail = math.inf
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = float(Path("/sys/fs/cgroup/memory.current").read_text())
            avail = min(avail, float(limit) - used)
    except (OSError, ValueError):
        pass
    return avail


# ---- sizes of a model, from a small copy of it ------------------------------------------
#: a spec the small copy refuses is built at its own size up to this L (4e6 sites in 3D)
PROBE_FULL_MAX_L = 160


def _probe(spec, size: int):
    """(n_sites, n_clusters, m, mean rearrangement time) of ``spec`` at ``size``, from a small model."""
    from trsp_core.physics.timescales import mean_rate_time

    from trsp_core.errors import ParameterError

    small = spec.evolve(size=min(int(size), 6)) if hasattr(spec, "evolve") else spec
    try:
        model = small.build()
    except ParameterError:
        # positive definiteness (and kick feasibility) depend on L: a form refused on
        # the small copy may be fine at the requested size, and its error must name
        # that size. Build the real model unless it is too big to build just to check.
        if small is spec or int(size) > PROBE_FULL_MAX_L:
            raise
        model = spec.build()
    s = model.lattice.shape[0]
    scale = (int(size) / s) ** model.lattice.dim
    n = int(round(model.n_sites * scale))
    return n, int(round(model.n_clusters * scale)), int(model.cluster_sites.shape[1]), mean_rate_time(model), model


def _events(n_sites: int, m: int, duration: float, tau_site: float) -> float:
    return duration / tau_site * n_sites / m


def fourpoint_bytes(n_sites: float, seeds: int, n_origins: int = 64) -> float:
    """Peak bytes of S4 / block chi4 computed from event chunks (independent of run length)."""
    return (FOURPOINT_SITE_BYTES * n_sites + FOURPOINT_SEED_SITE_BYTES * n_sites * seeds
            + FOURPOINT_BATCH_BYTES * min(n_origins * n_sites, FOURPOINT_BATCH_MAX))


def fourpoint_seconds(n_sites: float, seeds: int, size: int) -> float:
    """Time of S4 / block chi4 from the runs of one compose (or one sweep point) at lattice size L."""
    return n_sites * (FOURPOINT_S_PER_SITE_SIDE_SEED * size * seeds + FOURPOINT_S_PER_SITE)


def estimate_compose(spec, *, seeds: int, duration: float | None, backend: str = "fast", streamed: bool = True,
                     factor: float = 30.0, fourpoint: bool = False) -> Estimate:
    """Peak memory and time of ``trsp compose`` / ``Model.run`` for ``spec`` (a ModelSpec).
    ``fourpoint``: s4 or block-chi4 are among the observables (:func:`fourpoint_bytes`)."""
    n, _, m, tau, model = _probe(spec, spec.size)
    est = _estimate_runs(int(spec.size), n, m, tau, seeds=seeds, duration=duration, backend=backend,
                         streamed=streamed, factor=factor)
    if fourpoint:
        est.parts["fourpoint"] = fourpoint_bytes(n, int(seeds))
        est.memory_bytes += est.parts["fourpoint"]
        est.time_s += fourpoint_seconds(n, int(seeds), int(spec.size))
    return est


def estimate_model_run(model, *, seeds: int, duration: float | None, backend: str = "fast",
                       streamed: bool = False, factor: float = 30.0) -> Estimate:
    """The same for an already built model (``Model.run`` keeps every event log: ``streamed=False``)."""
    from trsp_core.physics.timescales import mean_rate_time

    return _estimate_runs(int(model.lattice.shape[0]), model.n_sites, int(model.cluster_sites.shape[1]),
                          mean_rate_time(model), seeds=seeds, duration=duration, backend=backend,
                          streamed=streamed, factor=factor, what="Model.run")


def _estimate_runs(size, n, m, tau, *, seeds, duration, backend, streamed, factor,
                   what="trsp compose") -> Estimate:
    dur = float(duration) if duration is not None else factor * tau
    ev = _events(n, m, dur, tau)
    parts = {"base": BASE_BYTES, "sites": SITE_BYTES * n}
    if not streamed:
        parts["event_log"] = EVENT_BYTES * ev * seeds
        parts["overlap"] = OVERLAP_EVENT_SITE_BYTES * ev * m + OVERLAP_SITE_BYTES * n
        parts["per_run_arrays"] = 2 * 8.0 * 22 * n * seeds
    rate = EVENTS_PER_S.get(backend, EVENTS_PER_S["fast"])
    t = BUILD_S_PER_SITE * n + seeds * ev / rate
    est = Estimate(what, size, n, ev, int(seeds), sum(parts.values()), t, parts)
    # the file: per seed 16 snapshots + 4 per-site arrays, the event log compressed; geometry once
    est.parts["file"] = seeds * (FILE_SITE_BYTES * n + FILE_EVENT_BYTES * ev) + FILE_GEOMETRY_BYTES * n * m / 4
    return est


def _campaign(what, points, seeds, n_workers, backend, fields_per_event, chunked_site_bytes=None,
              reduce_seconds=None) -> Estimate:
    """points: [(size, n_sites, m, events per run)]. A worker simulates one run at a time with its
    event log streamed to the run file (no per-event memory); the reduction of a point loads the
    event logs of all its seeds (``fields_per_event`` bytes per event, 0: nothing to reduce), or,
    with ``chunked_site_bytes(n_sites)``, reads them back chunk-wise and holds only that;
    ``reduce_seconds(n_sites, size)``: the time of one point's reduction beyond reading the runs."""
    worker = max(BASE_BYTES + SITE_BYTES * n for _, n, _, _ in points)
    reduce = max(BASE_BYTES + (fields_per_event + OVERLAP_EVENT_SITE_BYTES * m) * e * seeds
                 + OVERLAP_SITE_BYTES * n for _, n, m, e in points) if fields_per_event else 0.0
    if chunked_site_bytes is not None and not fields_per_event:
        reduce = max(BASE_BYTES + BUILD_SITE_BYTES * n + chunked_site_bytes(n) for _, n, _, _ in points)
    client = BASE_BYTES + max(BUILD_SITE_BYTES * n for _, n, _, _ in points)
    workers = max(0, int(n_workers))  # 0: remote workers, not on this machine
    mem = client + workers * max(worker, reduce)
    rate = EVENTS_PER_S.get(backend, EVENTS_PER_S["fast"])
    total_events = sum(e for _, _, _, e in points) * seeds
    t = (total_events / rate + sum(BUILD_S_PER_SITE * n for _, n, _, _ in points) * seeds) / max(1, workers)
    if reduce_seconds is not None:
        t += sum(reduce_seconds(n, size) for size, n, _, _ in points) / max(1, workers)
    size, n, _, e = max(points, key=lambda p: p[1] * (1 + p[3]))
    return Estimate(what, size, n, max(p[3] for p in points), len(points) * seeds, mem, t,
                    {"client": client, "per_worker": max(worker, reduce), "workers": workers})


def check_fits(est: Estimate, available: float | None = None, out=None) -> Estimate:
    """Raise ResourceError naming the size and the estimate if it does not fit in memory
    (or, given the output path ``out``, if its file system has no room for the output)."""
    if out is not None and "file" in est.parts:
        import shutil

        d = Path(out).parent
        while not d.exists() and d != d.parent:
            d = d.parent
        free = shutil.disk_usage(d).free
        if est.parts["file"] > free:
            raise ResourceError(
                f"{est.what} with size {est.size} writes an estimated {_bytes(est.parts['file'])} to {out}, but "
                f"only {_bytes(free)} is free there; use a smaller --size, fewer --seeds or another --out")
    avail = available_memory() if available is None else available
    if est.memory_bytes > HEADROOM * avail:
        raise ResourceError(
            f"{est.what} with size {est.size} ({est.n_sites:,} sites, ~{_num(est.events_per_run)} events per run) "
            f"needs an estimated {_bytes(est.memory_bytes)} of memory, but only {_bytes(avail)} is available; "
            f"use a smaller --size{', fewer --workers' if est.what != 'trsp compose' else ''} or a shorter "
            "--duration (TRSP_MAX_MEMORY=<bytes> overrides the limit)")
    return est
