"""Voronoi cell volume per particle (freud.locality.Voronoi, voro++)."""
from __future__ import annotations

import attrs
import numpy as np

from trsp_core.plugin.interfaces import ComputedDescriptor
from descriptors.structural._neighbours import freud_system


@attrs.frozen
class VoronoiParams:
    """No parameters: the plain (unweighted) Voronoi tessellation of the particle centres."""


class VoronoiVolume(ComputedDescriptor):
    """Volume (area in 2D) of the particle's Voronoi cell: the local free volume, 1/local density."""

    name = "voronoi-volume"
    description = "Voronoi cell volume (local 1/density); S = +volume standardised per species (free volume)"
    Params = VoronoiParams
    sign = 1
    sign_known = True
    libraries = ("freud-analysis",)

    def compute_frame(self, box, positions, types):
        import freud

        fbox, pts = freud_system(box, positions)
        vor = freud.locality.Voronoi()
        vor.compute((fbox, pts))
        return np.asarray(vor.volumes, dtype=np.float64)
