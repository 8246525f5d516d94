"""Python side of the fast backend: state set-up, chunked event loop, Z refresh, checkpoints.

The numba loop (:mod:`trsp_core.backends.fast._kernels`) runs a chunk of events and
returns here. Chunk lengths are a pure function of the event count (never of
wall time), and the exact FFT refresh of Z happens every ``refresh_every``
events, so a run's trajectory depends only on its seed and options: an
interrupted-and-resumed run reproduces the uninterrupted event log bit for bit.
"""
from __future__ import annotations

import time as _time
import weakref

import numpy as np

from trsp_core.physics import gaussian
from trsp_core.errors import ParameterError
from trsp_core.backends.fast import _kernels, checkpoint as ckpt
from trsp_core.backends.fast._rng import seed_state
from trsp_core.backends.fast._simd import SEG
from trsp_core.backends.fast._sumtree import new_tree
from trsp_core.backends.fast.tables import KernelTables, build_tables
from trsp_core.run import Run

DEFAULT_TOLERANCE = 1e-4
MAX_CHUNK = 1 << 16

_TABLES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def kernel_tables(model, tolerance: float = DEFAULT_TOLERANCE, exact: bool = False) -> KernelTables:
    """Tables for this model and options, built once per model object."""
    per_model = _TABLES.setdefault(model, {})
    key = (True, 0.0) if exact else (False, float(tolerance))
    if key not in per_model:
        per_model[key] = build_tables(model, tolerance, exact)
    return per_model[key]


def exact_z(model, S: np.ndarray) -> np.ndarray:
    """Z = K^-1 (S - mu) by FFT."""
    return gaussian.apply(model.spectrum, S - model.mu, -1.0)


def _check_options(duration, exact, tolerance, checkpoint_every, max_events, refresh_every):
    if not isinstance(exact, (bool, np.bool_)):
        raise ParameterError(f"exact must be True or False, got {exact!r}")
    if not exact and not (np.isfinite(tolerance) and 0.0 <= tolerance < 1.0):
        raise ParameterError(f"tolerance must be in [0, 1) (relative cut on |K^-1|), got {tolerance!r}")
    if not (np.isfinite(checkpoint_every) and checkpoint_every > 0):
        raise ParameterError(f"checkpoint_every must be > 0 seconds, got {checkpoint_every!r}")
    if max_events is not None and (int(max_events) != max_events or max_events < 0):
        raise ParameterError(f"max_events must be a non-negative integer or None, got {max_events!r}")
    if refresh_every is not None and (int(refresh_every) != refresh_every or refresh_every < 1):
        raise ParameterError(f"refresh_every must be a positive integer, got {refresh_every!r}")


class _State(dict):
    """Mutable arrays of one run (the keys are what a checkpoint stores)."""


def _fresh_state(model, tables, seed, initial, n_snap) -> _State:
    N = model.n_sites
    st = _State(
        S=initial.copy(), Z=exact_z(model, initial), s_int=np.zeros(N), last_t=np.zeros(N),
        occupancy=None, rng=seed_state(seed), fstate=np.zeros(1), istate=np.zeros(2, np.int64),
        snaps=np.empty((0, N)), s_initial=initial.copy(), ev_t=np.zeros(0), ev_c=np.zeros(0, np.int64),
        ev_before=np.zeros((0, tables.m)), ev_after=np.zeros((0, tables.m)),
        diag=np.zeros(2),  # [max |Z_incremental - Z_exact| seen at a refresh, number of refreshes]
    )
    return st


def run(model, *, duration, seed, initial, snapshot_times, hist_edges, progress, rng,
        exact: bool = False, tolerance: float = DEFAULT_TOLERANCE, checkpoint=None,
        checkpoint_every: float = 300.0, max_events: int | None = None, refresh_every: int | None = None,
        sink=None):
    """Fast backend of :func:`trsp_core.backends.simulate.simulate` (same arguments and Run record).

    Options: ``exact`` keeps every column of K^-1 in the incremental Z update;
    otherwise offsets with |K^-1(off)| < ``tolerance`` * K^-1(0) are dropped
    (info reports the dropped L1 weight). Z is recomputed exactly by FFT every
    ``refresh_every`` events (default: the number of sites), so truncation
    errors never accumulate beyond one refresh period. ``checkpoint``: an .npz
    path, loaded if it holds this very run, written every ``checkpoint_every``
    seconds and at the end. ``max_events`` stops early (resumable).

    ``sink(times, clusters, s_before, s_after)``: called with each chunk of at
    most ``MAX_CHUNK`` events, in order, instead of keeping the event log; the
    returned Run then has no ``events``/``kicks`` fields (``n_events`` still
    counts them), so memory does not grow with the run's length. A checkpoint
    holds the event log so far, so it cannot be combined with a sink.
    """
    wall0 = _time.perf_counter()
    _check_options(duration, exact, tolerance, checkpoint_every, max_events, refresh_every)
    if sink is not None and checkpoint:
        raise ParameterError("an event sink cannot be combined with a checkpoint (the checkpoint holds the event log)")
    exact = bool(exact)
    N = model.n_sites
    refresh_every = int(refresh_every or N)
    tables = kernel_tables(model, tolerance, exact)
    build_s = _time.perf_counter() - wall0

    snapshot_times = np.asarray(snapshot_times, float)
    edges = np.asarray(hist_edges, float)
    options = dict(exact=exact, tolerance=0.0 if exact else float(tolerance), refresh_every=refresh_every)
    key = ckpt.run_key(model, seed, duration, snapshot_times, edges, options) if checkpoint else ""
    mhash = ckpt.model_hash(model) if checkpoint else ""

    loaded = ckpt.load(checkpoint, key=key, mhash=mhash) if checkpoint else None
    status = _kernels.DONE_BUDGET
    if loaded is None:
        st = _fresh_state(model, tables, seed, np.asarray(initial, float), len(snapshot_times))
        st["occupancy"] = np.zeros(len(edges) - 1)
        resumed_at = None
    else:
        status, st = loaded
        st = _State(st)
        resumed_at = int(st["istate"][0])

    # Derived state: pure functions of S, rebuilt identically after a load.
    site_bin = np.empty(N, np.int32)
    counts = np.zeros(len(edges) - 1, np.int64)
    _kernels.init_bins(st["S"], edges, site_bin, counts)
    tree, P = new_tree(tables.n_clusters)
    T = tables
    _kernels.full_rates(st["S"], model.cluster_sites, tree, P, T.n_orientations, T.om, T.inv_m, T.a0d,
                        T.gamma0, T.delta0)

    snaps = np.empty((len(snapshot_times), N))
    n_prev = st["snaps"].shape[0]
    snaps[:n_prev] = st["snaps"]
    logs = {k: [st[k]] for k in ("ev_t", "ev_c", "ev_before", "ev_after")}

    nwmax, nvmax, namax = tables.G.shape[1], tables.Voff.shape[1], tables.aff_o.shape[1]
    gV, Zw, xi, dS = np.empty(nvmax, np.int64), np.empty(nwmax), np.empty(nwmax), np.empty(nwmax)
    nodes = np.empty(namax, np.int64)
    Sv, xr, ak = np.empty(nvmax), np.empty(namax), np.empty(namax)
    acc = np.zeros(SEG)
    last_ckpt = _time.perf_counter()
    loop_wall = 0.0
    loop_events = 0

    def state_for_checkpoint():
        out = dict(st)
        out["snaps"] = snaps[: int(st["istate"][1])]
        for k, parts in logs.items():
            out[k] = np.concatenate(parts)
        return out

    while status != _kernels.DONE_DURATION:
        n_ev = int(st["istate"][0])
        budget = min(MAX_CHUNK, refresh_every - n_ev % refresh_every)
        if max_events is not None:
            budget = min(budget, int(max_events) - n_ev)
        if budget <= 0:
            break
        ev_t, ev_c = np.empty(budget), np.empty(budget, np.int64)
        ev_b, ev_a = np.empty((budget, T.m)), np.empty((budget, T.m))
        t0 = _time.perf_counter()
        done, status = _kernels.run_chunk(
            st["S"], st["Z"], st["s_int"], st["last_t"], site_bin, counts, st["occupancy"], tree, st["rng"],
            st["fstate"], st["istate"], snaps, acc,
            budget, float(duration), snapshot_times, edges, ev_t, ev_c, ev_b, ev_a,
            P, T.n_clusters, T.shape3, T.R, T.wrap, T.nW, T.nV, T.Voff, T.cV, T.G, T.Gu, T.LT,
            T.n_seg, T.seg, T.ent_p, T.ent_k, T.kpad, T.n_aff, T.aff_o, T.aff_off, T.aff_sv,
            T.om, T.inv_m, T.a0d, T.gamma0, T.delta0,
            gV, Zw, xi, dS, nodes, Sv, xr, ak,
        )
        loop_wall += _time.perf_counter() - t0
        loop_events += done
        if sink is not None:
            if done:
                sink(ev_t[:done], ev_c[:done], ev_b[:done], ev_a[:done])
        else:
            for k, arr in (("ev_t", ev_t), ("ev_c", ev_c), ("ev_before", ev_b), ("ev_after", ev_a)):
                logs[k].append(arr[:done])
        n_ev = int(st["istate"][0])
        if done and n_ev % refresh_every == 0:
            # Exact Z from the FFT, on a schedule set by the event count alone.
            Zx = exact_z(model, st["S"])
            st["diag"][0] = max(st["diag"][0], float(np.abs(st["Z"] - Zx).max()))
            st["diag"][1] += 1
            st["Z"] = Zx
        if progress is not None:
            progress(float(st["fstate"][0]))
        if checkpoint and _time.perf_counter() - last_ckpt >= checkpoint_every:
            ckpt.save(checkpoint, key=key, mhash=mhash, status=status, state=state_for_checkpoint())
            last_ckpt = _time.perf_counter()

    if checkpoint:
        ckpt.save(checkpoint, key=key, mhash=mhash, status=status, state=state_for_checkpoint())
    if progress is not None:
        progress(float(st["fstate"][0]))
    t_end = float(st["fstate"][0])
    s_int = st["s_int"].copy()
    _kernels.flush_time_integrals(st["S"], s_int, st["last_t"].copy(), t_end)
    n_snap_taken = int(st["istate"][1])
    ev = {k: np.concatenate(parts) for k, parts in logs.items()}
    kinv0 = float(model.kinv_stencil[0])
    info = dict(
        exact=exact, tolerance=options["tolerance"], stencil_size=int(len(T.kvals)),
        truncation_rel_error=float(T.stencil.rel_error), refresh_every=refresh_every,
        z_max_drift=float(st["diag"][0]), z_max_drift_rel=float(st["diag"][0]) / np.sqrt(kinv0),
        n_refresh=int(st["diag"][1]), window_size=[int(x) for x in T.nW], affected_clusters=[int(x) for x in T.n_aff],
        build_s=build_s, loop_s=loop_wall, loop_events=loop_events,
        events_per_s=loop_events / loop_wall if loop_wall > 0 else float("nan"),
        resumed_at_event=resumed_at, stopped_by_max_events=status != _kernels.DONE_DURATION,
    )
    if sink is not None:
        ev = dict.fromkeys(ev)
    return Run(
        seed=seed, t_end=t_end, times=ev["ev_t"], clusters=ev["ev_c"], s_before=ev["ev_before"],
        s_after=ev["ev_after"], snapshot_times=snapshot_times, n_events_stored=int(st["istate"][0]),
        snapshots=snaps[:n_snap_taken] if n_snap_taken < len(snapshot_times) else snaps,
        s_initial=st["s_initial"], s_final=st["S"].copy(), hist_edges=edges, occupancy=st["occupancy"].copy(),
        s_time_integral=s_int, backend="fast", wall_s=_time.perf_counter() - wall0, info=info,
    )
