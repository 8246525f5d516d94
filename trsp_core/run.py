"""The record of simulated trajectories and its one file format.

A :class:`Run` is what a backend returns for one seed. Files hold one or more
runs in one layout (``RUN_FORMAT``), whatever command wrote them: ``trsp compose``
stores every field, a sweep's per-run file only the event log, an aging file the
site-averaged snapshots. A file lists the *fields* it stores in its
``trsp_run_fields`` attribute; a run read back has exactly those fields and
``None`` for the others (never zero-filled), and an observable that needs a
missing field is refused by name (:func:`check_fields`).

Fields (each a group of Run attributes):

=============== ================================================ ==============
field           Run attributes                                    file variables
=============== ================================================ ==============
events          times, clusters                                   event_time, event_cluster, event_run
kicks           s_before, s_after                                 event_s_before, event_s_after
snapshots       snapshot_times, snapshots                         snapshot_time, snapshot_S
snapshot_mean   snapshot_times, snapshot_mean                     snapshot_time, snapshot_S_mean
endpoints       s_initial, s_final                                S_initial, S_final
occupancy       hist_edges, occupancy                             S_bin_edges, occupancy
time_integral   s_time_integral                                   S_time_integral (+ S_time_mean)
=============== ================================================ ==============
"""
from __future__ import annotations

import json

import attrs
import numpy as np
import xarray as xr

from trsp_core.errors import InputFileError

#: bump when the layout of run files changes incompatibly; readers refuse other versions
RUN_FORMAT = 3

#: field -> the Run attributes it consists of
FIELDS: dict[str, tuple[str, ...]] = {
    "events": ("times", "clusters"),
    "kicks": ("s_before", "s_after"),
    "snapshots": ("snapshot_times", "snapshots"),
    "snapshot_mean": ("snapshot_times", "snapshot_mean"),
    "endpoints": ("s_initial", "s_final"),
    "occupancy": ("hist_edges", "occupancy"),
    "time_integral": ("s_time_integral",),
}
ALL_FIELDS = tuple(FIELDS)


def _opt():
    return attrs.field(default=None, repr=False)


@attrs.frozen(eq=False)
class Run:
    """Event log, snapshots and time-weighted accumulators of one run (one seed).

    Times are in MD frames. ``occupancy[b]`` is the time integral over [0, t_end]
    of the number of sites whose S lies in bin b (site-frames): the unbiased,
    time-weighted denominator of P(R|S). Attributes of a field the run does not
    carry (see :attr:`fields`) are ``None``.
    """

    seed: int
    t_end: float
    times: np.ndarray | None = _opt()            # (E,) event times
    clusters: np.ndarray | None = _opt()         # (E,) cluster ids
    s_before: np.ndarray | None = _opt()         # (E, m) S on the cluster's sites just before the event
    s_after: np.ndarray | None = _opt()          # (E, m) ... and just after
    snapshot_times: np.ndarray | None = _opt()   # (n,)
    snapshots: np.ndarray | None = _opt()        # (n, N) S at snapshot_times
    s_initial: np.ndarray | None = _opt()        # (N,)
    s_final: np.ndarray | None = _opt()          # (N,) S at t_end
    hist_edges: np.ndarray | None = _opt()       # (B+1,)
    occupancy: np.ndarray | None = _opt()        # (B,)
    s_time_integral: np.ndarray | None = _opt()  # (N,) integral of S_i dt over [0, t_end]
    backend: str = "reference"
    wall_s: float = attrs.field(default=0.0, repr=False)
    info: dict = attrs.field(factory=dict, repr=False)
    snapshot_mean: np.ndarray | None = _opt()    # (n,) site average of S at snapshot_times
    n_events_stored: int | None = attrs.field(default=None, repr=False)

    def __attrs_post_init__(self):
        if self.snapshot_mean is None and self.snapshots is not None:
            object.__setattr__(self, "snapshot_mean", np.asarray(self.snapshots).mean(axis=1)
                               if len(self.snapshots) else np.zeros(0))

    def __repr__(self) -> str:
        return (f"Run(seed={self.seed}, t_end={self.t_end:g} frames, n_events={self.n_events}, "
                f"backend={self.backend!r}, fields={','.join(self.fields)})")

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields this run carries (see the module docstring)."""
        return tuple(f for f, names in FIELDS.items() if all(getattr(self, n) is not None for n in names))

    @property
    def n_events(self) -> int:
        if self.times is not None:
            return int(self.times.shape[0])
        return int(self.n_events_stored or 0)

    def site_event_times(self, cluster_sites: np.ndarray, n_sites: int) -> list[np.ndarray]:
        """Sorted rearrangement times of every site (each site of a firing cluster rearranges)."""
        m = cluster_sites.shape[1]
        sites = cluster_sites[self.clusters].reshape(-1)
        t = np.repeat(self.times, m)
        order = np.lexsort((t, sites))
        sites, t = sites[order], t[order]
        bounds = np.searchsorted(sites, np.arange(n_sites + 1))
        return [t[bounds[i]: bounds[i + 1]] for i in range(n_sites)]

    def to_dataset(self, model=None, fields=None) -> xr.Dataset:
        """This run as a run-file Dataset (see :func:`runs_to_dataset`)."""
        return runs_to_dataset([self], model, fields)

    @staticmethod
    def from_dataset(ds: xr.Dataset, source: str = "dataset") -> list["Run"]:
        """The runs stored in a run-file Dataset (see :func:`runs_from_dataset`)."""
        return runs_from_dataset(ds, source)


def check_fields(required, available, what: str, source: str = "the runs") -> None:
    """Raise InputFileError naming the fields ``what`` needs and ``source`` lacks."""
    missing = [f for f in required if f not in available]
    if missing:
        raise InputFileError(
            f"{what} needs run field(s) {', '.join(missing)}, which {source} do not store "
            f"(stored: {', '.join(available) or 'none'})"
        )


def common_fields(runs) -> tuple[str, ...]:
    """The fields every one of ``runs`` carries, in ``ALL_FIELDS`` order."""
    if not runs:
        return ()
    have = set(runs[0].fields)
    for r in runs[1:]:
        have &= set(r.fields)
    return tuple(f for f in ALL_FIELDS if f in have)


def _v(dims, data, units, long_name):
    return (dims, data, {"units": units, "long_name": long_name})


def runs_to_dataset(runs, model=None, fields=None, geometry: bool = True) -> xr.Dataset:
    """Runs as one Dataset: event logs concatenated along ``event`` (``event_run`` says which run).

    ``fields``: which fields to store (default: every field all runs carry). With a
    ``model``, a mixture's event channels are stored, and (``geometry``) the cluster
    table and site positions too. Global
    attributes ``trsp_run_format`` and ``trsp_run_fields`` describe the layout.
    """
    runs = list(runs)
    have = common_fields(runs)
    fields = tuple(have if fields is None else fields)
    unknown = [f for f in fields if f not in FIELDS]
    if unknown:
        raise ValueError(f"unknown run field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    check_fields(fields, have, "writing a run file", "these runs")
    R = len(runs)
    data: dict = {
        "seed": _v("run", np.asarray([r.seed for r in runs], np.int64), "1", "random seed of the run"),
        "t_end": _v("run", np.asarray([r.t_end for r in runs], float), "frames", "simulated duration"),
        "n_events": _v("run", np.asarray([r.n_events for r in runs], np.int64), "1", "number of events"),
        "wall_s": _v("run", np.asarray([r.wall_s for r in runs], float), "s", "wall-clock time of the run"),
    }
    if "events" in fields or "kicks" in fields:
        data["event_run"] = _v("event", np.concatenate([np.full(r.n_events, i, np.int32) for i, r in enumerate(runs)])
                               if R else np.zeros(0, np.int32), "1", "run (index along 'run') the event belongs to")
    if "events" in fields:
        data["event_time"] = _v("event", np.concatenate([r.times for r in runs]).astype(float), "frames",
                                "time of the rearrangement")
        data["event_cluster"] = _v("event", np.concatenate([r.clusters for r in runs]).astype(np.int32), "1",
                                   "index of the rearranging cluster")
    if "kicks" in fields:
        m = runs[0].s_before.shape[1] if R else 0
        cat = lambda name: np.concatenate([np.asarray(getattr(r, name)).reshape(-1, m) for r in runs])  # noqa: E731
        data["event_s_before"] = _v(("event", "member"), cat("s_before"), "descriptor",
                                    "S on the cluster's sites before the event")
        data["event_s_after"] = _v(("event", "member"), cat("s_after"), "descriptor",
                                   "S on the cluster's sites after the event")
    if "snapshots" in fields or "snapshot_mean" in fields:
        n_snap = min(len(r.snapshot_times) if "snapshots" not in fields else r.snapshots.shape[0] for r in runs)
        data["snapshot_time"] = _v("snapshot", np.asarray(runs[0].snapshot_times[:n_snap], float), "frames",
                                   "snapshot time")
        if "snapshots" in fields:
            data["snapshot_S"] = _v(("run", "snapshot", "site"), np.stack([r.snapshots[:n_snap] for r in runs]),
                                    "descriptor", "descriptor field S at snapshot times")
        if "snapshot_mean" in fields:
            data["snapshot_S_mean"] = _v(("run", "snapshot"), np.stack([r.snapshot_mean[:n_snap] for r in runs]),
                                         "descriptor", "site-averaged S at snapshot times")
    if "endpoints" in fields:
        data["S_initial"] = _v(("run", "site"), np.stack([r.s_initial for r in runs]), "descriptor", "S at t = 0")
        data["S_final"] = _v(("run", "site"), np.stack([r.s_final for r in runs]), "descriptor", "S at t_end")
    if "occupancy" in fields:
        data["S_bin_edges"] = _v("S_bin_edge", np.asarray(runs[0].hist_edges, float), "descriptor",
                                 "edges of the S bins")
        data["occupancy"] = _v(("run", "S_bin"), np.stack([r.occupancy for r in runs]), "site frames",
                               "time-weighted number of sites in each S bin")
    if "time_integral" in fields:
        ti = np.stack([r.s_time_integral for r in runs])
        data["S_time_integral"] = _v(("run", "site"), ti, "descriptor frames", "time integral of S per site")
        data["S_time_mean"] = _v(("run", "site"), ti / np.asarray([r.t_end for r in runs])[:, None], "descriptor",
                                 "time-weighted mean of S per site")
    if model is not None and getattr(model, "is_mixture", False) and "events" in fields:
        # the channel of each event (a pure function of the cluster id, kept for readers)
        N = model.n_sites
        data["event_channel"] = _v("event", np.concatenate([model.orientation_channel[r.clusters // N] for r in runs])
                                   .astype(np.int8) if R else np.zeros(0, np.int8), "1",
                                   "rearrangement channel (index into the cluster_channels attribute)")
    if model is not None and geometry:
        data["cluster_sites"] = _v(("cluster", "member"), model.cluster_sites, "1", "sites of each cluster")
        data["site_position"] = _v(("site", "dim"), model.lattice.positions(), "sigma_AA", "lattice site position")
    if model is not None and getattr(model, "is_mixture", False):
        data["cluster_size"] = _v("cluster", model.cluster_m, "1",
                                  "sites in each cluster (rows of cluster_sites repeat their first site beyond it)")
    ds = xr.Dataset(data)
    if model is not None and getattr(model, "is_mixture", False):
        ds.attrs.update(cluster_channels=",".join(ch.name for ch in model.channels),
                        channel_weights=",".join(f"{ch.weight:g}" for ch in model.channels))
    ds.attrs.update(trsp_run_format=RUN_FORMAT, trsp_run_fields=",".join(fields),
                    backend=runs[0].backend if R else "none")
    return ds


_ZLIB = {"zlib": True, "complevel": 4, "shuffle": True}


def encoding_of(ds: xr.Dataset) -> dict:
    """netCDF encoding for a run Dataset: the event log compressed (it dominates the size)."""
    return {k: dict(_ZLIB) for k in ("event_time", "event_cluster", "event_run") if k in ds}


def stored_fields(ds: xr.Dataset, source: str = "dataset") -> tuple[str, ...]:
    """The fields a run file stores; refuses files of another format."""
    fmt = ds.attrs.get("trsp_run_format")
    if fmt is None:
        raise InputFileError(f"{source} is not a trsp run file (no trsp_run_format attribute)")
    if int(fmt) != RUN_FORMAT:
        raise InputFileError(f"{source} is run format {int(fmt)}; this trsp reads format {RUN_FORMAT} "
                             "(re-create it with this version)")
    text = str(ds.attrs.get("trsp_run_fields", ""))
    return tuple(f for f in text.split(",") if f)


def runs_from_dataset(ds: xr.Dataset, source: str = "dataset") -> list[Run]:
    """Rebuild the runs of a run file: exactly the stored fields, ``None`` for the others."""
    fields = stored_fields(ds, source)
    R = ds.sizes.get("run", 0)
    ev_run = ds["event_run"].values if "event_run" in ds else None
    out = []
    for i in range(R):
        kw: dict = dict(seed=int(ds["seed"].values[i]), t_end=float(ds["t_end"].values[i]),
                        backend=str(ds.attrs.get("backend", "")), wall_s=float(ds["wall_s"].values[i]),
                        n_events_stored=int(ds["n_events"].values[i]))
        sel = (ev_run == i) if ev_run is not None else None
        if "events" in fields:
            kw["times"] = ds["event_time"].values[sel].astype(float)
            kw["clusters"] = ds["event_cluster"].values[sel].astype(np.int64)
        if "kicks" in fields:
            kw["s_before"] = ds["event_s_before"].values[sel]
            kw["s_after"] = ds["event_s_after"].values[sel]
        if "snapshots" in fields or "snapshot_mean" in fields:
            kw["snapshot_times"] = ds["snapshot_time"].values
        if "snapshots" in fields:
            kw["snapshots"] = ds["snapshot_S"].values[i]
        if "snapshot_mean" in fields:
            kw["snapshot_mean"] = ds["snapshot_S_mean"].values[i]
        if "endpoints" in fields:
            kw["s_initial"] = ds["S_initial"].values[i]
            kw["s_final"] = ds["S_final"].values[i]
        if "occupancy" in fields:
            kw["hist_edges"] = ds["S_bin_edges"].values
            kw["occupancy"] = ds["occupancy"].values[i]
        if "time_integral" in fields:
            kw["s_time_integral"] = ds["S_time_integral"].values[i]
        out.append(Run(**kw))
    return out


def run_file(runs, model, fields=None, extra: dict | None = None, geometry: bool = True) -> xr.Dataset:
    """A complete run file: the runs, provenance, and what rebuilds ``model`` (``open_run``).

    ``geometry``: also store the cluster table and site positions (for readers
    without trsp; ``open_run`` rebuilds them from the model).
    """
    from trsp_core.io import provenance

    ds = runs_to_dataset(runs, model, fields, geometry=geometry)
    ds.attrs = {**provenance(model, extra), **ds.attrs, **spec_attrs(model)}
    return ds


def spec_attrs(model) -> dict:
    """The attributes that let :func:`trsp_core.open_run` rebuild ``model`` exactly."""
    out = {"trsp_params_json": json.dumps(model.params.to_dict())}
    spec = getattr(model, "spec", None)
    if spec is not None:
        out["trsp_model_spec"] = json.dumps(spec.to_dict())
    return out

