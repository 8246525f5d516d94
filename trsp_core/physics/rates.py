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


@attrs.frozen
class RateTable:
    """The observed law tabulated at measured temperatures: A, gamma, delta (and d) at each T_i.

    Between two temperatures ln A, gamma, delta and d are linear in 1/T, so a table
    sampled from the onset form (ln A = Sigma0 - e0/T, gamma and delta linear in 1/T)
    reproduces it exactly. Outside [T_1, T_n] it is an error unless ``extrapolate``.
    ``d`` None: the descriptor's scalar d is used.
    """

    T: tuple = attrs.field(converter=lambda v: tuple(float(x) for x in v))
    A: tuple = attrs.field(converter=lambda v: tuple(float(x) for x in v))
    gamma: tuple = attrs.field(converter=lambda v: tuple(float(x) for x in v))
    delta: tuple = attrs.field(converter=lambda v: tuple(float(x) for x in v))
    d: tuple | None = attrs.field(default=None, converter=lambda v: None if v is None else tuple(float(x) for x in v))
    extrapolate: bool = attrs.field(default=False, converter=bool)

    def __attrs_post_init__(self):
        from trsp_core.physics.profiles import TableInT

        n = len(self.T)
        for name in ("A", "gamma", "delta") + (("d",) if self.d is not None else ()):
            if len(getattr(self, name)) != n:
                raise ParameterError(f"rate table: '{name}' has {len(getattr(self, name))} entries for {n} temperatures")
        if not all(a > 0 and math.isfinite(a) for a in self.A):
            raise ParameterError(f"rate table: every A must be finite and > 0, got {list(self.A)}")
        # delta may be < 0 (the onset form gives that above T0): normalisability of the
        # bare law is checked where the model is built, as for every rate law
        if not all(math.isfinite(x) for x in self.gamma + self.delta):
            raise ParameterError("rate table: gamma and delta must be finite")
        if self.d is not None and not all(x > 0 for x in self.d):
            raise ParameterError(f"rate table: every d must be > 0, got {list(self.d)}")
        TableInT(self.T, self.A, self.extrapolate, log=True, what="rate table")  # validates T

    def _law(self, name: str):
        from trsp_core.physics.profiles import TableInT

        return TableInT(self.T, getattr(self, name), self.extrapolate, log=(name == "A"), what="rate table")

    def observed(self, T: float, d: float) -> ObservedRate:
        """The observed law at T (``d``: the scalar duration when the table has none)."""
        return ObservedRate(A=self._law("A")(T), gamma=self._law("gamma")(T), delta=self._law("delta")(T),
                            d=self._law("d")(T) if self.d is not None else float(d))

    def to_spec(self) -> dict:
        out = {"T": list(self.T), "A": list(self.A), "gamma": list(self.gamma), "delta": list(self.delta)}
        if self.d is not None:
            out["d"] = list(self.d)
        if self.extrapolate:
            out["extrapolate"] = True
        return out

    @classmethod
    def from_spec(cls, spec, where: str = "rate table") -> "RateTable":
        from trsp_core.physics import profiles as pr

        if isinstance(spec, RateTable):
            return spec
        pr.check_keys(spec, where, ("T", "A", "gamma", "delta"), ("d", "extrapolate"))
        if "kind" in spec:
            raise ParameterError(f"{where}: unknown key(s) kind; known: T, A, gamma, delta, d, extrapolate")
        try:
            return cls(*(pr.spec_numbers(spec, k, where) for k in ("T", "A", "gamma", "delta")),
                       d=pr.spec_numbers(spec, "d", where) if "d" in spec else None,
                       extrapolate=pr.spec_bool(spec, "extrapolate", where))
        except ParameterError as exc:
            raise ParameterError(f"{where}: {exc}") from None
