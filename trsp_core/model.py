"""A composed model: lattice + descriptor parameters + cluster rule + rate law at T.

Construction validates everything once (covariance spectra, renormalisation,
feasibility of every orientation's kick) so a simulation never starts on an
invalid parameter set.
"""
from __future__ import annotations

import functools

import numpy as np

from trsp_core import gaussian
from trsp_core.clusters import DELTA_RULES, ClusterRule
from trsp_core.errors import ParameterError
from trsp_core.lattice import Lattice
from trsp_core.params import DescriptorParams
from trsp_core.rates import BareRate, ObservedRate, bare_from_observed, check_bare, cluster_geometry


class Model:
    """Composed TRSP model (HOOMD-style: assembled from small plugin objects)."""

    def __init__(
        self,
        lattice: Lattice,
        params: DescriptorParams,
        cluster_rule: ClusterRule,
        rate_law,
        temperature: float,
        delta_rule: str = "nearest",
        facilitation: float = 1.0,
        names: dict[str, str] | None = None,
    ):
        if not (np.isfinite(temperature) and temperature > 0):
            raise ParameterError(f"temperature must be > 0, got {temperature!r}")
        if not (np.isfinite(facilitation) and facilitation > 0):
            raise ParameterError(f"facilitation factor c must be > 0, got {facilitation!r}")
        if delta_rule not in DELTA_RULES:
            raise ParameterError(f"unknown delta rule '{delta_rule}'; choose one of: {', '.join(DELTA_RULES)}")
        self.lattice = lattice
        self.params = params
        self.cluster_rule = cluster_rule
        self.rate_law = rate_law
        self.temperature = float(temperature)
        self.delta_rule = delta_rule
        self.facilitation = float(facilitation)
        self.names = dict(names or {})

        p = params
        self.mu = p.mu(self.temperature)
        self.spectrum = gaussian.spectrum(lattice, p.correlation)
        gaussian.check_spectrum(
            self.spectrum,
            f"covariance C(r) (C0={p.C0}, C1={p.C1}, xi={p.xi}, a={lattice.spacing}, lattice {lattice.shape})",
        )
        if not p.reset:
            gaussian.check_spectrum(
                gaussian.spectrum(lattice, p.kick_correlation),
                f"kick correlation rho(r) (p1={p.p1}, xi_rho={p.xi_rho}, a={lattice.spacing})",
                tol=-1e-12,
            )
        self.orientations = cluster_rule.orientations(lattice)
        self.cluster_sites, self.cluster_orientation = cluster_rule.clusters(lattice)
        self.z = cluster_rule.coordination(lattice, self.cluster_sites)
        self.geometry = cluster_geometry(self.orientations[0], lattice, p.correlation, self.z)
        self.observed: ObservedRate = rate_law.observed(p, self.temperature)
        self.bare: BareRate = bare_from_observed(self.observed, self.mu, self.geometry)
        check_bare(self.bare, self.geometry)

    # --- derived quantities, computed on first use ---------------------------------
    @functools.cached_property
    def kinv_stencil(self) -> np.ndarray:
        """Column 0 of K^-1 (flat): K^-1_xy = kinv[index(x - y)]."""
        return gaussian.stencil(self.spectrum, -1.0)

    @functools.lru_cache(maxsize=None)
    def window_kernel(self, orientation: int):
        from trsp_core.detailed_balance import window_kernel

        return window_kernel(self, orientation)

    @functools.lru_cache(maxsize=None)
    def dense_kernel(self, orientation: int):
        from trsp_core.detailed_balance import dense_kernel

        return dense_kernel(self, orientation)

    def check_feasible(self) -> float:
        """Build every orientation's window kernel; return the largest eigenvalue of K_Delta K'^-1."""
        return max(self.window_kernel(o).b_max for o in range(len(self.orientations)))

    @property
    def n_sites(self) -> int:
        return self.lattice.n_sites

    @property
    def n_clusters(self) -> int:
        return int(self.cluster_sites.shape[0])

    def sample_equilibrium(self, rng: np.random.Generator, temperature: float | None = None) -> np.ndarray:
        """S ~ Normal(mu(T), K) (T defaults to the model's; another T gives a quench start)."""
        mu = self.mu if temperature is None else self.params.mu(temperature)
        return gaussian.sample(self.spectrum, mu, rng)

    def cluster_rates(self, S: np.ndarray) -> np.ndarray:
        return self.bare.rate(S[self.cluster_sites].mean(axis=1))

    def describe(self) -> dict:
        """Flat provenance record: every parameter, derived rate and plugin name."""
        g = self.geometry
        out = {f"param_{k}": v for k, v in self.params.to_dict().items()}
        out.update({f"plugin_{k}": v for k, v in self.names.items()})
        out.update(
            lattice_shape=list(self.lattice.shape), lattice_spacing=self.lattice.spacing,
            temperature=self.temperature, facilitation=self.facilitation, delta_rule=self.delta_rule,
            mu=self.mu, m=g.m, z=g.z, kappa=g.kappa, K_RR=g.K_RR, v=g.v,
            observed_A=self.observed.A, observed_gamma=self.observed.gamma, observed_delta=self.observed.delta,
            bare_A0=self.bare.A0, bare_gamma0=self.bare.gamma0, bare_delta0=self.bare.delta0, d=self.bare.d,
        )
        return out
