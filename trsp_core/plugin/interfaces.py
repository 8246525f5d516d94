"""The abstract interfaces plugins implement.

Lattice and ClusterRule live in their own modules (they carry geometry code);
they are re-exported here so a plugin author finds every interface in one place.
"""
from __future__ import annotations

import abc
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from trsp_core.physics.clusters import ClusterRule, OffsetClusterRule
from trsp_core.physics.lattice import HypercubicLattice, Lattice
from trsp_core.physics.params import DescriptorParams

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from trsp_core.model import Model
    from trsp_core.physics.rates import ObservedRate

__all__ = [
    "Descriptor", "Lattice", "HypercubicLattice", "LatticeFactory", "ClusterRule",
    "OffsetClusterRule", "RateLaw", "Observable",
]

#: A lattice plugin is a callable (size, spacing) -> Lattice.
LatticeFactory = Callable[[int, float], Lattice]


class Descriptor(abc.ABC):
    """A structural descriptor: where its model parameters come from."""

    name: str = "descriptor"
    description: str = ""

    @abc.abstractmethod
    def parameters(self, params_file: Path | None = None) -> DescriptorParams:
        """The parameter set, with ``params_file`` (TOML) overriding the defaults."""


class RateLaw(abc.ABC):
    """Maps a descriptor and temperature to the observed per-site rearrangement law."""

    name: str = "rate"

    @abc.abstractmethod
    def observed(self, params: DescriptorParams, temperature: float) -> "ObservedRate":
        """P(R|S) = A exp(gamma S - delta S^2) per frame, and the duration d in frames."""


class Observable(abc.ABC):
    """Computes labelled results from simulated runs (freud-style compute object)."""

    name: str = "observable"
    #: run fields ``compute`` reads (see :mod:`trsp_core.run`); checked before it runs
    requires: tuple[str, ...] = ("events",)
    #: names of the variables it returns (a sweep picks observables by these)
    provides: tuple[str, ...] = ()

    @abc.abstractmethod
    def compute(self, model: "Model", runs: list) -> "xr.Dataset":
        """Return an xarray Dataset with units and long names on every variable."""
