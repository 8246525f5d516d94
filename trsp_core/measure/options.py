"""Every knob of ``trsp measure`` in one frozen, validated attrs class."""
from __future__ import annotations

import attrs

from trsp_core.spec import DEFAULTS

from trsp_core.errors import ParameterError
from trsp_core.validators import Checks


_option = Checks("measure option")
_pos = _option.positive
_pos_or_none = _option.positive_or_none
_pos_int = _option.positive_int
_unit = _option.open_unit


def _temps_or_none(value):
    if value is None:
        return None
    temps = tuple(float(t) for t in value)
    if not temps or not all(t > 0 for t in temps):
        raise ParameterError(f"measure option temperatures must be positive numbers, got {list(value)}")
    return temps


def _fixed(value):
    from trsp_core.physics.params import DescriptorParams

    items = value.items() if isinstance(value, dict) else value
    from trsp_core.physics.params import FORM_FIELDS

    # numbers only: the forms (tables) and the pinned temperature are not fixed by a number
    known = {f.name for f in attrs.fields(DescriptorParams)} - {"name", "description", "reset", "resolved_at",
                                                                 *FORM_FIELDS}
    out = []
    for name, v in items:
        if name not in known:
            raise ParameterError(f"measure option 'fix': unknown parameter '{name}'; known: {', '.join(sorted(known))}")
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise ParameterError(f"measure option 'fix': {name} must be a number, got {v!r}") from None
        out.append((str(name), v))
    return tuple(sorted(out))


def _choice(*choices):
    # attrs' in_ raises a ValueError with the attribute's repr; name the option instead
    def check(inst, attr, value):
        if value not in choices:
            raise ParameterError(f"measure option '{attr.name}' must be one of {', '.join(choices)}, got {value!r}")
    return check


def _one_rule(inst, attr, value):
    # the bare-law diagnostics renormalise for one cluster geometry; the written
    # parameters (the observed per-site law) do not depend on the rule
    from trsp_core.physics import mixture

    try:
        is_mixture = mixture.parse(value) is not None     # compose's own reading of --cluster
    except ParameterError:
        is_mixture = True                                 # a malformed mixture is a mixture still
    if is_mixture:
        raise ParameterError(f"measure option 'cluster' = '{value}' is a mixture of cluster rules; measure "
                             "renormalises for one rule: measure with one of them (e.g. --cluster plaquette) and "
                             "compose the written params.toml with the mixture")


@attrs.frozen(kw_only=True)
class MeasureOptions:
    """Options of the measurement pipeline (lengths in sigma_AA, times in frames)."""

    # Rearrangements: p_hop > threshold (paper: 0.2), p_hop window W (frames, even).
    phop_threshold: float = attrs.field(default=0.2, converter=float, validator=_pos)
    phop_window: int = attrs.field(default=10, converter=int, validator=_pos_int)
    # Species analysed (the paper keeps only the large particles, type 0).
    species: int | None = attrs.field(default=0)
    # Delta S is S(t_R + w) - S(t_R - w) with w = delta_window frames.
    delta_window: int = attrs.field(default=5, converter=int, validator=_pos_int)
    # S bins of P(R|S) (common to all temperatures) and of the Delta S analysis.
    s_bin_width: float = attrs.field(default=0.25, converter=float, validator=_pos)
    # A bin enters the rate fits if it holds this fraction of all samples
    # (chosen on occupancy, not on counts, so the fits are not biased by selection).
    min_bin_fraction: float = attrs.field(default=1e-3, converter=float, validator=_unit)
    # Bins with fewer rearrangements are flagged (and left out of the per-bin Arrhenius fits).
    min_count: int = attrs.field(default=10, converter=int, validator=_pos_int)
    # Fewer rearrangements than this at one temperature: error (the fits would be garbage).
    min_rearrangements: int = attrs.field(default=50, converter=int, validator=_pos_int)
    # Radial analysis: r bins (uniform width, or exact shells for lattice data).
    r_bin_width: float = attrs.field(default=0.25, converter=float, validator=_pos)
    r_max: float = attrs.field(default=6.0, converter=float, validator=_pos)
    # Fit range of C(r), s(r), rho(r) (r_cut of the written model = kick_r_max).
    corr_r_max: float = attrs.field(default=4.0, converter=float, validator=_pos)
    kick_r_max: float = attrs.field(default=3.3, converter=float, validator=_pos)
    # Far field: samples farther than this from any rearranging particle give the background.
    far_r: float = attrs.field(default=4.5, converter=float, validator=_pos)
    # Delta S statistics are pooled only over temperatures where at most this
    # fraction of samples is rearranging: at higher T several rearrangements
    # overlap within +-delta_window and the nearest-rearranger attribution fails.
    kick_max_flagged: float = attrs.field(default=0.01, converter=float, validator=_unit)
    # Frames used for C(r) (evenly spaced subsample: the pair sums are O(N) per frame each).
    corr_frames: int = attrs.field(default=50, converter=int, validator=_pos_int)
    # Blocks of frames for error bars of time averages (frames are correlated).
    n_blocks: int = attrs.field(default=10, converter=int, validator=_pos_int)
    # Lattice spacing a of the written model; None = first peak of g_AA(r).
    spacing: float | None = attrs.field(default=None, validator=_pos_or_none)
    # Renormalisation target: cluster rule and lattice plugin of the model.
    cluster: str = attrs.field(default=DEFAULTS.cluster, converter=str, validator=_one_rule)
    lattice: str = attrs.field(default=DEFAULTS.lattice, converter=str)
    # Gaussianity thresholds (effect sizes: with 1e6 samples every p-value is tiny).
    max_abs_skew: float = attrs.field(default=0.5, converter=float, validator=_pos)
    max_abs_excess_kurtosis: float = attrs.field(default=1.0, converter=float, validator=_pos)
    # A fit whose chi^2 p-value is below this is reported as a bad description of the data.
    p_value_warn: float = attrs.field(default=1e-3, converter=float, validator=_unit)
    # Descriptor name written into the TOML.
    name: str = attrs.field(default="measured", converter=str)
    # Temperatures whose C(r) is pooled for the fit (None: all). The paper fits C(r) at high T.
    corr_temperatures: tuple | None = attrs.field(default=None, converter=_temps_or_none)
    # Temperatures whose Delta S statistics are pooled (None: those with at most
    # kick_max_flagged rearranging samples). The paper takes the kicks as T-independent.
    kick_temperatures: tuple | None = attrs.field(default=None, converter=_temps_or_none)
    # Parameters fixed by the user, as ((name, value), ...): T0 and a are imposed in the
    # fits (the onset fit is redone with 1/T0 fixed; a replaces the g(r) peak); any
    # other DescriptorParams field overrides the fitted value before the model check.
    fixed: tuple = attrs.field(default=(), converter=_fixed)
    # A kick with max eig(K_Delta K'^-1) >= 1 has no Delta S law. "shrink": scale s(r)
    # by sqrt(kick_b_target / b_max) (K_Delta ~ s^2, K' does not depend on s), reported
    # as a warning; "error": refuse and name the remedies.
    kick_feasibility: str = attrs.field(default="shrink", validator=_choice("shrink", "error"))
    kick_b_target: float = attrs.field(default=0.9, converter=float, validator=_unit)
    # "auto": write C(r), s(r) or rho(r) as a tabulated profile (the measured shells) when
    # its almost-exponential fit is poor, i.e. its chi^2 from the error bars has p-value
    # < p_value_warn; "never": always the almost-exponential fit.
    tabulate_profiles: str = attrs.field(default="auto", validator=_choice("auto", "never"))

    @property
    def fixed_dict(self) -> dict:
        return dict(self.fixed)

    def __attrs_post_init__(self):
        if self.phop_window % 2:
            raise ParameterError(f"measure option 'phop_window' must be even, got {self.phop_window}")
        if self.far_r <= self.kick_r_max:
            raise ParameterError(
                f"measure option 'far_r' ({self.far_r}) must exceed 'kick_r_max' ({self.kick_r_max}): "
                "the background is measured outside the kick's range")
