"""Softness as a computed descriptor: a thin adapter over a model trained by `trsp softness train`.

Training stays where it is (:func:`descriptors.softness_ml.training.train_softness`);
this wraps the trained model file so `trsp descriptors compute softness
--param model=FILE` and `trsp softness apply FILE` give the same values.
Softness keeps its own scale (the SVM margin, |S| = 1), so its standardisation
is the identity (``standardise = False``).
"""
from __future__ import annotations

import functools

import attrs
import numpy as np

from trsp_core.errors import ParameterError
from trsp_core.plugin.interfaces import ComputedDescriptor, as_frames

NEIGHBOURS = ("cells", "freud", "scipy")


@attrs.frozen
class SoftnessParams:
    """``model``: the JSON file written by `trsp softness train`; ``neighbours``: the search backend."""

    model: str = attrs.field(default="", converter=str)
    neighbours: str = attrs.field(default="cells", validator=attrs.validators.in_(NEIGHBOURS))


class Softness(ComputedDescriptor):
    """Softness: the linear-SVM decision function on structure functions (trained model file)."""

    name = "softness"
    description = "softness S from a `trsp softness train` model (--param model=FILE); S > 0 rearranging side"
    Params = SoftnessParams
    sign = 1
    sign_known = True
    standardise = False
    libraries = ("scikit-learn", "freud-analysis", "numba")

    @functools.cached_property
    def model(self):
        from descriptors.softness_ml.training import SoftnessModel

        if not self.params.model:
            raise ParameterError("descriptor 'softness' needs parameter 'model': a file written by "
                                 "`trsp softness train` (e.g. --param model=softness.json)")
        return SoftnessModel.load(self.params.model)

    def raw(self, frames, progress=None):
        from descriptors.softness_ml.training import apply_softness
        from trsp_core.md.mdio import Trajectory

        fr = as_frames(frames)
        traj = Trajectory(positions=fr.positions, types=fr.types, box=fr.box)
        return np.asarray(apply_softness(self.model, traj, backend=self.params.neighbours), dtype=np.float64)

    def provenance(self) -> dict:
        out = super().provenance()
        if self.params.model:
            out["softness_cv_accuracy"] = float(self.model.cv_accuracy)
        return out
