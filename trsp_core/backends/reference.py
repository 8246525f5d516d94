"""Dense reference Gillespie simulator: O(N^2) per event, small lattices only.

It uses the dense kernel (full N x N H from an eigendecomposition) and
re-rates every cluster after each event: slow, simple and independent of the
fast kernel's locality algebra, which is exactly what a ground truth needs.
"""
from __future__ import annotations

import time as _time

import numpy as np

from trsp_core.errors import ParameterError
from trsp_core.run import Run

MAX_SITES = 4096


def run(model, *, duration, seed, initial, snapshot_times, hist_edges, progress, rng, max_events=None):
    # Per-event work is one small matrix-vector product: BLAS threads only add
    # contention (badly so on a loaded 2-core machine), so run single-threaded.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _run(model, duration=duration, seed=seed, initial=initial, snapshot_times=snapshot_times,
                    hist_edges=hist_edges, progress=progress, rng=rng, max_events=max_events)


def _run(model, *, duration, seed, initial, snapshot_times, hist_edges, progress, rng, max_events=None):
    N = model.n_sites
    if N > MAX_SITES:
        raise ParameterError(f"the dense reference simulator is limited to {MAX_SITES} sites, got {N}; use the fast backend")
    wall0 = _time.perf_counter()
    lat = model.lattice
    kernels = [model.dense_kernel(o) for o in range(len(model.orientations))]
    coords = lat.coords()
    sites_of = model.cluster_sites
    orient_of = model.cluster_orientation
    S = initial.copy()
    rates = model.cluster_rates(S)
    nb = len(hist_edges) - 1

    times, clusters, before, after = [], [], [], []
    m = sites_of.shape[1]
    snaps = np.empty((len(snapshot_times), N))
    next_snap = 0
    occupancy = np.zeros(nb)
    s_int = np.zeros(N)
    t = 0.0
    last_report = wall0
    while True:
        k_tot = rates.sum()
        dt = rng.exponential(1.0 / k_tot)
        t_next = min(t + dt, duration)
        while next_snap < len(snapshot_times) and snapshot_times[next_snap] <= t_next:
            snaps[next_snap] = S
            next_snap += 1
        w = t_next - t
        idx = np.searchsorted(hist_edges, S, "right") - 1
        counts = np.bincount(idx[(idx >= 0) & (idx < nb)], minlength=nb)
        occupancy += w * counts
        s_int += w * S
        if t + dt >= duration or (max_events is not None and len(times) >= max_events):
            t = duration if t + dt >= duration else t
            break
        t += dt
        c = int(np.searchsorted(np.cumsum(rates), rng.random() * k_tot, "right"))
        c = min(c, len(rates) - 1)
        kern = kernels[orient_of[c]]
        perm = lat.index(coords + coords[c % N])  # origin-frame site i -> actual site perm[i]
        local = S[perm]
        dS = kern.H @ (kern.mu_prime - local) + kern.noise @ rng.standard_normal(N)
        members = sites_of[c][: model.cluster_m[c]]
        times.append(t)
        clusters.append(c)
        before.append(_padded(S[members], m))
        S[perm] = local + dS
        after.append(_padded(S[members], m))
        rates = model.cluster_rates(S)
        if progress is not None and _time.perf_counter() - last_report > 0.2:
            progress(t)
            last_report = _time.perf_counter()
    if progress is not None:
        progress(duration)
    return Run(
        seed=seed, t_end=float(t), times=np.asarray(times, float), clusters=np.asarray(clusters, np.int64),
        s_before=np.asarray(before, float).reshape(-1, m), s_after=np.asarray(after, float).reshape(-1, m),
        snapshot_times=np.asarray(snapshot_times), snapshots=snaps[:next_snap] if next_snap < len(snapshot_times) else snaps,
        s_initial=initial, s_final=S, hist_edges=hist_edges, occupancy=occupancy, s_time_integral=s_int,
        backend="reference", wall_s=_time.perf_counter() - wall0,
    )


def _padded(values: np.ndarray, m: int) -> np.ndarray:
    """A cluster's S values padded with NaN to the table width m (smaller clusters of a mixture)."""
    out = np.full(m, np.nan)
    out[: len(values)] = values
    return out
