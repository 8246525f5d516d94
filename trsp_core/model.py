"""A composed model: lattice + descriptor parameters + cluster rule + rate law at T.

Construction validates everything once (covariance spectra, renormalisation,
feasibility of every orientation's kick) so a simulation never starts on an
invalid parameter set. ``Model.run`` is the job behind ``trsp compose``:
simulate seeds, compute observables, return one labelled Dataset.
"""
from __future__ import annotations

import functools
import time
from typing import Callable

import attrs
import numpy as np
import xarray as xr

from trsp_core.physics import gaussian
from trsp_core.physics.clusters import DELTA_RULES, ClusterRule
from trsp_core.errors import ParameterError
from trsp_core.physics.lattice import Lattice
from trsp_core.physics.params import DescriptorParams
from trsp_core.physics.rates import (BareRate, ClusterGeometry, ObservedRate, bare_from_observed, check_bare,
                                     cluster_geometry)


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
        spec=None,
    ):
        if not (np.isfinite(temperature) and temperature > 0):
            raise ParameterError(f"temperature must be > 0, got {temperature!r}")
        if not (np.isfinite(facilitation) and facilitation > 0):
            raise ParameterError(f"facilitation factor c must be > 0, got {facilitation!r}")
        if delta_rule not in DELTA_RULES:
            raise ParameterError(f"unknown delta rule '{delta_rule}'; choose one of: {', '.join(DELTA_RULES)}")
        self.lattice = lattice
        # the forms at this temperature (params itself when nothing depends on T); every
        # check below, the conditioning, the kicks and the renormalisation read these
        self.params = params.at(float(temperature))
        self.cluster_rule = cluster_rule
        self.rate_law = rate_law
        self.temperature = float(temperature)
        self.delta_rule = delta_rule
        self.facilitation = float(facilitation)
        self.names = dict(names or {})
        #: the ModelSpec this model was built from (None if assembled by hand)
        self.spec = spec

        p = self.params
        self.mu = p.mu(self.temperature)
        self.spectrum = gaussian.checked_spectrum(lattice, p)
        self.orientations = cluster_rule.orientations(lattice)
        self.cluster_sites, self.cluster_orientation = cluster_rule.clusters(lattice)
        self.observed: ObservedRate = rate_law.observed(p, self.temperature)
        self.channels: tuple[Channel, ...] = _channels(self, cluster_rule)
        #: channel of every orientation, true size m of every orientation and every cluster
        self.orientation_channel = np.concatenate([np.full(len(ch.orientations), c, np.int64)
                                                   for c, ch in enumerate(self.channels)])
        self.orientation_m = np.asarray([len(o) for o in self.orientations], np.int64)
        self.cluster_m = self.orientation_m[self.cluster_orientation]
        #: clusters (of every channel) that contain a given site
        self.z = sum(ch.geometry.z for ch in self.channels)

    @property
    def is_mixture(self) -> bool:
        return len(self.channels) > 1

    @property
    def geometry(self) -> ClusterGeometry:
        """The cluster geometry (one channel); a mixture has one per channel (``channels``)."""
        return self._single_channel("geometry").geometry

    @property
    def bare(self) -> BareRate:
        """The bare cluster law (one channel); a mixture has one per channel (``bare_of``)."""
        return self._single_channel("bare").bare

    def _single_channel(self, what: str) -> "Channel":
        if self.is_mixture:
            raise ParameterError(f"model '{self.cluster_rule.name}' is a mixture of {len(self.channels)} cluster "
                                 f"rules with one {what} per channel: use model.channels[c].{what} or "
                                 "model.bare_of(orientation)")
        return self.channels[0]

    def bare_of(self, orientation: int) -> BareRate:
        """Bare law of the channel that owns ``orientation``."""
        return self.channels[int(self.orientation_channel[orientation])].bare

    def __repr__(self) -> str:
        shape = "x".join(str(n) for n in self.lattice.shape)
        sizes = "+".join(str(ch.m) for ch in self.channels)
        return (f"Model({self.names.get('descriptor', self.params.name)} on {self.names.get('lattice', 'lattice')} "
                f"{shape} ({self.n_sites} sites), {self.names.get('cluster', 'cluster')} m={sizes} z={self.z}, "
                f"T={self.temperature:g}, c={self.facilitation:g})")

    # --- derived quantities, computed on first use ---------------------------------
    @functools.cached_property
    def kinv_stencil(self) -> np.ndarray:
        """Column 0 of K^-1 (flat): K^-1_xy = kinv[index(x - y)]."""
        return gaussian.stencil(self.spectrum, -1.0)

    @functools.lru_cache(maxsize=None)
    def window_kernel(self, orientation: int):
        from trsp_core.physics.kernel import window_kernel

        return window_kernel(self, orientation)

    @functools.lru_cache(maxsize=None)
    def dense_kernel(self, orientation: int):
        from trsp_core.physics.kernel import dense_kernel

        return dense_kernel(self, orientation)

    def check_feasible(self) -> float:
        """Build every orientation's window kernel; return the largest eigenvalue of K_Delta K'^-1.

        An infeasible kick raises ParameterError naming the temperature and the forms of
        C(r), s(r) and rho(r) it was evaluated with (they may depend on T)."""
        try:
            return max(self.window_kernel(o).b_max for o in range(len(self.orientations)))
        except ParameterError as exc:
            p = self.params
            raise ParameterError(f"{exc} (at T={self.temperature:g}; C(r): {p.describe_form('C')}; "
                                 f"s(r): {p.describe_form('s')}; rho(r): {p.describe_form('rho')})") from None

    @property
    def n_sites(self) -> int:
        return self.lattice.n_sites

    @property
    def n_clusters(self) -> int:
        return int(self.cluster_sites.shape[0])

    def sample_equilibrium(self, rng: np.random.Generator, temperature: float | None = None) -> np.ndarray:
        """S ~ Normal(mu(T), K) (T defaults to the model's; another T gives a quench start)."""
        if temperature is None or float(temperature) == self.temperature:
            return gaussian.sample(self.spectrum, self.mu, rng)
        # a quench start: that temperature's statics (mean and, if it depends on T, C(r)), checked
        q = self.params.at(float(temperature))
        lam = self.spectrum if q.correlation == self.params.correlation else gaussian.checked_spectrum(
            self.lattice, q, kicks=False)
        return gaussian.sample(lam, q.mu(float(temperature)), rng)

    def cluster_rates(self, S: np.ndarray) -> np.ndarray:
        """Bare rate of every cluster (clusters are stored channel by channel)."""
        N = self.n_sites
        out = []
        for ch in self.channels:
            rows = self.cluster_sites[ch.orientations[0] * N: (ch.orientations[-1] + 1) * N, : ch.m]
            out.append(ch.bare.rate(S[rows].mean(axis=1)))
        return np.concatenate(out)

    def describe(self) -> dict:
        """Flat provenance record: every parameter, derived rate and plugin name."""
        out = {f"param_{k}": v for k, v in self.params.to_dict().items()}
        out.update({f"plugin_{k}": v for k, v in self.names.items()})
        out.update(
            lattice_shape=list(self.lattice.shape), lattice_spacing=self.lattice.spacing,
            temperature=self.temperature, facilitation=self.facilitation, delta_rule=self.delta_rule, mu=self.mu,
            observed_A=self.observed.A, observed_gamma=self.observed.gamma, observed_delta=self.observed.delta,
            d=self.observed.d,
        )
        for ch in self.channels:
            g, b = ch.geometry, ch.bare
            # one channel keeps the flat keys; a mixture prefixes each channel's with its name
            pre = f"channel_{ch.name}_" if self.is_mixture else ""
            out.update({f"{pre}{k}": v for k, v in dict(
                m=g.m, z=g.z, kappa=g.kappa, K_RR=g.K_RR, v=g.v,
                bare_A0=b.A0, bare_gamma0=b.gamma0, bare_delta0=b.delta0).items()})
            if self.is_mixture:
                out[f"{pre}weight"] = ch.weight
        if self.is_mixture:
            out["cluster_channels"] = ",".join(ch.name for ch in self.channels)
            out["z"] = self.z
        return out

    # --- running -------------------------------------------------------------------
    def mean_rate_time(self) -> float:
        """d / <P(R|S)> at equilibrium [frames]: the mean time between a site's rearrangements."""
        from trsp_core.physics.timescales import mean_rate_time

        return mean_rate_time(self)

    def simulate(self, duration: float, seed: int, **options):
        """One run of ``duration`` frames (see :func:`trsp_core.backends.simulate`)."""
        from trsp_core.backends import simulate

        return simulate(self, duration, seed, **options)

    def run(self, seeds: int = 8, *, seed: int = 0, duration: float | None = None, observables=("overlap",),
            backend: str = "auto", registry=None, progress: Callable[[float, float], None] | None = None
            ) -> xr.Dataset:
        """Simulate ``seeds`` seeds (run i uses seed ``seed + i``), compute ``observables``
        and return one Dataset: the runs (every field), the observables and provenance.

        ``observables``: plugin names or Observable instances. ``duration`` defaults to
        30 mean rearrangement times. ``progress(done, total)`` is called in frames.
        """
        from trsp_core.observables import compute_all, resolve
        from trsp_core.physics.timescales import auto_duration
        from trsp_core.run import run_file

        from trsp_core.validators import check_duration, check_seeds

        t0 = time.perf_counter()
        check_seeds(seed, seeds)
        check_duration(duration)
        # every event log is kept: refuse (ResourceError, naming the estimate) what cannot fit in
        # memory; trsp_core.streaming.compose_to_file streams them to a file instead
        from trsp_core.resources import check_fits, estimate_model_run

        check_fits(estimate_model_run(self, seeds=int(seeds), duration=duration))
        b_max = self.check_feasible()
        obs = resolve(observables, registry)
        if duration is None:
            duration = auto_duration(self)
        runs = []
        for i in range(int(seeds)):
            cb = (lambda t, i=i: progress(i * duration + t, seeds * duration)) if progress else None
            runs.append(self.simulate(duration, seed + i, backend=backend, progress=cb))
        computed = compute_all(obs, self, runs)
        extra = {
            "observables": ",".join(o.name for o in obs), "backend": runs[0].backend,
            "seeds": [seed + i for i in range(seeds)], "duration": duration, "kick_b_max": b_max,
            "wall_s": time.perf_counter() - t0,
            **{f"kernel_{k}": v for k, v in runs[0].info.items() if isinstance(v, (int, float, str))},
        }
        rd = run_file(runs, self, extra=extra)
        ds = xr.merge([rd, *computed], combine_attrs="drop_conflicts")
        ds.attrs = rd.attrs
        return ds

    def kernel_dataset(self, orientation: int = 0) -> xr.Dataset:
        """Dense view of one cluster's rearrangement kernel (H, mu', K_Delta, K') as labelled data."""
        from trsp_core.io import provenance

        if self.n_sites > MAX_DENSE_SITES:
            raise ParameterError(f"inspect writes dense N x N matrices: size gives {self.n_sites} sites > {MAX_DENSE_SITES}")
        if not 0 <= orientation < len(self.orientations):
            raise ParameterError(f"orientation must be in [0, {len(self.orientations) - 1}], got {orientation}")
        k = self.dense_kernel(orientation)
        # Rows outside the kick window vanish analytically; the eigensolver leaves ~1e-16.
        rows = np.flatnonzero(np.abs(k.H).max(axis=1) > 1e-12 * max(np.abs(k.H).max(), 1.0))
        ds = xr.Dataset(
            {
                "H": (("row", "col"), k.H[rows], {"units": "1", "long_name": "mean-reversion matrix H (non-zero rows)"}),
                "row_sites": ("row", rows, {"units": "1", "long_name": "site index of each row of H"}),
                "col_sites": ("col", np.arange(self.n_sites), {"units": "1", "long_name": "site index of each column of H"}),
                "mu_prime": ("site", k.mu_prime, {"units": "descriptor", "long_name": "mean of S given the rearrangement"}),
                "K_prime": (("site", "site2"), k.K_prime, {"units": "descriptor^2", "long_name": "covariance of S given the rearrangement"}),
                "K_delta": (("site", "site2"), k.K_delta, {"units": "descriptor^2", "long_name": "covariance of the softness change"}),
                "cluster_sites": ("member", k.sites, {"units": "1", "long_name": "sites of the cluster"}),
                "site_position": (("site", "dim"), self.lattice.positions(), {"units": "sigma_AA", "long_name": "site position"}),
            }
        )
        ds.attrs = provenance(self, {"orientation": orientation, "kick_b_max": k.b_max})
        return ds


@attrs.frozen(eq=False)
class Channel:
    """One rearrangement channel: a cluster rule carrying ``weight`` of the observed per-site rate."""

    name: str
    weight: float
    rule: ClusterRule
    orientations: np.ndarray   # indices into Model.orientations
    m: int
    geometry: ClusterGeometry
    observed: ObservedRate     # the channel's share: A -> weight * A
    bare: BareRate


def _channels(model, rule) -> tuple[Channel, ...]:
    """Per channel: geometry and the closed-form renormalisation of its share of the observed law.

    The observed per-site law is the sum of the channels' laws and each inversion is
    linear in A, so channel c inverts w_c A exp(gamma S - delta S^2) on its own.
    """
    lat, p = model.lattice, model.params
    mix = getattr(rule, "channels", None)
    if mix is None:
        mix = ((model.names.get("cluster", rule.name), rule, 1.0),)
    out, first = [], 0
    for name, r, w in mix:
        n_o = len(r.orientations(lat))
        orients = np.arange(first, first + n_o)
        first += n_o
        sites = model.cluster_sites if len(mix) == 1 else None
        z = r.coordination(lat, sites)
        geometry = cluster_geometry(model.orientations[orients[0]], lat, p.correlation, z)
        observed = attrs.evolve(model.observed, A=w * model.observed.A)
        try:
            bare = bare_from_observed(observed, model.mu, geometry)
            check_bare(bare, geometry)
        except ParameterError as exc:
            if len(mix) == 1:
                raise
            raise ParameterError(f"channel '{name}' (weight {w:g}) of the cluster mixture: {exc}") from None
        out.append(Channel(name=name, weight=float(w), rule=r, orientations=orients, m=int(geometry.m),
                           geometry=geometry, observed=observed, bare=bare))
    return tuple(out)


#: dense N x N views (``kernel_dataset``) are limited to this many sites
MAX_DENSE_SITES = 4096


def summary(ds: xr.Dataset) -> dict:
    """The headline numbers of a ``Model.run`` Dataset (what ``trsp compose`` prints)."""
    def scalar(name):
        if name not in ds:
            return None
        v = float(ds[name])
        return v if np.isfinite(v) else None

    return {
        "events": int(ds["n_events"].sum()) if "n_events" in ds else 0,
        "seeds": int(ds.sizes.get("run", 0)),
        "duration": float(ds.attrs.get("duration", np.nan)),
        "backend": str(ds.attrs.get("backend", "")),
        "wall_s": float(ds.attrs.get("wall_s", np.nan)),
        "tau_alpha": scalar("tau_alpha"),
        "tau_alpha_err": scalar("tau_alpha_err"),
        "chi4_star": scalar("chi4_star"),
        "chi4_star_err": scalar("chi4_star_err"),
        "temperature": float(ds.attrs.get("temperature", np.nan)),
        "n_sites": int(ds.sizes.get("site", 0)),
    }
