"""Steinhardt bond-orientational order q_l and w_l per particle (freud.order.Steinhardt).

q_lm(i) = (1/N_b) sum_j Y_lm(r_ij) over the neighbour shell; q_l(i) = sqrt(4 pi/(2l+1) sum_m |q_lm|^2);
w_l(i) = sum_{m1+m2+m3=0} (l l l; m1 m2 m3) q_lm1 q_lm2 q_lm3 / (sum_m |q_lm|^2)^(3/2) (normalised).
With ``average`` the q_lm are first averaged over the neighbours and the particle (Lechner-Dellago).
"""
from __future__ import annotations

import attrs
import numpy as np

from trsp_core.plugin.interfaces import ComputedDescriptor
from descriptors.structural._neighbours import _optional_positive_int, check_box, freud_system
from trsp_core.validators import parameter


def _l(inst, attribute, value):
    if int(value) != value or value < 0:
        from trsp_core.errors import ParameterError
        raise ParameterError(f"parameter 'l' must be an integer >= 0, got {value!r}")


@attrs.frozen
class SteinhardtParams:
    """``l``: the harmonic order; neighbours within ``r_max`` (sigma_AA) or the ``num_neighbors``
    nearest; ``average``: Lechner-Dellago average over the first shell."""

    l: int = attrs.field(default=6, converter=int, validator=_l)  # noqa: E741
    r_max: float = attrs.field(default=1.4, converter=float, validator=parameter.positive)
    num_neighbors: int | None = attrs.field(default=None, validator=_optional_positive_int)
    average: bool = attrs.field(default=False, converter=bool)


class _Steinhardt(ComputedDescriptor):
    Params = SteinhardtParams
    libraries = ("freud-analysis",)
    wl = False

    def compute_frame(self, box, positions, types):
        import freud

        p = self.params
        fbox, pts = freud_system(box, positions)
        if p.num_neighbors is None:
            check_box(box, p.r_max, f"descriptor '{self.name}'")
            query = {"r_max": p.r_max, "exclude_ii": True}
        else:
            query = {"num_neighbors": int(p.num_neighbors), "exclude_ii": True}
        st = freud.order.Steinhardt(p.l, average=p.average, wl=self.wl, wl_normalize=self.wl)
        st.compute((fbox, pts), neighbors=query)
        return np.asarray(st.particle_order, dtype=np.float64)


class Q6(_Steinhardt):
    """Steinhardt q_l (default l = 6): crystal-like bond-orientational order of the first shell."""

    name = "q6"
    description = "Steinhardt bond-orientational order q_l (l = 6); S = -q6 standardised (ordered = slow)"
    sign = -1
    sign_known = True


class W6(_Steinhardt):
    """Normalised Steinhardt w_l (default l = 6): icosahedral environments give w6 = -0.1697."""

    name = "w6"
    description = "normalised Steinhardt w_l (l = 6); icosahedra most negative; S = +w6 standardised"
    wl = True
    sign = 1
    sign_known = True
