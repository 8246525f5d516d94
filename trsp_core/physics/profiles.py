"""Functional forms: radial profiles f(r) and temperature laws g(T).

A *radial profile* is what C(r), s(r) and rho(r) are made of: a callable
``f(r)`` on distances in sigma_AA (``r == 0`` is the same site, an exact lattice
distance). A profile may depend on temperature; ``f.at(T)`` returns the
temperature-independent profile at T (``f`` itself when it does not depend on T).

Built-in kinds (the TOML ``kind`` key; docs/functional-forms.md):

* ``almost-exponential``: f(0) = at_zero, f(r > 0) = amplitude exp(-r / length);
* ``damped-oscillation``: f(0) = at_zero, f(r > 0) = amplitude exp(-r / length)
  cos(2 pi r / wavelength + phase), the shape of a liquid's C(r);
* ``tabulated``: (r, value) shells, r[0] = 0 the on-site value, interpolated
  between shells (``linear``, ``log-linear`` or monotone cubic ``pchip``) and
  extrapolated beyond the last shell (``zero`` or ``exponential``);
* ``per-temperature``: one profile per measured temperature, blended linearly in
  1/T between neighbouring temperatures.

Every number of an analytic kind may be a *temperature law* instead of a number:
``{a = .., b = ..}`` is a + b/T, ``{T = [..], value = [..]}`` is tabulated and
linear in 1/T between the temperatures (outside them only with
``extrapolate = true``).

A third-party distribution adds a kind through the ``trsp_profile_kinds`` hook
(``{kind: class}``, the class a :class:`Profile` with ``from_spec``); the plugin
registry installs it here with :func:`register_kind`.
"""
from __future__ import annotations

import json
import math
from typing import Any, Callable, ClassVar

import attrs
import numpy as np

from trsp_core.errors import ParameterError

# --- strict spec helpers ------------------------------------------------------------


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def check_keys(spec: dict, where: str, required: tuple = (), optional: tuple = ()) -> None:
    """Unknown and missing keys of a spec table are errors naming the key."""
    if not isinstance(spec, dict):
        raise ParameterError(f"{where} must be a table, got {spec!r} ({type(spec).__name__})")
    known = ("kind", *required, *optional)
    unknown = sorted(set(spec) - set(known))
    if unknown:
        raise ParameterError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(known)}")
    missing = [k for k in required if k not in spec]
    if missing:
        raise ParameterError(f"{where}: missing key(s) {', '.join(missing)}")


def spec_number(spec: dict, key: str, where: str) -> float:
    v = spec[key]
    if not _is_number(v):
        raise ParameterError(f"{where}: '{key}' must be a number, got {v!r} ({type(v).__name__})")
    if not math.isfinite(float(v)):
        raise ParameterError(f"{where}: '{key}' must be finite, got {v!r}")
    return float(v)


def spec_numbers(spec: dict, key: str, where: str, min_len: int = 1) -> tuple[float, ...]:
    v = spec[key]
    if not isinstance(v, (list, tuple)) or not all(_is_number(x) for x in v):
        raise ParameterError(f"{where}: '{key}' must be an array of numbers, got {v!r}")
    if len(v) < min_len:
        raise ParameterError(f"{where}: '{key}' needs at least {min_len} entries, got {len(v)}")
    out = tuple(float(x) for x in v)
    if not all(math.isfinite(x) for x in out):
        raise ParameterError(f"{where}: '{key}' must be finite, got {list(v)!r}")
    return out


def spec_choice(spec: dict, key: str, where: str, choices: tuple, default: str) -> str:
    v = spec.get(key, default)
    if not isinstance(v, str) or v not in choices:
        raise ParameterError(f"{where}: '{key}' must be one of {', '.join(repr(c) for c in choices)}, got {v!r}")
    return v


def spec_bool(spec: dict, key: str, where: str, default: bool = False) -> bool:
    v = spec.get(key, default)
    if not isinstance(v, (bool, np.bool_)):
        raise ParameterError(f"{where}: '{key}' must be true or false (unquoted), got {v!r}")
    return bool(v)


# --- temperature laws ----------------------------------------------------------------


@attrs.frozen
class InverseT:
    """g(T) = a + b / T."""

    a: float = attrs.field(converter=float)
    b: float = attrs.field(converter=float)

    def __call__(self, T):
        if np.ndim(T):
            return self.a + self.b / np.asarray(T, dtype=float)
        return self.a + self.b / float(T)

    def to_spec(self) -> dict:
        return {"a": self.a, "b": self.b}

    def describe(self) -> str:
        return f"{self.a:g} + {self.b:g}/T"


def _tuple(v) -> tuple[float, ...]:
    return tuple(float(x) for x in v)


@attrs.frozen
class TableInT:
    """g(T) tabulated at temperatures T_i, linear in 1/T between them.

    Outside [min T_i, max T_i] it is an error unless ``extrapolate`` (then the
    end intervals continue linearly in 1/T). ``log = True`` interpolates ln g
    (g > 0), so that an Arrhenius prefactor is exact between the temperatures.
    """

    T: tuple = attrs.field(converter=_tuple)
    value: tuple = attrs.field(converter=_tuple)
    extrapolate: bool = attrs.field(default=False, converter=bool)
    log: bool = attrs.field(default=False, converter=bool)
    what: str = attrs.field(default="temperature law", eq=False, repr=False)

    def __attrs_post_init__(self):
        T, v = np.asarray(self.T), np.asarray(self.value)
        if T.size < 1 or T.size != v.size:
            raise ParameterError(f"{self.what}: T and value need the same (non-zero) length, got {T.size} and {v.size}")
        if not (np.all(np.isfinite(T)) and np.all(T > 0)):
            raise ParameterError(f"{self.what}: temperatures must be finite and > 0, got {list(self.T)}")
        if np.any(np.diff(T) <= 0):
            raise ParameterError(f"{self.what}: temperatures must be strictly increasing, got {list(self.T)}")
        if self.log and not np.all(v > 0):
            raise ParameterError(f"{self.what}: values must be > 0 (interpolated in ln), got {list(self.value)}")

    @property
    def T_range(self) -> tuple[float, float]:
        return self.T[0], self.T[-1]

    def weights(self, T: float) -> tuple[int, int, float]:
        """(i, j, w): g(T) = (1 - w) g_i + w g_j, linear in 1/T."""
        T = float(T)
        Ts = self.T
        if not (np.isfinite(T) and T > 0):
            raise ParameterError(f"{self.what}: temperature must be > 0, got {T!r}")
        for i, Ti in enumerate(Ts):
            if math.isclose(T, Ti, rel_tol=1e-12, abs_tol=0.0):
                return i, i, 0.0
        if len(Ts) == 1 or not (Ts[0] < T < Ts[-1]):
            if not self.extrapolate or len(Ts) == 1:
                raise ParameterError(
                    f"{self.what} is tabulated for T in [{Ts[0]:g}, {Ts[-1]:g}]; T = {T:g} is outside"
                    + ("" if len(Ts) == 1 else " (set extrapolate = true to continue it linearly in 1/T)"))
            i = 0 if T < Ts[0] else len(Ts) - 2
        else:
            i = int(np.searchsorted(Ts, T)) - 1
        j = i + 1
        x, xi, xj = 1.0 / T, 1.0 / Ts[i], 1.0 / Ts[j]
        return i, j, (x - xi) / (xj - xi)

    def _one(self, T: float) -> float:
        i, j, w = self.weights(T)
        v = np.log(self.value) if self.log else np.asarray(self.value)
        y = v[i] if i == j else (1.0 - w) * v[i] + w * v[j]
        return float(np.exp(y)) if self.log else float(y)

    def __call__(self, T):
        if np.ndim(T):
            return np.array([self._one(t) for t in np.ravel(T)]).reshape(np.shape(T))
        return self._one(T)

    def to_spec(self) -> dict:
        out = {"T": list(self.T), "value": list(self.value)}
        if self.extrapolate:
            out["extrapolate"] = True
        return out

    def describe(self) -> str:
        return f"tabulated at {len(self.T)} temperatures in [{self.T[0]:g}, {self.T[-1]:g}]"


def law_from_spec(spec, where: str) -> TableInT | InverseT:
    """{a, b} -> a + b/T; {T, value[, extrapolate]} -> tabulated in 1/T."""
    if isinstance(spec, (InverseT, TableInT)):
        return spec
    if not isinstance(spec, dict):
        raise ParameterError(f"{where} must be a number or a temperature law ({{a, b}} or {{T, value}}), got {spec!r}")
    if "T" in spec or "value" in spec:
        check_keys(spec, where, ("T", "value"), ("extrapolate",))
        return TableInT(spec_numbers(spec, "T", where), spec_numbers(spec, "value", where),
                        spec_bool(spec, "extrapolate", where), what=where)
    check_keys(spec, where, ("a", "b"))
    return InverseT(spec_number(spec, "a", where), spec_number(spec, "b", where))


def _number_or_law(v):
    if isinstance(v, (InverseT, TableInT)):
        return v
    if isinstance(v, dict):
        return law_from_spec(v, "temperature law")
    if isinstance(v, (bool, np.bool_)) or not _is_number(v):
        raise ParameterError(f"a profile parameter must be a number or a temperature law, got {v!r}")
    return float(v)


def _at(v, T):
    return float(v(T)) if callable(v) else v


def _spec_value(v):
    return v.to_spec() if hasattr(v, "to_spec") else v


def _fmt(v) -> str:
    return v.describe() if hasattr(v, "describe") else f"{v:g}"


# --- profiles ------------------------------------------------------------------------


class Profile:
    """A radial profile f(r). Subclasses set ``kind`` and implement ``from_spec``,
    ``to_spec`` and ``__call__``; temperature-dependent ones also ``at``."""

    kind: ClassVar[str] = ""

    @classmethod
    def from_spec(cls, spec: dict, where: str) -> "Profile":  # pragma: no cover - interface
        raise NotImplementedError

    def to_spec(self) -> dict:  # pragma: no cover - interface
        raise NotImplementedError

    def __call__(self, r) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    @property
    def temperature_dependent(self) -> bool:
        return False

    def at(self, T: float) -> "Profile":
        return self

    def describe(self) -> str:
        return self.kind


def _positive_if_number(name):
    def check(inst, attr, value):
        if isinstance(value, float) and not value > 0:
            raise ParameterError(f"profile parameter '{name}' must be > 0, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ParameterError(f"profile parameter '{name}' must be finite, got {value!r}")
    return check


def _finite_if_number(name):
    def check(inst, attr, value):
        if isinstance(value, float) and not math.isfinite(value):
            raise ParameterError(f"profile parameter '{name}' must be finite, got {value!r}")
    return check


def _param(name, positive=False, **kw):
    return attrs.field(converter=_number_or_law,
                       validator=_positive_if_number(name) if positive else _finite_if_number(name), **kw)


class _Analytic(Profile):
    """Shared machinery of the analytic kinds: numbers or temperature laws per parameter."""

    REQUIRED: ClassVar[tuple] = ()
    OPTIONAL: ClassVar[dict] = {}

    @classmethod
    def from_spec(cls, spec, where):
        check_keys(spec, where, cls.REQUIRED, tuple(cls.OPTIONAL))
        values = {}
        for k in (*cls.REQUIRED, *cls.OPTIONAL):
            if k not in spec:
                continue
            v = spec[k]
            values[k] = law_from_spec(v, f"{where}: '{k}'") if isinstance(v, dict) else spec_number(spec, k, where)
        return cls(**values)

    def _values(self) -> dict:
        return {f.name: getattr(self, f.name) for f in attrs.fields(type(self))}

    def to_spec(self):
        return {"kind": self.kind, **{k: _spec_value(v) for k, v in self._values().items()}}

    @property
    def temperature_dependent(self):
        return any(callable(v) for v in self._values().values())

    def at(self, T):
        if not self.temperature_dependent:
            return self
        return type(self)(**{k: _at(v, T) for k, v in self._values().items()})

    def _numbers(self) -> dict:
        vals = self._values()
        if any(callable(v) for v in vals.values()):
            raise ParameterError(f"the {self.kind} profile depends on temperature ({self.describe()}): "
                                 "evaluate it with .at(T) first")
        return vals

    def describe(self):
        return f"{self.kind}(" + ", ".join(f"{k}={_fmt(v)}" for k, v in self._values().items()) + ")"


@attrs.frozen
class AlmostExponential(_Analytic):
    """f(0) = at_zero, f(r > 0) = amplitude * exp(-r / length)."""

    kind: ClassVar[str] = "almost-exponential"
    REQUIRED: ClassVar[tuple] = ("at_zero", "amplitude", "length")

    at_zero: float = _param("at_zero")
    amplitude: float = _param("amplitude")
    length: float = _param("length", positive=True)

    def __call__(self, r):
        v = self._numbers()
        r = np.asarray(r, dtype=float)
        # r == 0 is an exact lattice distance (same site), never a rounding result.
        return np.where(r == 0.0, v["at_zero"], v["amplitude"] * np.exp(-r / v["length"]))


@attrs.frozen
class DampedOscillation(_Analytic):
    """f(0) = at_zero, f(r > 0) = amplitude exp(-r/length) cos(2 pi r / wavelength + phase)."""

    kind: ClassVar[str] = "damped-oscillation"
    REQUIRED: ClassVar[tuple] = ("at_zero", "amplitude", "length", "wavelength")
    OPTIONAL: ClassVar[dict] = {"phase": 0.0}

    at_zero: float = _param("at_zero")
    amplitude: float = _param("amplitude")
    length: float = _param("length", positive=True)
    wavelength: float = _param("wavelength", positive=True)
    phase: float = _param("phase", default=0.0)

    def __call__(self, r):
        v = self._numbers()
        r = np.asarray(r, dtype=float)
        osc = np.cos(2.0 * np.pi * r / v["wavelength"] + v["phase"])
        return np.where(r == 0.0, v["at_zero"], v["amplitude"] * np.exp(-r / v["length"]) * osc)


INTERPOLATIONS = ("linear", "log-linear", "pchip")
EXTRAPOLATIONS = ("zero", "exponential")


@attrs.frozen
class Tabulated(Profile):
    """(r, value) shells: r[0] = 0 is the on-site value; the shells r[1:] are interpolated.

    * between shells: ``linear`` (default), ``log-linear`` (linear in ln|f|: exact for
      an exponential; all shells of one sign) or ``pchip`` (monotone cubic, scipy's
      PchipInterpolator: no overshoot between shells);
    * 0 < r < r[1]: the first interval's interpolant, continued;
    * r > r[-1]: ``zero`` (default) or ``exponential``: f(r[-1]) exp(-(r - r[-1]) / l)
      with l from the last two shells, l = (r[-1] - r[-2]) / ln(f[-2] / f[-1]).
    """

    kind: ClassVar[str] = "tabulated"

    r: tuple = attrs.field(converter=_tuple)
    value: tuple = attrs.field(converter=_tuple)
    interpolation: str = attrs.field(default="linear")
    extrapolate: str = attrs.field(default="zero")

    def __attrs_post_init__(self):
        r, v = np.asarray(self.r), np.asarray(self.value)
        if r.size != v.size:
            raise ParameterError(f"tabulated profile: r and value differ in length ({r.size} and {v.size})")
        if r.size < 3:
            raise ParameterError(f"tabulated profile needs r = 0 and at least two shells, got {r.size} points")
        if not (np.all(np.isfinite(r)) and np.all(np.isfinite(v))):
            raise ParameterError("tabulated profile: r and value must be finite")
        if r[0] != 0.0:
            raise ParameterError(f"tabulated profile: r[0] must be 0 (the on-site value), got {r[0]!r}")
        if np.any(np.diff(r) <= 0):
            raise ParameterError(f"tabulated profile: r must be strictly increasing, got {list(self.r)}")
        if self.interpolation not in INTERPOLATIONS:
            raise ParameterError(f"tabulated profile: interpolation must be one of {', '.join(INTERPOLATIONS)}, "
                                 f"got {self.interpolation!r}")
        if self.extrapolate not in EXTRAPOLATIONS:
            raise ParameterError(f"tabulated profile: extrapolate must be one of {', '.join(EXTRAPOLATIONS)}, "
                                 f"got {self.extrapolate!r}")
        shells = v[1:]
        if self.interpolation == "log-linear" and not (np.all(shells > 0) or np.all(shells < 0)):
            raise ParameterError("tabulated profile: log-linear interpolation needs every shell (r > 0) non-zero "
                                 "and of one sign")
        if self.extrapolate == "exponential" and not (v[-2] * v[-1] > 0 and abs(v[-2]) > abs(v[-1])):
            raise ParameterError(f"tabulated profile: exponential extrapolation needs the last two shells of one "
                                 f"sign and decaying, got {v[-2]:g}, {v[-1]:g}; use extrapolate = 'zero'")

    @classmethod
    def from_spec(cls, spec, where):
        check_keys(spec, where, ("r", "value"), ("interpolation", "extrapolate"))
        try:
            return cls(spec_numbers(spec, "r", where, 3), spec_numbers(spec, "value", where, 3),
                       spec_choice(spec, "interpolation", where, INTERPOLATIONS, "linear"),
                       spec_choice(spec, "extrapolate", where, EXTRAPOLATIONS, "zero"))
        except ParameterError as exc:
            raise ParameterError(f"{where}: {exc}") from None

    def to_spec(self):
        return {"kind": self.kind, "r": list(self.r), "value": list(self.value),
                "interpolation": self.interpolation, "extrapolate": self.extrapolate}

    def describe(self):
        return (f"tabulated({len(self.r) - 1} shells up to r = {self.r[-1]:g}, {self.interpolation}, "
                f"extrapolate {self.extrapolate})")

    def _inside(self, x: np.ndarray) -> np.ndarray:
        rs, vs = np.asarray(self.r[1:]), np.asarray(self.value[1:])
        if self.interpolation == "pchip":
            from scipy.interpolate import PchipInterpolator

            return PchipInterpolator(rs, vs, extrapolate=True)(x)
        sign = 1.0
        if self.interpolation == "log-linear":
            sign = float(np.sign(vs[0]))
            vs = np.log(np.abs(vs))
        # piecewise linear, the end intervals continued (np.interp would clamp)
        k = np.clip(np.searchsorted(rs, x, side="right") - 1, 0, rs.size - 2)
        t = (x - rs[k]) / (rs[k + 1] - rs[k])
        y = vs[k] + t * (vs[k + 1] - vs[k])
        # exactly on a shell: its value (no rounding from the interval formula)
        on = np.searchsorted(rs, x)
        hit = (on < rs.size) & (rs[np.minimum(on, rs.size - 1)] == x)
        y = np.where(hit, vs[np.minimum(on, rs.size - 1)], y)
        return sign * np.exp(y) if self.interpolation == "log-linear" else y

    def __call__(self, r):
        r = np.asarray(r, dtype=float)
        rl, vl = self.r[-1], self.value[-1]
        # r = 0 (the on-site value) and r > r[-1] (the tail) are replaced below
        out = self._inside(np.where(r > 0, np.minimum(r, rl), self.r[1]))
        if self.extrapolate == "exponential":
            ell = (rl - self.r[-2]) / math.log(self.value[-2] / vl)
            tail = vl * np.exp(-(r - rl) / ell)
        else:
            tail = np.zeros_like(r)
        out = np.where(r > rl, tail, out)
        return np.where(r == 0.0, self.value[0], out)


@attrs.frozen
class Blend(Profile):
    """sum_k w_k f_k(r): a per-temperature profile between two of its temperatures."""

    kind: ClassVar[str] = "blend"
    weights: tuple = attrs.field(converter=_tuple)
    profiles: tuple = attrs.field(converter=tuple)

    def __call__(self, r):
        return sum(w * p(r) for w, p in zip(self.weights, self.profiles))

    def to_spec(self):
        raise ParameterError("a blend of per-temperature profiles is not stored: store the per-temperature profile")

    def describe(self):
        return " + ".join(f"{w:.4g} x {p.describe()}" for w, p in zip(self.weights, self.profiles))


@attrs.frozen
class PerTemperature(Profile):
    """One profile per temperature T_i; at T between two of them the blend
    (1 - w) f_i + w f_j with w linear in 1/T (a convex combination: positive
    definiteness at both neighbours carries over). Outside [T_1, T_n] an error
    unless ``extrapolate``."""

    kind: ClassVar[str] = "per-temperature"
    T: tuple = attrs.field(converter=_tuple)
    profiles: tuple = attrs.field(converter=tuple)
    extrapolate: bool = attrs.field(default=False, converter=bool)

    def __attrs_post_init__(self):
        if len(self.T) != len(self.profiles):
            raise ParameterError(f"per-temperature profile: {len(self.T)} temperatures but {len(self.profiles)} profiles")
        for p in self.profiles:
            if not isinstance(p, Profile) or p.temperature_dependent:
                raise ParameterError("per-temperature profile: each entry must be a temperature-independent profile")
        TableInT(self.T, [0.0] * len(self.T), what="per-temperature profile")  # validates T

    @classmethod
    def from_spec(cls, spec, where):
        check_keys(spec, where, ("T", "profiles"), ("extrapolate",))
        T = spec_numbers(spec, "T", where)
        profs = spec["profiles"]
        if not isinstance(profs, (list, tuple)):
            raise ParameterError(f"{where}: 'profiles' must be an array of profile tables, got {profs!r}")
        profiles = tuple(profile_from_spec(s, f"{where}: profiles[{i}]") for i, s in enumerate(profs))
        try:
            return cls(T, profiles, spec_bool(spec, "extrapolate", where))
        except ParameterError as exc:
            raise ParameterError(f"{where}: {exc}") from None

    def to_spec(self):
        out = {"kind": self.kind, "T": list(self.T), "profiles": [p.to_spec() for p in self.profiles]}
        if self.extrapolate:
            out["extrapolate"] = True
        return out

    @property
    def temperature_dependent(self):
        return True

    def at(self, T):
        i, j, w = TableInT(self.T, [0.0] * len(self.T), self.extrapolate, what="per-temperature profile").weights(T)
        return self.profiles[i] if i == j else Blend((1.0 - w, w), (self.profiles[i], self.profiles[j]))

    def __call__(self, r):
        raise ParameterError("a per-temperature profile depends on temperature: evaluate it with .at(T) first")

    def describe(self):
        return f"per-temperature({len(self.T)} profiles, T in [{self.T[0]:g}, {self.T[-1]:g}])"


# --- the kind table ------------------------------------------------------------------

_BUILTIN = {cls.kind: cls for cls in (AlmostExponential, DampedOscillation, Tabulated, PerTemperature)}
_KINDS: dict[str, type] = dict(_BUILTIN)
#: callables that install plugin kinds (the plugin registry adds one); run on an unknown kind
_KIND_SOURCES: list[Callable[[], Any]] = []


def builtin_kinds() -> dict[str, type]:
    return dict(_BUILTIN)


def kind_names() -> list[str]:
    return sorted(_KINDS)


def register_kind(name: str, cls) -> None:
    """Install a profile kind (the registry calls this for ``trsp_profile_kinds``)."""
    if not callable(getattr(cls, "from_spec", None)):
        raise ParameterError(f"profile kind {name!r} must offer from_spec(spec, where)")
    if name in _KINDS and _KINDS[name] is not cls:
        raise ParameterError(f"profile kind '{name}' is already taken by {_KINDS[name].__module__}.{_KINDS[name].__name__}")
    _KINDS[name] = cls


def unregister_kind(name: str) -> None:
    if name in _BUILTIN:
        raise ParameterError(f"built-in profile kind '{name}' cannot be removed")
    _KINDS.pop(name, None)


def add_kind_source(source: Callable[[], Any]) -> None:
    if source not in _KIND_SOURCES:
        _KIND_SOURCES.append(source)


def kind(name: str):
    if name not in _KINDS:
        for source in list(_KIND_SOURCES):
            source()
    if name not in _KINDS:
        raise ParameterError(f"unknown profile kind '{name}'; known: {', '.join(kind_names())}")
    return _KINDS[name]


def profile_from_spec(spec, where: str = "profile") -> Profile:
    """A profile from its table (``kind`` plus the kind's keys), strictly validated."""
    if not isinstance(spec, dict):
        raise ParameterError(f"{where} must be a table with a 'kind' key, got {spec!r}")
    if "kind" not in spec:
        raise ParameterError(f"{where}: missing key 'kind' (one of: {', '.join(kind_names())})")
    k = spec["kind"]
    if not isinstance(k, str):
        raise ParameterError(f"{where}: 'kind' must be a string, got {k!r}")
    try:
        cls = kind(k)
    except ParameterError as exc:
        raise ParameterError(f"{where}: {exc}") from None
    prof = cls.from_spec(dict(spec), where)
    return prof


def as_profile(value, where: str = "profile") -> Profile | None:
    """None, a Profile, its spec table, or the spec as JSON text -> a Profile (or None)."""
    if value is None or isinstance(value, Profile):
        return value
    if isinstance(value, str):
        if value in ("", "none"):
            return None
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ParameterError(f"{where}: not a profile table or its JSON text: {value[:60]!r}") from None
    if callable(value) and not isinstance(value, dict):
        return value  # a duck-typed profile from a plugin
    return profile_from_spec(value, where)


def is_temperature_dependent(prof) -> bool:
    return bool(getattr(prof, "temperature_dependent", False))
