"""Time-weighted statics of S: <S> and C_S(r), with their exact finite-N targets.

Averages over the stationary state must weight each state by how long the
system stays in it. ``Run.s_time_integral`` is that integral for <S>; fixed-
time snapshots are unbiased samples for two-point functions (event-sampled
states are not: they are tilted towards rearranging configurations).
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from trsp_core.observables._labels import seed_coord, var
from trsp_core.plugin.interfaces import Observable

from trsp_core.observables.shells import shell_index, shell_mean


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


class TimeWeightedStatics(Observable):
    """Time-weighted <S> per seed and C_S(r) from fixed-time snapshots, with targets."""

    name = "statics"
    requires = ('time_integral', 'snapshots')
    provides = ('S_mean', 'S_mean_err', 'C', 'C_err')

    def __init__(self, r_max: float | None = None):
        self.r_max = r_max

    def compute(self, model, runs):
        lat = model.lattice
        r_max = self.r_max if self.r_max is not None else 0.5 * min(lat.shape) * lat.spacing
        shells = CorrelationShells(lat, r_max)
        mean = np.asarray([time_weighted_mean(r) for r in runs])
        C = np.stack([shells.compute(r.snapshots) for r in runs])
        n = len(runs)
        r = xr.Variable("r_shell", shells.radii, {"units": "sigma_AA", "long_name": "site separation r"})
        return xr.Dataset(
            {
                "S_mean_run": var("run", mean, "descriptor", "time-weighted <S> of each run"),
                "S_mean": var((), mean.mean(), "descriptor", "time-weighted <S> over runs"),
                "S_mean_err": var((), mean.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan, "descriptor", "std error of <S> over seeds"),
                "S_mean_target": var((), model.mu, "descriptor", "target mu(T)"),
                "C_run": var(("run", "r_shell"), C, "descriptor^2", "C_S(r) of each run (snapshot average, centred on the snapshot mean)"),
                "C": var("r_shell", C.mean(axis=0), "descriptor^2", "C_S(r) over runs"),
                "C_err": var("r_shell", C.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full(C.shape[1], np.nan),
                              "descriptor^2", "std error of C_S(r) over seeds"),
                "C_target": var("r_shell", shells.target(model.params.correlation), "descriptor^2",
                                 "target C(r) - lambda0/N (the expectation of the mean-centred estimator)"),
                "C_model": var("r_shell", model.params.correlation(shells.radii), "descriptor^2", "target C(r) as given"),
                "C_pairs": var("r_shell", shells.multiplicity, "1", "lattice offsets in the shell"),
            },
            coords={"r_shell": r, "run": seed_coord(runs)},
        )
