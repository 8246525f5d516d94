"""The machinery of computed descriptors (:class:`trsp_core.plugin.interfaces.ComputedDescriptor`).

A :class:`ComputedDescriptor` takes its parameters (a frozen attrs class,
``Params``) in the constructor and its data in :meth:`~ComputedDescriptor.compute`::

    q6 = Q6(Q6.Params(r_max=1.45))
    raw = q6.raw(traj)                       # (F, N) physical values, e.g. q6
    q6 = q6.fit(traj)                        # standardisation over these (training) frames
    s = q6.compute(traj)                     # (F, N) sign * (raw - mean) / std, per species

``frames`` is anything with ``positions`` (F, N, d) or (N, d), ``types`` (N,)
and an orthorhombic ``box`` (d,) -- a ``trsp_core.md.mdio.Trajectory``, or a
tuple ``(box, positions[, types])`` (see :func:`as_frames`).

The standardisation (zero mean, unit variance per species over the training
frames) and the orientation ``sign`` (+1: larger raw value = softer / more
mobile; -1: the opposite) are part of the descriptor: :meth:`to_dict` /
:func:`save_descriptor` store them with the parameters and the library
versions, :func:`load_descriptor` rebuilds the descriptor through the registry.

Registered through the ``trsp_structural_descriptors`` hook as ``{name: factory}``;
``factory(params)`` (``params``: a ``Params`` instance, a mapping of field
values -- strings are converted -- or None for the defaults) returns the
descriptor. The class itself is the usual factory.
"""
from __future__ import annotations

import json
import math
from importlib import metadata
from pathlib import Path
from typing import Mapping, Sequence

import attrs
import numpy as np

from trsp_core.errors import InputFileError, ParameterError

FORMAT = "trsp-computed-descriptor"
FORMAT_VERSION = 1


# ------------------------------------------------------------------ frames
@attrs.frozen(eq=False)
class Frames:
    """F frames of N particles in an orthorhombic periodic box (the input of ``compute``)."""

    positions: np.ndarray   # (F, N, d)
    types: np.ndarray       # (N,)
    box: np.ndarray         # (d,)

    @property
    def n_frames(self) -> int:
        return self.positions.shape[0]

    @property
    def n_particles(self) -> int:
        return self.positions.shape[1]

    @property
    def dim(self) -> int:
        return self.positions.shape[2]


def as_frames(system) -> Frames:
    """Coerce a trajectory-like object or a ``(box, positions[, types])`` tuple to :class:`Frames`.

    Missing types are all 0. A single frame (N, d) becomes one frame.
    """
    if isinstance(system, Frames):
        return system
    if isinstance(system, tuple):
        if len(system) not in (2, 3):
            raise ParameterError("parameter 'frames' as a tuple must be (box, positions) or (box, positions, types)")
        box, pos = system[0], system[1]
        types = system[2] if len(system) == 3 else None
    else:
        try:
            box, pos, types = system.box, system.positions, getattr(system, "types", None)
        except AttributeError as exc:
            raise ParameterError(f"parameter 'frames' needs 'positions' and 'box' attributes, got "
                                 f"{type(system).__name__}") from exc
    pos = np.asarray(pos, dtype=np.float64)
    if pos.ndim == 2:
        pos = pos[None]
    if pos.ndim != 3 or pos.shape[2] not in (2, 3):
        raise ParameterError(f"parameter 'positions' must be (F, N, d) or (N, d) with d in (2, 3), got {pos.shape}")
    box = np.asarray(getattr(box, "L", box), dtype=np.float64).ravel()[: pos.shape[2]]
    if box.shape != (pos.shape[2],) or not np.all(box > 0):
        raise ParameterError(f"parameter 'box' must be {pos.shape[2]} positive lengths, got {box.tolist()}")
    types = np.zeros(pos.shape[1], np.int64) if types is None else np.asarray(types, dtype=np.int64)
    if types.shape != (pos.shape[1],):
        raise ParameterError(f"parameter 'types' must have shape ({pos.shape[1]},), got {types.shape}")
    return Frames(positions=pos, types=types, box=box)


# ----------------------------------------------------------- standardisation
@attrs.frozen
class Standardisation:
    """Per-species mean and standard deviation of the raw values over the training frames.

    ``mean[t]``, ``std[t]`` for species t = 0..len-1 (NaN: no finite training
    value of that species, whose standardised values are then NaN);
    ``count[t]``: particle-frames used.
    """

    mean: tuple = attrs.field(converter=lambda v: tuple(float(x) for x in v))
    std: tuple = attrs.field(converter=lambda v: tuple(float(x) for x in v))
    count: tuple = attrs.field(converter=lambda v: tuple(int(x) for x in v))

    def __attrs_post_init__(self):
        if not len(self.mean) == len(self.std) == len(self.count):
            raise ParameterError("standardisation: 'mean', 'std' and 'count' must have one entry per species")

    @classmethod
    def identity(cls, n_species: int = 1) -> "Standardisation":
        return cls([0.0] * n_species, [1.0] * n_species, [0] * n_species)

    @classmethod
    def fit(cls, raws: Sequence[np.ndarray], types: Sequence[np.ndarray]) -> "Standardisation":
        """Pool every (F, N) raw array (with its (N,) types) and take each species' mean and std."""
        n_species = int(max(int(np.max(t)) for t in types)) + 1 if types else 1
        mean, std, count = [], [], []
        for s in range(n_species):
            vals = np.concatenate([np.asarray(r)[:, np.asarray(t) == s].ravel() for r, t in zip(raws, types)])
            vals = vals[np.isfinite(vals)]
            ok = vals.size >= 2 and np.std(vals) > 0
            mean.append(float(np.mean(vals)) if ok else math.nan)
            std.append(float(np.std(vals)) if ok else math.nan)
            count.append(vals.size)
        if all(math.isnan(m) for m in mean):
            raise ParameterError("standardisation: no species has two or more distinct finite values in the "
                                 "training frames")
        return cls(mean, std, count)

    def apply(self, raw: np.ndarray, types: np.ndarray, sign: int = 1) -> np.ndarray:
        raw = np.asarray(raw, dtype=np.float64)
        types = np.asarray(types, dtype=np.int64)
        n = len(self.mean)
        mean = np.array(self.mean + (math.nan,))[np.where(types < n, types, n)]
        std = np.array(self.std + (math.nan,))[np.where(types < n, types, n)]
        return sign * (raw - mean) / std

    def to_dict(self) -> dict:
        return {"mean": list(self.mean), "std": list(self.std), "count": list(self.count)}


# ---------------------------------------------------------------- parameters
def _convert_value(value):
    """A string from the command line -> the field's type (bool/int/float/None/str/tuple)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lower() in ("none", "null", ""):
        return None
    if text.lower() in ("true", "yes", "on"):
        return True
    if text.lower() in ("false", "no", "off"):
        return False
    if "," in text:
        return tuple(_convert_value(part) for part in text.split(","))
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def make_params(cls, params=None):
    """An instance of the attrs class ``cls`` from None, an instance, or a mapping (strings converted)."""
    if params is None:
        return cls()
    if isinstance(params, cls):
        return params
    if not isinstance(params, Mapping):
        raise ParameterError(f"descriptor parameters must be a {cls.__name__} or a mapping, got {type(params).__name__}")
    fields = {f.name: f for f in attrs.fields(cls)}
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise ParameterError(f"unknown descriptor parameter(s) {', '.join(unknown)}; known: "
                             f"{', '.join(fields) or '(none)'}")
    try:
        return cls(**{k: _convert_value(v) for k, v in params.items()})
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ParameterError):
            raise
        raise ParameterError(f"descriptor parameters {dict(params)}: {exc}") from exc


def _jsonable(value):
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


@attrs.frozen
class NoParams:
    """A descriptor without parameters."""


def library_versions(names: Sequence[str]) -> dict[str, str]:
    out = {}
    for name in ("trsp", "numpy", *names):
        try:
            out[name] = metadata.version({"freud": "freud-analysis"}.get(name, name))
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def save_descriptor(descriptor, path) -> Path:
    """Write the descriptor (name, parameters, sign, standardisation, versions) as JSON, atomically."""
    from trsp_core.io.atomic import atomic_path

    path = Path(path)
    text = json.dumps(descriptor.to_dict(), indent=2, allow_nan=True)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text + "\n")
    return path


def load_descriptor(path, registry=None):
    """Rebuild a descriptor written by :func:`save_descriptor` through the registry's factory."""
    from trsp_core.plugin.registry import default_registry

    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read descriptor file '{path}': {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputFileError(f"descriptor file '{path}': field 'format' is not '{FORMAT}'")
    if int(data.get("format_version", 0)) > FORMAT_VERSION:
        raise InputFileError(f"descriptor file '{path}': format_version {data['format_version']} is newer than "
                             f"this trsp reads ({FORMAT_VERSION})")
    for key in ("descriptor", "parameters"):
        if key not in data:
            raise InputFileError(f"descriptor file '{path}': missing field '{key}'")
    reg = registry or default_registry()
    factory = reg.get("structural", data["descriptor"])
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in data["parameters"].items()}
    st = data.get("standardisation")
    desc = factory(params)
    if st is not None:
        desc = desc.with_standardisation(Standardisation(st["mean"], st["std"], st["count"]))
    return desc
