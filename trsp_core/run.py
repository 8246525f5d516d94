"""The record of one simulated trajectory (one seed), shared by every backend."""
from __future__ import annotations

import attrs
import numpy as np


@attrs.frozen(eq=False)
class Run:
    """Event log, snapshots and time-weighted accumulators of one run.

    Times are in MD frames. ``occupancy[b]`` is the time integral over [0, t_end]
    of the number of sites whose S lies in bin b (site-frames): the unbiased,
    time-weighted denominator of P(R|S).
    """

    seed: int
    t_end: float
    times: np.ndarray            # (E,) event times
    clusters: np.ndarray         # (E,) cluster ids
    s_before: np.ndarray         # (E, m) S on the cluster's sites just before the event
    s_after: np.ndarray          # (E, m) ... and just after
    snapshot_times: np.ndarray   # (n,)
    snapshots: np.ndarray        # (n, N) S at snapshot_times
    s_initial: np.ndarray        # (N,)
    s_final: np.ndarray          # (N,) S at t_end
    hist_edges: np.ndarray       # (B+1,)
    occupancy: np.ndarray        # (B,)
    s_time_integral: np.ndarray  # (N,) integral of S_i dt over [0, t_end]
    backend: str = "reference"
    wall_s: float = 0.0
    info: dict = attrs.field(factory=dict)

    @property
    def n_events(self) -> int:
        return int(self.times.shape[0])

    def site_event_times(self, cluster_sites: np.ndarray, n_sites: int) -> list[np.ndarray]:
        """Sorted rearrangement times of every site (each site of a firing cluster rearranges)."""
        m = cluster_sites.shape[1]
        sites = cluster_sites[self.clusters].reshape(-1)
        t = np.repeat(self.times, m)
        order = np.lexsort((t, sites))
        sites, t = sites[order], t[order]
        bounds = np.searchsorted(sites, np.arange(n_sites + 1))
        return [t[bounds[i]: bounds[i + 1]] for i in range(n_sites)]
