"""Built-in structural descriptors computed from MD frames (see docs/descriptors.md).

Each is a :class:`trsp_core.plugin.interfaces.ComputedDescriptor`; the
``trsp_structural_descriptors`` hook in :mod:`descriptors.builtin` registers
:data:`BUILTIN`. Modules import numba and freud, so the hook imports this
package only when the structural table is first needed.
"""
from descriptors.structural.entropy import ExcessEntropy
from descriptors.structural.fivefold import FiveFold
from descriptors.structural.steinhardt import Q6, W6
from descriptors.structural.voronoi import VoronoiVolume

BUILTIN = {cls.name: cls for cls in (Q6, W6, VoronoiVolume, ExcessEntropy, FiveFold)}

__all__ = ["BUILTIN", "ExcessEntropy", "FiveFold", "Q6", "W6", "VoronoiVolume"]
