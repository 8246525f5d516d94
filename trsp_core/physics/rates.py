"""Observed and bare rate laws, and the renormalisation between them.

Users measure the *observed* per-site law P(R|S_i) = A exp(gamma S - delta S^2)
(per frame). The model fires *clusters* with the *bare* law
k_c = A0 exp(gamma0 sbar - delta0 sbar^2) / d of the cluster-mean sbar. The
observed law is the sum over the z clusters containing a site of the bare law
averaged over sbar given S_i, a Gaussian integral done in closed form here.
"""
from __future__ import annotations

import math

import attrs
import numpy as np

from trsp_core.errors import ParameterError


@attrs.frozen
class ObservedRate:
    """P(R|S) = A exp(gamma S - delta S^2) per frame; events last d frames."""

    A: float
    gamma: float
    delta: float
    d: float

    def probability(self, s):
        s = np.asarray(s, dtype=float)
        return self.A * np.exp(self.gamma * s - self.delta * s * s)


@attrs.frozen
class BareRate:
    """Cluster rate k_c = A0 exp(gamma0 sbar - delta0 sbar^2) / d (events per frame)."""

    A0: float
    gamma0: float
    delta0: float
    d: float

    def rate(self, sbar):
        sbar = np.asarray(sbar, dtype=float)
        return self.A0 * np.exp(self.gamma0 * sbar - self.delta0 * sbar * sbar) / self.d


@attrs.frozen
class ClusterGeometry:
    """Second moments of the cluster mean sbar_c under the equilibrium law.

    kappa = K_Ri / sigma^2 (regression of sbar_c on one member's S_i),
    K_RR = u^T K u, v = K_RR - kappa^2 sigma^2 (conditional variance), z = clusters per site.
    """

    m: int
    z: int
    sigma2: float
    K_Ri: float
    K_RR: float

    @property
    def kappa(self) -> float:
        return self.K_Ri / self.sigma2

    @property
    def v(self) -> float:
        return self.K_RR - self.kappa**2 * self.sigma2


def cluster_geometry(offsets: np.ndarray, lattice, correlation, z: int) -> ClusterGeometry:
    """Geometry of the cluster with integer ``offsets`` (m, dim) under C(r) = ``correlation``."""
    r = lattice.offset_distance(offsets[:, None, :] - offsets[None, :, :])
    K = correlation(r)
    K_Ri_each = K.mean(axis=1)
    # Built-in clusters are symmetric (every member sees the same K_Ri); a
    # custom asymmetric one is renormalised with the member average.
    return ClusterGeometry(
        m=int(offsets.shape[0]), z=int(z), sigma2=float(correlation(0.0)),
        K_Ri=float(K_Ri_each.mean()), K_RR=float(K.mean()),
    )


def observed_from_bare(bare: BareRate, mu: float, g: ClusterGeometry) -> ObservedRate:
    """Per-site observed law implied by the bare cluster law (MODEL section 3)."""
    kappa, v = g.kappa, g.v
    D = 1.0 + 2.0 * bare.delta0 * v
    _check_D(D, bare.delta0, g)
    delta = bare.delta0 * kappa**2 / D
    gamma = kappa * (bare.gamma0 - 2 * bare.delta0 * mu * (1 - kappa)) / D
    lnA = (
        math.log(g.z * bare.A0) - 0.5 * math.log(D)
        + (bare.gamma0 * mu * (1 - kappa) - bare.delta0 * mu**2 * (1 - kappa) ** 2 + bare.gamma0**2 * v / 2) / D
    )
    return ObservedRate(A=math.exp(lnA), gamma=gamma, delta=delta, d=bare.d)


def bare_from_observed(obs: ObservedRate, mu: float, g: ClusterGeometry) -> BareRate:
    """Invert :func:`observed_from_bare` (what users need: they measure the observed law)."""
    kappa, v = g.kappa, g.v
    denom = kappa**2 - 2 * obs.delta * v
    if denom <= 0:
        raise ParameterError(
            f"observed delta={obs.delta:.4g} cannot be renormalised for this cluster "
            f"(kappa={kappa:.4g}, v={v:.4g}): need kappa^2 - 2 delta v > 0"
        )
    delta0 = obs.delta / denom
    D = 1.0 + 2.0 * delta0 * v
    _check_D(D, delta0, g)
    gamma0 = obs.gamma * D / kappa + 2 * delta0 * mu * (1 - kappa)
    rest = (gamma0 * mu * (1 - kappa) - delta0 * mu**2 * (1 - kappa) ** 2 + gamma0**2 * v / 2) / D
    lnA0 = math.log(obs.A) + 0.5 * math.log(D) - rest - math.log(g.z)
    bare = BareRate(A0=math.exp(lnA0), gamma0=gamma0, delta0=delta0, d=obs.d)
    check_bare(bare, g)
    return bare


def _check_D(D: float, delta0: float, g: ClusterGeometry) -> None:
    if not D > 0:
        raise ParameterError(
            f"renormalisation diverges: D = 1 + 2*delta0*v = {D:.4g} <= 0 "
            f"(delta0={delta0:.4g}, v={g.v:.4g})"
        )


def check_bare(bare: BareRate, g: ClusterGeometry) -> None:
    """1 + 2 delta0 K_RR > 0, else the rate grows faster than the Gaussian decays."""
    q = 1.0 + 2.0 * bare.delta0 * g.K_RR
    if not q > 0:
        raise ParameterError(
            f"bare rate is not normalisable: 1 + 2*delta0*K_RR = {q:.4g} <= 0 "
            f"(delta0={bare.delta0:.4g}, K_RR={g.K_RR:.4g}); the temperature is too far "
            "above the onset T0 for this e2"
        )
