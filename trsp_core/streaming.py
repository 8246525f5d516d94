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

Observables other than ``overlap`` that read the event log or the kicks cannot
be accumulated this way; with one of them the whole run is kept in memory, as
``Model.run`` does (:func:`streamable` says which case applies).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import xarray as xr

from trsp_core.run import ALL_FIELDS, FIELDS, Run, run_file, runs_to_dataset

#: events per netCDF chunk of the event log (the fast kernel hands over at most 65 536 at a time)
EVENT_CHUNK = 1 << 15
_ZLIB = dict(zlib=True, complevel=4, shuffle=True)
#: chunks of HDF5 cache per event variable
_EVENT_CACHE = 4
_EVENT_FIELDS = ("events", "kicks")


# ---- overlap from event chunks ----------------------------------------------------------
def _overlap_add(times, clusters, cluster_sites, origins, lags, ptr, cnt):  # pragma: no cover - numba
    """For every site of every event, the origins whose next rearrangement it is.

    ``ptr[i]``: first origin whose next rearrangement of site i is still unseen.
    Event (t, site i) is the next one after every origin o_k < t with k >= ptr[i]
    (events arrive in time order); its persistence time t - o_k falls in lag bin
    b = #{lags < t - o_k}, counted in ``cnt[k, b]``.
    """
    n_o = origins.shape[0]
    n_l = lags.shape[0]
    m = cluster_sites.shape[1]
    for e in range(times.shape[0]):
        t = times[e]
        c = clusters[e]
        for j in range(m):
            i = cluster_sites[c, j]
            k = ptr[i]
            while k < n_o and origins[k] < t:
                tau = t - origins[k]
                lo, hi = 0, n_l
                while lo < hi:
                    mid = (lo + hi) // 2
                    if lags[mid] < tau:
                        lo = mid + 1
                    else:
                        hi = mid
                cnt[k, lo] += 1
                k += 1
            ptr[i] = k


try:
    from numba import njit

    _overlap_add = njit(cache=True, nogil=True)(_overlap_add)
except ImportError:  # pragma: no cover - without numba the loop runs in Python
    pass


class OverlapAccumulator:
    """Q(origin, lag) of one run from its event chunks, in O(N) memory.

    Bitwise equal to ``overlap_from_persistence(persistence_times(...))`` of
    :mod:`trsp_core.observables.overlap` for the same origins and lags: a site's
    persistence time after origin o is t - o for its first event t > o, and Q is
    1 - #{persistence time <= lag} / N, an integer count here.
    """

    def __init__(self, cluster_sites: np.ndarray, n_sites: int, origins: np.ndarray, lags: np.ndarray):
        self.cluster_sites = np.ascontiguousarray(cluster_sites, np.int64)
        self.n_sites = int(n_sites)
        self.origins = np.ascontiguousarray(origins, float)
        self.lags = np.ascontiguousarray(lags, float)
        dtype = np.int16 if len(self.origins) < np.iinfo(np.int16).max else np.int32
        self.ptr = np.zeros(self.n_sites, dtype)
        self.cnt = np.zeros((len(self.origins), len(self.lags) + 1), np.int64)

    def add(self, times: np.ndarray, clusters: np.ndarray) -> None:
        _overlap_add(np.ascontiguousarray(times, float), np.ascontiguousarray(clusters, np.int64),
                     self.cluster_sites, self.origins, self.lags, self.ptr, self.cnt)

    def result(self) -> np.ndarray:
        """Q[origin, lag]."""
        below = np.cumsum(self.cnt[:, :-1], axis=1)
        return 1.0 - below / self.n_sites


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


def streamable(observables) -> bool:
    """True if these observables (instances) can be computed without keeping event logs."""
    from trsp_core.observables import required_fields

    return all(_is_overlap(o) or not set(required_fields(o)) & set(_EVENT_FIELDS) for o in observables)


def overlap_from_samples(obs, model, runs, lags: np.ndarray, Q: np.ndarray) -> xr.Dataset:
    """``obs.compute(model, runs)`` with the samples Q (run, origin, lag) already accumulated."""
    return obs.from_samples(model, runs, lags, Q)


# ---- the streaming run-file writer -------------------------------------------------------
class _RunFileWriter:
    """A run file written run by run: events appended in chunks, per-run arrays as each run ends."""

    def __init__(self, path: Path, n_runs: int, m: int, event_fields=_EVENT_FIELDS):
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
    others = [o for o in obs if not _is_overlap(o)]
    keep = {f for o in others for f in required_fields(o)}
    plans = [overlap_plan(o, duration) for o in overlaps]
    m = model.cluster_sites.shape[1]
    runs, samples = [], [[] for _ in overlaps]
    out = Path(out)
    with atomic_path(out) as tmp:
        writer = _RunFileWriter(tmp, seeds, m)
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
        computed = [overlap_from_samples(o, model, runs, lags, np.asarray(Q))
                    for o, (lags, _), Q in zip(overlaps, plans, samples)]
        computed += compute_all(others, model, runs)
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
        writer = _RunFileWriter(tmp, 1, m, event_fields=[f for f in fields if f in _EVENT_FIELDS])
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
    from trsp_core.observables.overlap import default_lags

    items = [(r, p, i) for p in paths for i, r in enumerate(light_runs_of_file(p))]
    items.sort(key=lambda x: x[0].seed)
    runs = [r for r, _, _ in items]
    t_end = min(r.t_end for r in runs)
    lags = np.asarray(obs.lags, float) if obs.lags is not None else default_lags(t_end, obs.n_lags)
    samples = []
    for r, p, i in items:
        span = r.t_end - lags.max()
        if span < 0:
            raise ValueError(f"run of seed {r.seed} (t_end={r.t_end:.4g}) is shorter than the largest lag "
                             f"{lags.max():.4g}")
        acc = OverlapAccumulator(model.cluster_sites, model.n_sites, np.linspace(0.0, span, obs.n_origins), lags)
        for ev_run, t, c in iter_event_chunks(p):
            sel = ev_run == i
            acc.add(t[sel], c[sel])
        samples.append(acc.result())
    return obs.from_samples(model, runs, lags, np.asarray(samples))
