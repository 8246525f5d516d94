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
"""
from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from trsp_core.errors import InputFileError, ParameterError
from trsp_core.validators import parameter


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


@attrs.frozen
class AlmostExponential:
    """f(0) = at_zero, f(r > 0) = amplitude * exp(-r / length)."""

    at_zero: float = _float()
    amplitude: float = _float()
    length: float = _float(validator=_positive)

    def __call__(self, r):
        r = np.asarray(r, dtype=float)
        # r == 0 is an exact lattice distance (same site), never a rounding result.
        return np.where(r == 0.0, self.at_zero, self.amplitude * np.exp(-r / self.length))


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

    @property
    def correlation(self) -> AlmostExponential:
        return AlmostExponential(self.C0, self.C1, self.xi)

    @property
    def kick_std(self) -> AlmostExponential:
        return AlmostExponential(self.s0, self.s1, self.xi_s)

    @property
    def kick_correlation(self) -> AlmostExponential:
        return AlmostExponential(1.0, self.p1, self.xi_rho)

    @property
    def sigma2(self) -> float:
        return self.C0

    def mu(self, T: float) -> float:
        return self.mu_a + self.mu_b / T

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    def evolve(self, **changes) -> "DescriptorParams":
        return attrs.evolve(self, **changes)


# TOML layout: optional sections group the flat fields for readability.
_SECTIONS = {
    "structure": ("a", "mu_a", "mu_b", "C0", "C1", "xi"),
    "rates": ("e0", "e1", "e2", "Sigma0", "T0", "d"),
    "kicks": ("s0", "s1", "xi_s", "p1", "xi_rho", "r_cut", "reset"),
    "time": ("frame_dt",),
}
_FIELDS = {f.name for f in attrs.fields(DescriptorParams)}


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
    else:
        ok, want = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)), "a number"
    return None if ok else f"parameter '{key}' must be {want}, got {value!r} ({type(value).__name__})"


def _check_type(key: str, value, source: str) -> None:
    why = type_error(key, value)
    if why:
        raise InputFileError(f"{source}: {why}")


def _flatten(doc: dict, source: str) -> dict:
    """The file's keys, flat; each in its own section (or at top level), typed as its field."""
    flat: dict[str, Any] = {}
    where: dict[str, str] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
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
                flat[k], where[k] = v, f"[{key}]"
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
        _check_type(k, v, source)
    return flat


def missing_params(path: str | Path) -> list[str]:
    """The model parameters (all fields but the labels) that the file ``path`` does not set."""
    return sorted(_FIELDS - set(_LABELS) - set(_flatten(_load_toml(Path(path)), str(path))))


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
        return attrs.evolve(base, **flat)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ParameterError):
            raise ParameterError(f"{path}: {exc}") from None
        raise InputFileError(f"{path}: bad value: {exc}") from None


def params_to_toml(p: DescriptorParams) -> str:
    """TOML text for ``p`` (tomllib reads it back to the same object)."""

    def fmt(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return repr(float(v)) if math.isfinite(v) else ("inf" if v > 0 else "-inf")

    lines = ["[descriptor]", f"name = {fmt(p.name)}", f"description = {fmt(p.description)}", ""]
    for section, keys in _SECTIONS.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {fmt(getattr(p, k))}" for k in keys]
        lines.append("")
    return "\n".join(lines)


def write_params_toml(p: DescriptorParams, path: str | Path) -> None:
    from trsp_core.io.atomic import atomic_write_text

    atomic_write_text(Path(path), params_to_toml(p))
