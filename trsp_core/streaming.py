"""Runs whose event log goes to disk as it is produced: memory independent of run length.

:func:`compose_to_file` is :meth:`trsp_core.model.Model.run` followed by
``write_dataset``, except that no run's event log (nor its snapshots) is ever
held in memory: the backend hands its events over in chunks of at most
``MAX_CHUNK`` (:mod:`trsp_core.backends.fast.driver`), each chunk is appended
to the netCDF file along its unlimited, compressed ``event`` dimension, and the
overlap observable is accumulated from the same chunks
(:class:`OverlapAccumulator`). The file has the variables, values and
attributes ``Model.run`` + ``write_dataset`` give (tested variable by variable);
only its storage differs (the event log is compressed and chunked).

The four-point observables (``s4``, ``block-chi4``) are accumulated as well, in a
second pass over the event log read back from the file chunk by chunk (their
evaluation time tau_alpha is known only once every seed has run; its overlap
samples are accumulated while simulating). Observables other than these that read
the event log or the kicks cannot be accumulated this way; with one of them the
whole run is kept in memory, as ``Model.run`` does (:func:`streamable` says which
case applies). :class:`ChunkedRuns` is the one dispatcher, used by compose, the
sweep's reduction (:func:`chunked_runs_of_files`) and ``Model.run`` (in memory).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import xarray as xr

from trsp_core.errors import InputFileError
from trsp_core.run import ALL_FIELDS, FIELDS, Run, run_file, runs_to_dataset

#: events per netCDF chunk of the event log (the fast kernel hands over at most 65 536 at a time)
EVENT_CHUNK = 1 << 15
_ZLIB = dict(zlib=True, complevel=4, shuffle=True)
#: chunks of HDF5 cache per event variable
_EVENT_CACHE = 4
_EVENT_FIELDS = ("events", "kicks")


# ---- observables from event chunks ------------------------------------------------------
# the accumulators live beside the four-point numerics (re-exported here, where they were)
from trsp_core.observables.fourpoint import IndicatorAccumulator, OverlapAccumulator  # noqa: E402,F401


def overlap_plan(obs, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """(lags, origins) ``Overlap.compute`` uses for runs that all end at ``duration``."""
    from trsp_core.observables.overlap import default_lags

    lags = np.asarray(obs.lags, float) if obs.lags is not None else default_lags(duration, obs.n_lags)
    if duration - lags.max() < 0:  # the message overlap_samples gives
        raise ValueError(f"runs of {duration:.4g} frames are shorter than the largest lag {lags.max():.4g}")
    return lags, np.linspace(0.0, duration - lags.max(), obs.n_origins)


def _is_overlap(obs) -> bool:
    from trsp_core.observables.overlap import Overlap

    return type(obs) is Overlap


def _is_fourpoint(obs) -> bool:
    """S4 or block chi4 exactly (a subclass may compute something else from the runs)."""
    from trsp_core.observables.fourpoint import BlockChi4, FourPointStructureFactor

    return type(obs) in (FourPointStructureFactor, BlockChi4)


def is_chunked(obs) -> bool:
    """True if ``obs`` (an instance) is computed from event chunks by :class:`ChunkedRuns`."""
    return _is_overlap(obs) or _is_fourpoint(obs)


def streamable(observables) -> bool:
    """True if these observables (instances) can be computed without keeping event logs."""
    from trsp_core.observables import required_fields

    return all(is_chunked(o) or not set(required_fields(o)) & set(_EVENT_FIELDS) for o in observables)


class ChunkedRuns:
    """Runs whose event logs are read chunk by chunk: ``chunks(k)`` yields (times, clusters)
    of ``runs[k]`` in time order (from a file, or from memory); the runs need only seed and
    t_end. :meth:`compute` gives ``obs.compute(model, runs)`` for the observables of
    :func:`is_chunked` (same numbers: bitwise for overlap and, while a run's fields fit in
    one FFT batch, for s4 and block chi4), in O(N) memory per run.

    ``alpha``: the overlap samples of tau_alpha (``fourpoint.alpha_samples``) if they were
    accumulated already; otherwise they are, once, on the first four-point observable.
    """

    def __init__(self, runs, chunks, alpha=None):
        self.runs, self.chunks, self.alpha = list(runs), chunks, alpha

    def compute(self, obs, model) -> xr.Dataset:
        from trsp_core.observables import fourpoint

        if _is_overlap(obs):
            return overlap_from_chunks(obs, model, self.runs, self.chunks)
        if not _is_fourpoint(obs):
            raise TypeError(f"observable '{obs.name}' is not computed from event chunks")
        if obs.t is None and self.alpha is None:
            self.alpha = fourpoint.alpha_samples(model, self.runs, self.chunks)
        return obs.compute_streamed(model, self.runs, self.chunks, alpha=self.alpha)


def overlap_from_chunks(obs, model, runs, chunks) -> xr.Dataset:
    """``obs.compute(model, runs)`` (an ``Overlap``) from event chunks (see :class:`ChunkedRuns`)."""
    from trsp_core.observables.overlap import default_lags

    order = sorted(range(len(runs)), key=lambda k: runs[k].seed)
    t_end = min(r.t_end for r in runs)
    lags = np.asarray(obs.lags, float) if obs.lags is not None else default_lags(t_end, obs.n_lags)
    samples = []
    for k in order:
        r = runs[k]
        span = r.t_end - lags.max()
        if span < 0:
            raise ValueError(f"run of seed {r.seed} (t_end={r.t_end:.4g}) is shorter than the largest lag "
                             f"{lags.max():.4g}")
        acc = OverlapAccumulator(model.cluster_sites, model.n_sites, np.linspace(0.0, span, obs.n_origins), lags)
        for t, c in chunks(k):
            acc.add(t, c)
        samples.append(acc.result())
    return obs.from_samples(model, [runs[k] for k in order], lags, np.asarray(samples))


def overlap_from_samples(obs, model, runs, lags: np.ndarray, Q: np.ndarray) -> xr.Dataset:
    """``obs.compute(model, runs)`` with the samples Q (run, origin, lag) already accumulated."""
    return obs.from_samples(model, runs, lags, Q)


# ---- the streaming run-file writer -------------------------------------------------------
class _RunFileWriter:
    """A run file written run by run: events appended in chunks, per-run arrays as each run ends."""

    def __init__(self, path: Path, n_runs: int, m: int, event_fields=_EVENT_FIELDS, model=None):
        import netCDF4

        from trsp_core.io import netcdf

        self._lock = netcdf.LOCK
        self.n_runs, self.m = n_runs, m
        with self._lock:
            self.nc = netCDF4.Dataset(path, "w", format="NETCDF4")
            self.nc.createDimension("run", n_runs)
            self.nc.createDimension("member", m)
            self.nc.createDimension("event", None)
        # the event variables' names, dtypes and attributes, from the one layout in trsp_core.run
        empty = Run(seed=0, t_end=0.0, times=np.zeros(0), clusters=np.zeros(0, np.int64),
                    s_before=np.zeros((0, m)), s_after=np.zeros((0, m)))
        self.event_fields = tuple(f for f in _EVENT_FIELDS if f in event_fields)
        schema = runs_to_dataset([empty], fields=self.event_fields)
        self.ev = {}
        with self._lock:
            for name in ("event_run", "event_time", "event_cluster", "event_s_before", "event_s_after"):
                if name not in schema:
                    continue
                v = schema[name]
                chunks = (EVENT_CHUNK,) + tuple(self.m for _ in v.dims[1:])
                self.ev[name] = var = self._create(name, v, chunksizes=chunks, **_ZLIB)
                if _EVENT_CACHE:
                    # written once, in order: a few chunks of cache suffice (the default, 64 MiB per
                    # variable, would hold up to 5 x 64 MiB of already written chunks)
                    var.set_var_chunk_cache(size=_EVENT_CACHE * int(np.prod(chunks)) * v.dtype.itemsize,
                                            nelems=_EVENT_CACHE * 4 + 1, preemption=1.0)
        # a mixture's events also record their channel (as run_file does for an in-memory run)
        self._channel = None
        if model is not None and getattr(model, "is_mixture", False) and "events" in self.event_fields:
            self._channel = (np.asarray(model.orientation_channel, np.int8), int(model.n_sites))
            v = runs_to_dataset([empty], model, ("events",), geometry=False)["event_channel"]
            with self._lock:
                self.ev["event_channel"] = self._create("event_channel", v, chunksizes=(EVENT_CHUNK,), **_ZLIB)
        self.n_events = 0

    def _create(self, name, v: xr.DataArray, **kw):
        fill = {"fill_value": np.nan} if v.dtype.kind == "f" else {}
        var = self.nc.createVariable(name, v.dtype, v.dims, **fill, **kw)
        var.setncatts(dict(v.attrs))
        return var

    def _dim(self, name: str, size: int) -> None:
        if name not in self.nc.dimensions:
            self.nc.createDimension(name, size)
        elif len(self.nc.dimensions[name]) != size:
            raise RuntimeError(f"dimension {name}: {size} != {len(self.nc.dimensions[name])} of the first run")

    def events(self, run_index: int, times, clusters, before, after) -> None:
        a, b = self.n_events, self.n_events + len(times)
        with self._lock:
            if "event_run" in self.ev:
                self.ev["event_run"][a:b] = np.full(b - a, run_index, np.int32)
            if "events" in self.event_fields:
                self.ev["event_time"][a:b] = np.asarray(times, float)
                self.ev["event_cluster"][a:b] = np.asarray(clusters).astype(np.int32)
                if self._channel is not None:
                    ch, N = self._channel
                    self.ev["event_channel"][a:b] = ch[np.asarray(clusters, np.int64) // N]
            if "kicks" in self.event_fields:
                self.ev["event_s_before"][a:b, :] = np.asarray(before, float).reshape(-1, self.m)
                self.ev["event_s_after"][a:b, :] = np.asarray(after, float).reshape(-1, self.m)
        self.n_events = b

    def per_run(self, run_index: int, run: Run, fields) -> None:
        """Every per-run variable of ``fields`` (no event fields) for one run."""
        ds = runs_to_dataset([run], fields=fields)
        with self._lock:
            for name, v in ds.data_vars.items():
                if name in ("seed", "t_end", "n_events", "wall_s"):
                    continue  # small: written with the observables at the end
                for d, size in zip(v.dims, v.shape):
                    if d != "run":
                        self._dim(d, size)
                if name not in self.nc.variables:
                    self._create(name, v)
                    if "run" not in v.dims:
                        self.nc.variables[name][...] = v.values
                if "run" in v.dims:
                    self.nc.variables[name][run_index, ...] = v.values[0]

    def close(self) -> None:
        with self._lock:
            self.nc.close()


def _light(run: Run, keep) -> Run:
    """The run without the (large) fields not in ``keep``; n_events kept."""
    import attrs

    drop = {name: None for f, names in FIELDS.items() if f not in keep for name in names}
    if "snapshot_mean" in keep or "snapshots" in keep:
        drop.pop("snapshot_times", None)
    if "snapshots" not in keep:
        drop["snapshots"] = None
    return attrs.evolve(run, n_events_stored=run.n_events, **drop)


def compose_to_file(model, out, *, seeds: int = 8, seed: int = 0, duration: float | None = None,
                    observables=("overlap",), backend: str = "auto", registry=None, progress=None,
                    n_snapshots: int = 16) -> xr.Dataset:
    """``Model.run`` + ``write_dataset(ds, out)``, streaming the event logs to ``out``.

    ``progress(done, total, events=...)`` is called in frames, with the events so far.
    Returns the Dataset without the streamed variables (event log, snapshots and
    per-site arrays): everything :func:`trsp_core.model.summary` reads. Falls back
    to the in-memory ``Model.run`` when an observable other than ``overlap``
    needs the event log or kicks (see :func:`streamable`).
    """
    from trsp_core.backends import simulate
    from trsp_core.io import atomic_path, netcdf, write_dataset
    from trsp_core.observables import compute_all, required_fields, resolve
    from trsp_core.physics.timescales import auto_duration

    obs = resolve(observables, registry)
    if not streamable(obs):
        ds = model.run(seeds=seeds, seed=seed, duration=duration, observables=obs, backend=backend,
                       progress=progress)
        write_dataset(ds, out)
        return ds
    from trsp_core.validators import check_duration, check_seeds

    t0 = time.perf_counter()
    check_seeds(seed, seeds)  # the checks Model.run makes
    check_duration(duration)
    seeds = int(seeds)
    b_max = model.check_feasible()
    if duration is None:
        duration = auto_duration(model)
    duration = float(duration)
    overlaps = [o for o in obs if _is_overlap(o)]
    fourpoints = [o for o in obs if _is_fourpoint(o)]
    others = [o for o in obs if not is_chunked(o)]
    keep = {f for o in others for f in required_fields(o)}
    plans = [overlap_plan(o, duration) for o in overlaps]
    if any(o.t is None for o in fourpoints):
        # tau_alpha of the four-point observables: its overlap samples, accumulated while simulating
        from trsp_core.observables.fourpoint import ALPHA_LAGS, ALPHA_ORIGINS
        from trsp_core.observables.overlap import default_lags

        alpha_lags = default_lags(duration, ALPHA_LAGS)
        plans.append((alpha_lags, np.linspace(0.0, duration - alpha_lags.max(), ALPHA_ORIGINS)))
    m = model.cluster_sites.shape[1]
    runs, samples = [], [[] for _ in plans]
    out = Path(out)
    with atomic_path(out) as tmp:
        writer = _RunFileWriter(tmp, seeds, m, model=model)
        try:
            for i in range(seeds):
                accs = [OverlapAccumulator(model.cluster_sites, model.n_sites, origins, lags)
                        for lags, origins in plans]

                def sink(t, c, b, a, i=i, accs=accs):
                    writer.events(i, t, c, b, a)
                    for acc in accs:
                        acc.add(t, c)

                cb = (lambda t, i=i: progress(i * duration + t, seeds * duration, events=writer.n_events)
                      ) if progress else None
                run = simulate(model, duration, seed + i, backend=backend, progress=cb, sink=sink,
                               n_snapshots=n_snapshots)
                if run.t_end != duration:
                    raise RuntimeError(f"run of seed {seed + i} ended at {run.t_end!r}, not at {duration!r}")
                if i == 0:
                    fields = tuple(f for f in ALL_FIELDS if f in _EVENT_FIELDS or f in run.fields)
                writer.per_run(i, run, tuple(f for f in fields if f not in _EVENT_FIELDS))
                for k, acc in enumerate(accs):
                    samples[k].append(acc.result())
                runs.append(_light(run, keep))
                del run, accs
        finally:
            writer.close()
        done = {id(o): overlap_from_samples(o, model, runs, lags, np.asarray(Q))
                for o, (lags, _), Q in zip(overlaps, plans, samples)}
        if fourpoints:
            # S4 / block chi4: the event log read back from the file, one run at a time
            ends = np.cumsum([r.n_events for r in runs])
            where = [(tmp, i, int(e - r.n_events), int(e)) for i, (r, e) in enumerate(zip(runs, ends))]
            alpha = (plans[-1][0], np.asarray(samples[-1])) if len(plans) > len(overlaps) else None
            chunked = ChunkedRuns(runs, lambda k: iter_run_events(*where[k]), alpha=alpha)
            done.update({id(o): chunked.compute(o, model) for o in fourpoints})
        done.update({id(o): d for o, d in zip(others, compute_all(others, model, runs))})
        computed = [done[id(o)] for o in obs]
        info = runs[0].info
        extra = {
            "observables": ",".join(o.name for o in obs), "backend": runs[0].backend,
            "seeds": [seed + i for i in range(seeds)], "duration": duration, "kick_b_max": b_max,
            "wall_s": time.perf_counter() - t0,
            **{f"kernel_{k}": v for k, v in info.items() if isinstance(v, (int, float, str))},
        }
        rd = run_file(runs, model, fields=(), extra=extra)
        rd.attrs["trsp_run_fields"] = ",".join(fields)
        ds = xr.merge([rd, *computed], combine_attrs="drop_conflicts")
        ds.attrs = rd.attrs
        netcdf.write(ds, tmp, mode="a")
    return ds


def simulate_to_file(model, path, duration: float, seed: int, *, fields, extra: dict | None = None,
                     geometry: bool = False, **simulate_options) -> Run:
    """One run written to ``path`` as ``run_file([run], model, fields, extra, geometry)`` +
    ``write_dataset(ds, path, encoding=encoding_of(ds))`` would, with its event log
    streamed (a sweep's per-run file). ``extra`` may be a callable ``extra(run)``.
    Returns the run without its event fields."""
    from trsp_core.backends import simulate
    from trsp_core.io import atomic_path, netcdf

    fields = tuple(f for f in ALL_FIELDS if f in fields)
    m = model.cluster_sites.shape[1]
    with atomic_path(Path(path)) as tmp:
        writer = _RunFileWriter(tmp, 1, m, event_fields=[f for f in fields if f in _EVENT_FIELDS], model=model)
        try:
            run = simulate(model, duration, seed, sink=lambda t, c, b, a: writer.events(0, t, c, b, a),
                           **simulate_options)
            writer.per_run(0, run, tuple(f for f in fields if f not in _EVENT_FIELDS))
        finally:
            writer.close()
        light = _light(run, ())
        ds = run_file([light], model, fields=(), extra=extra(light) if callable(extra) else extra, geometry=geometry)
        ds.attrs["trsp_run_fields"] = ",".join(fields)
        netcdf.write(ds, tmp, mode="a")
    return light


# ---- reading event logs back chunk-wise ---------------------------------------------------
def light_runs_of_file(path) -> list[Run]:
    """The runs of a run file with no fields (seed, t_end, n_events, wall_s, backend only)."""
    from trsp_core.io import netcdf
    from trsp_core.run import stored_fields

    with netcdf.opened(path) as ds:
        stored_fields(ds, str(path))
        return [Run(seed=int(s), t_end=float(t), n_events_stored=int(n), wall_s=float(w),
                    backend=str(ds.attrs.get("backend", "")))
                for s, t, n, w in zip(ds["seed"].values, ds["t_end"].values, ds["n_events"].values,
                                      ds["wall_s"].values)]


def iter_run_events(path, run_index: int, start: int, stop: int, chunk: int = 1 << 18):
    """(event_time, event_cluster) of events [start, stop) of a run file, ``chunk`` at a time,
    each checked to belong to run ``run_index`` (the writers store runs one after another)."""
    import netCDF4

    from trsp_core.io import netcdf

    with netcdf.LOCK:
        nc = netCDF4.Dataset(path, "r")
        nc.set_auto_maskandscale(False)
    try:
        for a in range(start, stop, chunk):
            b = min(a + chunk, stop)
            with netcdf.LOCK:
                ev_run = np.asarray(nc.variables["event_run"][a:b])
                t = np.asarray(nc.variables["event_time"][a:b])
                c = np.asarray(nc.variables["event_cluster"][a:b], np.int64)
            if len(t) != b - a or np.any(ev_run != run_index):
                raise InputFileError(f"{path}: events {a}..{b} are not those of run {run_index} "
                                     "(the event log is not stored run after run)")
            yield t, c
    finally:
        with netcdf.LOCK:
            nc.close()


def chunked_runs_of_files(paths) -> ChunkedRuns:
    """The runs stored in ``paths`` (run files with the ``events`` field), their event logs
    read back chunk by chunk when an observable needs them."""
    from trsp_core.io import netcdf
    from trsp_core.run import check_fields, stored_fields

    runs, where = [], []
    for p in paths:
        with netcdf.opened(p) as ds:
            check_fields(("events",), stored_fields(ds, str(p)), "reading event logs", str(p))
        rs = light_runs_of_file(p)
        ends = np.cumsum([r.n_events for r in rs])
        for i, (r, e) in enumerate(zip(rs, ends)):
            runs.append(r)
            where.append((p, i, int(e - r.n_events), int(e)))
    return ChunkedRuns(runs, lambda k: iter_run_events(*where[k]))


def iter_event_chunks(path, chunk: int = 1 << 18):
    """(event_run, event_time, event_cluster) of a run file, ``chunk`` events at a time."""
    import netCDF4

    from trsp_core.io import netcdf

    with netcdf.LOCK:
        nc = netCDF4.Dataset(path, "r")
        nc.set_auto_maskandscale(False)
    try:
        n = len(nc.dimensions["event"]) if "event" in nc.dimensions else 0
        for a in range(0, n, chunk):
            b = min(a + chunk, n)
            with netcdf.LOCK:
                yield (np.asarray(nc.variables["event_run"][a:b]), np.asarray(nc.variables["event_time"][a:b]),
                       np.asarray(nc.variables["event_cluster"][a:b], np.int64))
    finally:
        with netcdf.LOCK:
            nc.close()


def overlap_from_files(obs, model, paths) -> xr.Dataset:
    """``obs.compute(model, runs)`` for the runs stored in ``paths``, reading their event logs
    chunk by chunk (memory: O(N) per run, not the event logs). Same numbers as loading them."""
    return chunked_runs_of_files(paths).compute(obs, model)


def fourpoint_from_files(obs, model, paths) -> xr.Dataset:
    """The same for S4 or block chi4 (see :class:`ChunkedRuns`)."""
    return chunked_runs_of_files(paths).compute(obs, model)
