"""The abstract interfaces plugins implement.

Lattice and ClusterRule live in their own modules (they carry geometry code);
they are re-exported here so a plugin author finds every interface in one place.
"""
from __future__ import annotations

import abc
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import attrs
import numpy as np

from trsp_core.errors import InputFileError, ParameterError
from trsp_core.physics.clusters import ClusterRule, OffsetClusterRule
from trsp_core.physics.lattice import HypercubicLattice, Lattice
from trsp_core.physics.params import DescriptorParams, read_params_toml
from trsp_core.plugin.computed import (FORMAT, FORMAT_VERSION, Frames, NoParams, Standardisation, _jsonable,
                                       as_frames, library_versions, load_descriptor, make_params, save_descriptor)

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from trsp_core.model import Model
    from trsp_core.physics.rates import ObservedRate

__all__ = [
    "Descriptor", "ComputedDescriptor", "StructuralDescriptorFactory", "Frames", "Standardisation", "NoParams",
    "as_frames", "load_descriptor", "save_descriptor", "Lattice", "HypercubicLattice", "LatticeFactory", "ClusterRule",
    "OffsetClusterRule", "RateLaw", "Observable",
]

#: A lattice plugin is a callable (size, spacing) -> Lattice.
LatticeFactory = Callable[[int, float], Lattice]
#: A structural-descriptor plugin is a callable (params or None) -> ComputedDescriptor (usually the class).
StructuralDescriptorFactory = Callable[[Any], "ComputedDescriptor"]


class Descriptor(abc.ABC):
    """A structural descriptor: where its model parameters come from."""

    name: str = "descriptor"
    description: str = ""

    @abc.abstractmethod
    def parameters(self, params_file: Path | None = None) -> DescriptorParams:
        """The parameter set, with ``params_file`` (TOML) overriding the defaults."""


class ComputedDescriptor(Descriptor):
    """A structural descriptor computed per particle from MD frames.

    Subclasses set ``name``, ``description``, ``Params`` (a frozen attrs class
    with defaults for every field), ``sign`` and implement :meth:`compute_frame`
    (or override :meth:`raw` to work on all frames at once).

    ``sign``: the orientation of the standardised descriptor, S = sign * (raw -
    mean) / std, chosen so that larger S = softer / more mobile where that is
    known (``sign_known``; otherwise ``sign`` is the usual guess, said in the docs).
    ``standardise``: False for a descriptor whose raw value already has its
    scale (softness: the SVM margin); its standardisation is then the identity.
    ``libraries``: distributions whose versions go into the provenance.
    """

    name: str = "computed"
    description: str = ""
    Params: type = NoParams
    sign: int = 1
    sign_known: bool = False
    standardise: bool = True
    libraries: tuple[str, ...] = ("freud-analysis",)

    def __init__(self, params=None, standardisation: Standardisation | None = None):
        self._params = make_params(self.Params, params)
        if standardisation is None and not self.standardise:
            standardisation = Standardisation.identity()
        self._standardisation = standardisation

    def __repr__(self) -> str:
        fitted = "fitted" if self._standardisation is not None else "not fitted"
        return f"{type(self).__name__}({self._params!r}, {fitted})"

    @property
    def params(self):
        return self._params

    @property
    def standardisation(self) -> Standardisation:
        if self._standardisation is None:
            raise ParameterError(f"descriptor '{self.name}' has no standardisation yet: call fit(training frames) "
                                 "first (or load a descriptor file written by `trsp descriptors fit`)")
        return self._standardisation

    @property
    def fitted(self) -> bool:
        return self._standardisation is not None

    # -- the computation ---------------------------------------------------------
    def compute_frame(self, box: np.ndarray, positions: np.ndarray, types: np.ndarray) -> np.ndarray:
        """Raw per-particle values (N,) of one frame; NaN where undefined."""
        raise NotImplementedError(f"descriptor '{self.name}' implements neither compute_frame nor raw")

    def raw(self, frames, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Raw per-particle values (F, N) of every frame (float64, NaN where undefined)."""
        fr = as_frames(frames)
        out = np.full((fr.n_frames, fr.n_particles), np.nan)
        for f in range(fr.n_frames):
            out[f] = self.compute_frame(fr.box, fr.positions[f], fr.types)
            if progress is not None:
                progress(f + 1, fr.n_frames)
        return out

    def with_standardisation(self, standardisation: Standardisation):
        return type(self)(self._params, standardisation)

    def fit(self, frames: Any | Sequence[Any], raws: Sequence[np.ndarray] | None = None):
        """A copy standardised over the training ``frames`` (one system or a list; pooled per species).

        Pass ``raws`` (the raw arrays of those frames) to avoid computing them again.
        """
        systems = [as_frames(f) for f in (frames if isinstance(frames, list) else [frames])]
        if not self.standardise:
            return self.with_standardisation(Standardisation.identity())
        if raws is None:
            raws = [self.raw(s) for s in systems]
        return self.with_standardisation(Standardisation.fit(raws, [s.types for s in systems]))

    def standardised(self, raw: np.ndarray, types: np.ndarray) -> np.ndarray:
        """sign * (raw - mean) / std per species (the values ``trsp measure`` reads)."""
        return self.standardisation.apply(raw, types, self.sign)

    def compute(self, frames) -> np.ndarray:
        """Standardised, oriented per-particle values (F, N) of ``frames``."""
        fr = as_frames(frames)
        st = self.standardisation  # raises before the work if not fitted
        return st.apply(self.raw(fr), fr.types, self.sign)

    # -- provenance and storage ----------------------------------------------------
    def provenance(self) -> dict:
        return {
            "descriptor": self.name,
            "parameters": {k: _jsonable(v) for k, v in attrs.asdict(self._params).items()},
            "sign": int(self.sign),
            "sign_known": bool(self.sign_known),
            "standardisation": None if self._standardisation is None else self._standardisation.to_dict(),
            "versions": library_versions(self.libraries),
        }

    def to_dict(self) -> dict:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, **self.provenance()}

    # -- the model-numbers side of the Descriptor interface -----------------------------
    def parameters(self, params_file: Path | None = None):
        """Model parameters: those ``trsp measure`` fitted from this descriptor's values (``params.toml``)."""
        if params_file is None:
            raise InputFileError(f"computed descriptor '{self.name}' has no built-in model numbers: compute it "
                                 "(`trsp descriptors compute`), fit them with `trsp measure`, and pass its "
                                 "params.toml with --params")
        return read_params_toml(params_file, base=DescriptorParams(name=self.name))


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
