"""Time-weighted statics of S: <S> and C_S(r), with their exact finite-N targets.

Averages over the stationary state must weight each state by how long the
system stays in it. ``Run.s_time_integral`` is that integral for <S>; fixed-
time snapshots are unbiased samples for two-point functions (event-sampled
states are not: they are tilted towards rearranging configurations).
"""
from __future__ import annotations

import numpy as np

from trsp_core.analysis.shells import shell_index, shell_mean


def time_weighted_mean(run) -> float:
    """Site- and time-averaged S of one run: (1/N T) sum_i int S_i dt."""
    return float(run.s_time_integral.mean() / run.t_end)


def autocorrelation(fields: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(1/N) sum_x f(x) f(x + r) for every offset r (periodic), fields (n, N) -> (n, N)."""
    f = fields.reshape(-1, *shape)
    axes = tuple(range(1, len(shape) + 1))
    F = np.fft.fftn(f, axes=axes)
    return (np.fft.ifftn(np.abs(F) ** 2, axes=axes).real / np.prod(shape)).reshape(len(fields), -1)


class CorrelationShells:
    """C_S(r) of snapshots averaged over shells of equal minimum-image distance."""

    def __init__(self, lattice, r_max: float | None = None):
        self.lattice = lattice
        dist = lattice.stencil_distances().reshape(-1)
        self.r, self.inverse = shell_index(dist)
        r_max = np.inf if r_max is None else r_max
        self.keep = self.r <= r_max + 1e-9
        self.counts = np.bincount(self.inverse, minlength=len(self.r))

    def compute(self, snapshots: np.ndarray) -> np.ndarray:
        """Mean over snapshots of the shell-averaged C(r), centred on each snapshot's mean."""
        s = np.asarray(snapshots, float)
        s = s - s.mean(axis=1, keepdims=True)
        ac = autocorrelation(s, self.lattice.shape).mean(axis=0)
        return shell_mean(ac, self.inverse, len(self.r))[self.keep]

    def target(self, correlation) -> np.ndarray:
        """E[C_hat(r)] = C(r) - lambda0/N: centring on the sample mean removes Var(mean) twice, adds it once."""
        stencil = correlation(self.lattice.stencil_distances()).reshape(-1)
        lam0 = stencil.sum()
        return (shell_mean(stencil, self.inverse, len(self.r)) - lam0 / len(stencil))[self.keep]

    @property
    def radii(self) -> np.ndarray:
        return self.r[self.keep]

    @property
    def multiplicity(self) -> np.ndarray:
        return self.counts[self.keep]
