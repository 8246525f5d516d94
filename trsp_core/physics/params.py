"""Frozen, validated parameter sets and their TOML round trip.

A descriptor is characterised by three groups of numbers, all in the MD's
units (lengths in sigma_AA, times in MD frames):

* statics:  mu(T) = mu_a + mu_b / T and the "almost exponential" correlation
  C(0) = C0, C(r > 0) = C1 exp(-r / xi);
* rates:    the observed per-site, per-frame probability
  P(R|S) = exp(Sigma(S) - DeltaE(S)/T) with quadratic DeltaE and Sigma that
  share e1, e2 and an onset temperature T0; a rearrangement lasts d frames;
* kicks:    the softness change around a rearrangement, s(r) (std) and
  rho(r) (correlation), both almost exponential, cut beyond r_cut;
* time:     frame_dt, the MD time per model frame (to compare with the MD).

Each of C(r), s(r) and rho(r) may instead be any radial profile
(``C_profile``, ``s_profile``, ``rho_profile``; trsp_core.physics.profiles), mu(T)
a table (``mu_table``) and the observed rate law a per-temperature table
(``rate_table``, used by the ``per-temperature`` rate law). Profiles may depend on
T: ``params.at(T)`` pins the temperature at which they are evaluated, and the
Model does that once (docs/functional-forms.md).
"""
from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from trsp_core.errors import InputFileError, ParameterError
from trsp_core.physics import profiles as _profiles
from trsp_core.physics.profiles import AlmostExponential, Profile, TableInT
from trsp_core.physics.rates import RateTable
from trsp_core.validators import parameter

__all__ = ["AlmostExponential", "DescriptorParams", "Profile", "params_to_toml", "read_params_toml",
           "write_params_toml", "missing_params", "type_error"]


_finite = parameter.finite
_positive = parameter.positive
_non_negative = parameter.non_negative


def _float(**kw):
    return attrs.field(converter=float, **kw)


def _strict_bool(value) -> bool:
    # bool("false") is True: only a real boolean says what it means
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ParameterError(f"parameter 'reset' must be true or false, got {value!r}")


def _profile_field(what: str):
    return attrs.field(default=None, converter=lambda v: _profiles.as_profile(v, what), eq=True)


def _mu_table(v):
    if v is None or isinstance(v, TableInT):
        return v
    if isinstance(v, str):
        if v in ("", "none"):
            return None
        v = json.loads(v)
    if isinstance(v, dict):
        law = _profiles.law_from_spec(v, "mu_table")
        if not isinstance(law, TableInT):
            raise ParameterError("mu_table must be {T = [...], value = [...]} (a + b/T is mu_a, mu_b)")
        return law
    raise ParameterError(f"mu_table must be a table {{T = [...], value = [...]}}, got {v!r}")


def _rate_table(v):
    if v is None or isinstance(v, RateTable):
        return v
    if isinstance(v, str):
        if v in ("", "none"):
            return None
        v = json.loads(v)
    if isinstance(v, dict):
        return RateTable.from_spec(v, "rate_table")
    raise ParameterError(f"rate_table must be a table {{T, A, gamma, delta[, d]}}, got {v!r}")


def _resolved_at(v):
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ParameterError(f"parameter 'resolved_at' must be a temperature or None, got {v!r}")
    if not (math.isfinite(v) and v > 0):
        raise ParameterError(f"parameter 'resolved_at' must be a temperature > 0, got {v!r}")
    return float(v)


#: the flat keys each form replaces (a file or override may not set both)
REPLACES = {
    "C_profile": ("C0", "C1", "xi"),
    "s_profile": ("s0", "s1", "xi_s"),
    "rho_profile": ("p1", "xi_rho"),
    "mu_table": ("mu_a", "mu_b"),
}
#: the optional functional-form fields (none of them is required in a file)
FORM_FIELDS = ("C_profile", "s_profile", "rho_profile", "mu_table", "rate_table")


@attrs.frozen(kw_only=True)
class DescriptorParams:
    """All numbers that define a Gaussian, Arrhenius descriptor and its kicks."""

    name: str = attrs.field(default="custom", converter=str)
    description: str = attrs.field(default="", converter=str)
    # Lattice spacing in sigma_AA (the paper: first peak of g_AA(r)).
    a: float = _float(default=1.10, validator=_positive)
    # Statics.
    mu_a: float = _float(default=1.2, validator=_finite)
    mu_b: float = _float(default=-1.0, validator=_finite)
    C0: float = _float(default=1.0, validator=_positive)
    C1: float = _float(default=1.2, validator=_finite)
    xi: float = _float(default=1.0, validator=_positive)
    # Rate law.
    # e0 = 4, Sigma0 = 3.85: see docs/model.md "Default parameters" (steeper than
    # MODEL.md's 3.0 / 2.5, same rate at the onset T0; e0 and Sigma0 only set A(T)).
    e0: float = _float(default=4.0, validator=_finite)
    e1: float = _float(default=-1.0, validator=_finite)
    e2: float = _float(default=0.03, validator=_finite)
    Sigma0: float = _float(default=3.85, validator=_finite)
    T0: float = _float(default=0.74, validator=_positive)
    d: float = _float(default=4.0, validator=_positive)
    # Kicks.
    s0: float = _float(default=0.6, validator=_non_negative)
    s1: float = _float(default=0.8, validator=_non_negative)
    xi_s: float = _float(default=1.0, validator=_positive)
    p1: float = _float(default=0.8, validator=_finite)
    xi_rho: float = _float(default=0.8, validator=_positive)
    # s(r) = 0 beyond r_cut (sigma units): the locality that makes the fast
    # kernel possible. It is part of the model, used by every simulator.
    r_cut: float = _float(default=3.3, validator=_positive)
    # reset = True: the rearranging site is redrawn from its conditioned law
    # (s(0)^2 = K'_00, s(r > 0) = 0), i.e. the trap-model kick.
    reset: bool = attrs.field(default=False, converter=_strict_bool)
    # MD time between two model frames, in the MD's own unit (tau for LJ): the
    # model runs in frames (P(R|S) is a probability per frame, d is in frames);
    # `trsp measure` stores its data's frame spacing here so that every model
    # output can be put on the MD's time axis (t_MD = t_frames x frame_dt).
    frame_dt: float = _float(default=1.0, validator=_positive)
    # Functional forms (None: the almost-exponential / a + b/T / onset forms above).
    C_profile: Profile | None = _profile_field("C_profile")
    s_profile: Profile | None = _profile_field("s_profile")
    rho_profile: Profile | None = _profile_field("rho_profile")
    mu_table: TableInT | None = attrs.field(default=None, converter=_mu_table)
    rate_table: RateTable | None = attrs.field(default=None, converter=_rate_table)
    # The temperature at which temperature-dependent profiles are evaluated (set by
    # at(T); None for forms that do not depend on T).
    resolved_at: float | None = attrs.field(default=None, converter=_resolved_at)

    def __attrs_post_init__(self):
        # The flat numbers the rest of trsp reads (C0 as the variance, s0) follow the profile.
        if self.C_profile is not None and self._resolvable(self.C_profile):
            c0 = float(self.correlation(0.0))
            if not (math.isfinite(c0) and c0 > 0):
                raise ParameterError(f"C_profile: C(0) (the variance) must be > 0, got {c0:g}")
            object.__setattr__(self, "C0", c0)
        if self.s_profile is not None and self._resolvable(self.s_profile):
            s0 = float(self.kick_std(0.0))
            if not (math.isfinite(s0) and s0 >= 0):
                raise ParameterError(f"s_profile: s(0) must be >= 0, got {s0:g}")
            object.__setattr__(self, "s0", s0)
        if self.rho_profile is not None and self._resolvable(self.rho_profile):
            r0 = float(self.kick_correlation(0.0))
            if abs(r0 - 1.0) > 1e-12:
                raise ParameterError(f"rho_profile: rho(0) must be 1 (a correlation), got {r0:.15g}")

    def _resolvable(self, prof) -> bool:
        return self.resolved_at is not None or not _profiles.is_temperature_dependent(prof)

    def _form(self, prof, what: str):
        if _profiles.is_temperature_dependent(prof):
            if self.resolved_at is None:
                raise ParameterError(f"{what} depends on temperature ({prof.describe()}): use params.at(T)")
            return prof.at(self.resolved_at)
        return prof

    @property
    def temperature_dependent(self) -> bool:
        """Whether a radial profile depends on T (mu(T) always does, through mu(T))."""
        return any(_profiles.is_temperature_dependent(getattr(self, f)) for f in ("C_profile", "s_profile",
                                                                                   "rho_profile"))

    def at(self, T: float) -> "DescriptorParams":
        """The parameters with every temperature-dependent profile evaluated at T
        (``self`` when none depends on T)."""
        if not self.temperature_dependent:
            return self
        return attrs.evolve(self, resolved_at=float(T))

    @property
    def correlation(self):
        if self.C_profile is None:
            return AlmostExponential(self.C0, self.C1, self.xi)
        return self._form(self.C_profile, "C(r)")

    @property
    def kick_std(self):
        if self.s_profile is None:
            return AlmostExponential(self.s0, self.s1, self.xi_s)
        return self._form(self.s_profile, "s(r)")

    @property
    def kick_correlation(self):
        if self.rho_profile is None:
            return AlmostExponential(1.0, self.p1, self.xi_rho)
        return self._form(self.rho_profile, "rho(r)")

    def describe_form(self, which: str) -> str:
        """Text for error messages: the numbers of the almost-exponential form, or the profile."""
        field, keys = {"C": ("C_profile", ("C0", "C1", "xi")), "s": ("s_profile", ("s0", "s1", "xi_s")),
                       "rho": ("rho_profile", ("p1", "xi_rho"))}[which]
        prof = getattr(self, field)
        if prof is None:
            return ", ".join(f"{k}={getattr(self, k)}" for k in keys)
        at = f" at T={self.resolved_at:g}" if _profiles.is_temperature_dependent(prof) and self.resolved_at else ""
        return f"{field}={prof.describe()}{at}"

    @property
    def sigma2(self) -> float:
        return self.C0

    def mu(self, T: float) -> float:
        if self.mu_table is not None:
            return self.mu_table(T)
        return self.mu_a + self.mu_b / T

    def to_dict(self) -> dict[str, Any]:
        """Flat, JSON- and netCDF-safe: every form is its spec table as JSON text (or None);
        ``DescriptorParams(**p.to_dict()) == p``."""
        out = attrs.asdict(self, recurse=False)
        for f in FORM_FIELDS:
            v = out[f]
            out[f] = None if v is None else json.dumps(v.to_spec())
        return out

    def evolve(self, **changes) -> "DescriptorParams":
        new = attrs.evolve(self, **changes)
        for form, keys in REPLACES.items():
            clash = [k for k in keys if k in changes]
            if clash and getattr(new, form) is not None:
                raise ParameterError(f"parameter(s) {', '.join(clash)} do not apply: {form} is set "
                                     f"({getattr(new, form).describe()}); change {form} instead")
        return new


# TOML layout: optional sections group the flat fields for readability. The forms
# are sub-tables of their section ([structure.C_profile], [kicks.s_profile], ...).
_SECTIONS = {
    "structure": ("a", "mu_a", "mu_b", "C0", "C1", "xi", "C_profile", "mu_table"),
    "rates": ("e0", "e1", "e2", "Sigma0", "T0", "d", "rate_table"),
    "kicks": ("s0", "s1", "xi_s", "p1", "xi_rho", "r_cut", "reset", "s_profile", "rho_profile"),
    "time": ("frame_dt",),
}
#: fields a file may set (resolved_at is set by DescriptorParams.at, never by a file)
_FIELDS = {f.name for f in attrs.fields(DescriptorParams)} - {"resolved_at"}


_SECTION_OF = {k: sec for sec, keys in _SECTIONS.items() for k in keys}
#: [descriptor] holds the labels; every other key is a number except the bool reset
_LABELS = ("name", "description")


def type_error(key: str, value) -> str | None:
    """Why ``value`` has the wrong type for parameter ``key`` (None if it is right): the
    values attrs' converters would silently coerce (bool("false") is True, float(True) 1.0)."""
    if key in _LABELS:
        ok, want = isinstance(value, str), "a string"
    elif key == "reset":
        ok, want = isinstance(value, (bool, np.bool_)), "a boolean (true or false, unquoted)"
    elif key in FORM_FIELDS:
        ok, want = value is None or isinstance(value, (dict, str, Profile, TableInT, RateTable)) or callable(value), \
            "a table (see docs/functional-forms.md)"
    elif key == "resolved_at":
        ok, want = value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)), "a temperature"
    else:
        ok, want = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)), "a number"
    return None if ok else f"parameter '{key}' must be {want}, got {value!r} ({type(value).__name__})"


def _check_type(key: str, value, source: str) -> None:
    why = type_error(key, value)
    if why:
        raise InputFileError(f"{source}: {why}")


_FORM_PARSERS = {
    "C_profile": lambda v, w: _profiles.profile_from_spec(v, w),
    "s_profile": lambda v, w: _profiles.profile_from_spec(v, w),
    "rho_profile": lambda v, w: _profiles.profile_from_spec(v, w),
    "mu_table": lambda v, w: _mu_table_spec(v, w),
    "rate_table": lambda v, w: RateTable.from_spec(v, w),
}


def _mu_table_spec(v, where):
    if not isinstance(v, dict):
        raise ParameterError(f"{where} must be a table {{T = [...], value = [...]}}, got {v!r}")
    _profiles.check_keys(v, where, ("T", "value"), ("extrapolate",))
    if "kind" in v:
        raise ParameterError(f"{where}: unknown key(s) kind; known: T, value, extrapolate")
    return _profiles.law_from_spec(v, where)


def _flatten(doc: dict, source: str) -> dict:
    """The file's keys, flat; each in its own section (or at top level), typed as its field."""
    flat: dict[str, Any] = {}
    where: dict[str, str] = {}
    for key, value in doc.items():
        if isinstance(value, dict) and key not in FORM_FIELDS:
            if key not in _SECTIONS and key != "descriptor":
                raise InputFileError(
                    f"{source}: unknown section [{key}]; known sections: "
                    f"{', '.join(['descriptor', *_SECTIONS])}"
                )
            allowed = _LABELS if key == "descriptor" else _SECTIONS[key]
            for k, v in value.items():
                if k in _FIELDS and k not in allowed:
                    home = _SECTION_OF.get(k, "descriptor")
                    raise InputFileError(f"{source}: parameter '{k}' is in section [{key}]; it belongs in [{home}]")
                if k in where:
                    raise InputFileError(f"{source}: parameter '{k}' is set twice ({where[k]} and [{key}])")
                flat[k], where[k] = v, f"[{key}.{k}]" if k in FORM_FIELDS else f"[{key}]"
        else:
            if key in where:
                raise InputFileError(f"{source}: parameter '{key}' is set twice ({where[key]} and top level)")
            flat[key], where[key] = value, "top level"
    unknown = sorted(set(flat) - _FIELDS)
    if unknown:
        raise InputFileError(
            f"{source}: unknown parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(_FIELDS))}"
        )
    for k, v in flat.items():
        if k in FORM_FIELDS:
            if not isinstance(v, dict):
                raise InputFileError(f"{source}: parameter '{k}' must be a table ([{_SECTION_OF[k]}.{k}] or an "
                                     f"inline table), got {v!r} ({type(v).__name__})")
            try:
                flat[k] = _FORM_PARSERS[k](v, f"{source}: {where[k]}" if where[k] != "top level" else f"{source}: {k}")
            except ParameterError as exc:
                raise InputFileError(str(exc)) from None
        else:
            _check_type(k, v, source)
    for form, keys in REPLACES.items():
        clash = [k for k in keys if k in flat]
        if form in flat and clash:
            raise InputFileError(f"{source}: {form} replaces {', '.join(keys)}; remove {', '.join(clash)} "
                                 f"(the file sets both)")
    return flat


def missing_params(path: str | Path) -> list[str]:
    """The model parameters that the file ``path`` does not set: every field but the
    labels and the optional forms, less the flat keys a form the file gives replaces."""
    flat = _flatten(_load_toml(Path(path)), str(path))
    replaced = {k for form, keys in REPLACES.items() if form in flat for k in keys}
    return sorted(_FIELDS - set(_LABELS) - set(FORM_FIELDS) - replaced - set(flat))


def _load_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise InputFileError(f"parameter file {path} does not exist") from None
    except IsADirectoryError:
        raise InputFileError(f"parameter file {path} is a directory") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputFileError(f"parameter file {path} is not readable TOML: {exc}") from None


def read_params_toml(path: str | Path, base: DescriptorParams | None = None) -> DescriptorParams:
    """Read a parameter file; keys it sets override ``base`` (default: the built-in defaults)."""
    path = Path(path)
    flat = _flatten(_load_toml(path), str(path))
    base = base if base is not None else DescriptorParams()
    try:
        return base.evolve(**flat)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ParameterError):
            raise ParameterError(f"{path}: {exc}") from None
        raise InputFileError(f"{path}: bad value: {exc}") from None


def _toml_value(v) -> str:
    """One TOML value on one line (inline tables and arrays for nested specs)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    v = float(v)
    return repr(v) if math.isfinite(v) else ("inf" if v > 0 else "-inf")


def params_to_toml(p: DescriptorParams) -> str:
    """TOML text for ``p`` (tomllib reads it back to the same object). A form is written
    as its own sub-table, and the flat keys it replaces are left out."""
    fmt = _toml_value
    lines = ["[descriptor]", f"name = {fmt(p.name)}", f"description = {fmt(p.description)}", ""]
    replaced = {k for form, keys in REPLACES.items() if getattr(p, form) is not None for k in keys}
    for section, keys in _SECTIONS.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {fmt(getattr(p, k))}" for k in keys if k not in FORM_FIELDS and k not in replaced]
        lines.append("")
        for k in keys:
            if k in FORM_FIELDS and getattr(p, k) is not None:
                lines.append(f"[{section}.{k}]")
                lines += [f"{kk} = {fmt(vv)}" for kk, vv in getattr(p, k).to_spec().items()]
                lines.append("")
    return "\n".join(lines)


def write_params_toml(p: DescriptorParams, path: str | Path) -> None:
    from trsp_core.io.atomic import atomic_write_text

    atomic_write_text(Path(path), params_to_toml(p))
