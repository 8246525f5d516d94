"""ModelSpec: the model's choices by plugin name, with their only defaults.

``trsp compose``, ``inspect``, ``validate``, ``sweep`` and ``age`` take their
defaults from here; ``compose(...)`` is the Python twin of ``trsp compose``'s
model options, and ``open_run(path)`` rebuilds a model (and its runs) from the
spec a run file stores.
"""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from trsp_core.errors import InputFileError, ParameterError
from trsp_core.physics.params import DescriptorParams, missing_params, type_error
from trsp_core.validators import parameter

#: descriptor-parameter names an override may set
PARAM_NAMES = tuple(f.name for f in attrs.fields(DescriptorParams))


def _overrides(value) -> tuple[tuple[str, Any], ...]:
    """A mapping of descriptor parameters -> a sorted, hashable tuple of pairs."""
    if value is None:
        return ()
    items = dict(value.items() if isinstance(value, Mapping) else value)
    unknown = sorted(set(items) - set(PARAM_NAMES))
    if unknown:
        raise ParameterError(f"unknown descriptor parameter(s) {', '.join(unknown)}; known: {', '.join(PARAM_NAMES)}")
    for k, v in items.items():
        why = type_error(k, v)
        if why:
            raise ParameterError(why)
    return tuple(sorted(items.items()))


def _path(value) -> str | None:
    return None if value in (None, "", "none") else str(value)


@attrs.frozen
class ModelSpec:
    """Every choice that defines a model; ``build()`` turns it into a :class:`~trsp_core.model.Model`.

    ``params`` is a TOML file of descriptor parameters, ``overrides`` single
    parameters set on top of it (``{"s1": 0.7}``).
    """

    descriptor: str = "softness-kalj"
    lattice: str = "cubic"
    size: int = attrs.field(default=12, converter=int, validator=parameter.positive_int)
    cluster: str = "plaquette"
    delta_rule: str = "nearest"
    rate: str = "arrhenius"
    temperature: float = attrs.field(default=0.55, converter=float)
    facilitation: float = attrs.field(default=1.0, converter=float)
    params: str | None = attrs.field(default=None, converter=_path)
    overrides: tuple = attrs.field(default=(), converter=_overrides)

    # --- construction ---------------------------------------------------------------
    @classmethod
    def from_options(cls, params=None, **choices) -> "ModelSpec":
        """Keywords as ``compose`` takes them: ``params`` a file path or a mapping of overrides."""
        if isinstance(params, Mapping):
            return cls(overrides=params, **choices)
        return cls(params=params, **choices)

    def evolve(self, **changes) -> "ModelSpec":
        """A copy with some choices changed; descriptor parameters (``s1=0.7``, or
        ``params={...}``) are merged into the overrides, a path replaces the file."""
        names = {f.name for f in attrs.fields(ModelSpec)}
        over = dict(self.overrides)
        if isinstance(changes.get("params"), Mapping):
            over.update(changes.pop("params"))
        if "overrides" in changes:
            over.update(dict(changes.pop("overrides") or {}))
        for k in [k for k in changes if k not in names]:
            if k not in PARAM_NAMES:
                raise ParameterError(f"unknown model choice or descriptor parameter '{k}'; choices: "
                                     f"{', '.join(sorted(names))}; parameters: {', '.join(PARAM_NAMES)}")
            over[k] = changes.pop(k)
        return attrs.evolve(self, overrides=over, **changes)

    def to_dict(self) -> dict:
        d = attrs.asdict(self)
        d["overrides"] = dict(self.overrides)
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> "ModelSpec":
        return cls(**{k: v for k, v in d.items() if k in attrs.fields_dict(cls)})

    # --- resolution -----------------------------------------------------------------
    def resolved_params(self, registry=None) -> DescriptorParams:
        """The descriptor's parameters: plugin defaults, then the file, then the overrides."""
        from trsp_core.plugin.registry import default_registry

        reg = registry or default_registry()
        desc = reg.get("descriptor", self.descriptor)
        if self.params and _takes_every_parameter(desc):
            missing = missing_params(self.params)
            if missing:
                raise InputFileError(f"{self.params}: descriptor '{self.descriptor}' takes every parameter from "
                                     f"the file, and it does not set {', '.join(missing)}")
        p = desc.parameters(Path(self.params) if self.params else None)
        if self.overrides:
            try:
                p = p.evolve(**dict(self.overrides))
            except (TypeError, ValueError) as exc:
                if isinstance(exc, ParameterError):
                    raise
                raise ParameterError(f"bad descriptor parameter override: {exc}") from None
        return p

    def build(self, registry=None, resolved_params: DescriptorParams | None = None):
        """Assemble and validate the Model (``resolved_params`` skips the descriptor lookup)."""
        from trsp_core.model import Model
        from trsp_core.physics import mixture
        from trsp_core.plugin.registry import default_registry

        reg = registry or default_registry()
        p = resolved_params if resolved_params is not None else self.resolved_params(reg)
        lat = reg.get("lattice", self.lattice)(int(self.size), p.a)
        rate = reg.get("rate", self.rate)
        try:
            model = Model(
                lat, p, mixture.resolve(reg, self.cluster), rate, self.temperature,
                delta_rule=self.delta_rule, facilitation=self.facilitation,
                names=dict(descriptor=self.descriptor, lattice=self.lattice, cluster=self.cluster, rate=self.rate),
                spec=self,
            )
            wait = model.mean_rate_time()
        except (ArithmeticError, ValueError) as exc:
            if isinstance(exc, ParameterError):
                raise
            # exp() of e0/T, Sigma0, e1 ... beyond a double: name the numbers, not math.exp
            raise ParameterError(f"rate law '{self.rate}' at T={self.temperature:g} is not representable for "
                                 f"{_rate_params(p)}: {exc} (the rates overflow or underflow a double)") from None
        if not (math.isfinite(wait) and wait >= MIN_REARRANGEMENT_TIME):
            # d -> 0 makes every frame hold ~1/d rearrangements per site: a run would never end
            raise ParameterError(f"mean time between a site's rearrangements d/<P(R|S)> = {wait:.3g} frames at "
                                 f"T={self.temperature:g} is below {MIN_REARRANGEMENT_TIME:g} frames "
                                 f"({_rate_params(p)}): increase d or lower the rates")
        return model

    def key(self, registry=None) -> str:
        """Content hash of the model: the choices and the *resolved* parameters.

        A changed parameter file or changed package defaults give another key, the
        file's path does not.
        """
        choices = {k: v for k, v in self.to_dict().items() if k not in ("params", "overrides")}
        payload = {"choices": choices, "params": params_digest(self.resolved_params(registry))}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]

    def label(self, temperature: bool = False) -> str:
        """Short human label, e.g. ``plaquette c=0.6 L=20`` (+ whatever is not default)."""
        default = ModelSpec()
        parts = [self.descriptor] if self.descriptor != default.descriptor else []
        parts += [self.cluster, f"c={self.facilitation:g}", f"L={self.size}"]
        parts += [f"{k}={getattr(self, k)}" for k in ("lattice", "delta_rule", "rate")
                  if getattr(self, k) != getattr(default, k)]
        if self.params:
            parts.append(f"params={Path(self.params).stem}")
        parts += [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.overrides]
        if temperature:
            parts.append(f"T={self.temperature:g}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"ModelSpec({self.label(temperature=True)}, descriptor={self.descriptor!r})"


#: a model whose sites rearrange more than 1000 times per frame cannot be run to any useful length
MIN_REARRANGEMENT_TIME = 1e-3


def _rate_params(p: DescriptorParams) -> str:
    return ", ".join(f"{k}={getattr(p, k):g}" for k in ("e0", "e1", "e2", "Sigma0", "T0", "d"))


def _takes_every_parameter(desc) -> bool:
    """A descriptor without built-in numbers (``gaussian``, computed descriptors): its file must set them all."""
    from trsp_core.plugin.interfaces import ComputedDescriptor

    defaults = getattr(desc, "defaults", None)
    return isinstance(desc, ComputedDescriptor) or (callable(defaults) and defaults() is None)


def params_digest(params: DescriptorParams) -> str:
    """Digest of resolved descriptor parameters (part of every run's identity)."""
    return hashlib.sha256(json.dumps(attrs.asdict(params), sort_keys=True).encode()).hexdigest()[:16]


#: the defaults, for CLI options and documentation
DEFAULTS = ModelSpec()


def compose(spec: ModelSpec | None = None, *, registry=None, params=None, **choices):
    """A Model from a spec or from keywords (the Python side of ``trsp compose``).

    >>> import trsp_core as trsp
    >>> model = trsp.compose(temperature=0.5, params={"s1": 0.7})
    """
    if spec is None:
        spec = ModelSpec.from_options(params=params, **choices)
    elif choices or params is not None:
        spec = spec.evolve(**choices, **({"params": params} if params is not None else {}))
    return spec.build(registry)


@attrs.frozen(eq=False)
class OpenedRun:
    """What :func:`open_run` returns; unpacks as ``model, runs = trsp.open_run(path)``.
    ``attrs`` holds the file's global attributes (provenance, run options)."""

    model: Any
    runs: list
    attrs: dict = attrs.field(repr=False)

    def __iter__(self):
        return iter((self.model, self.runs))

    def __repr__(self) -> str:
        return f"OpenedRun({self.model!r}, {len(self.runs)} run(s), fields={','.join(self.runs[0].fields) if self.runs else ''})"


def open_run(path, registry=None) -> OpenedRun:
    """Rebuild the Model and the runs of any run file trsp writes (compose output,
    a sweep's or an aging campaign's per-run files).

    The model is rebuilt from the stored choices (``trsp_model_spec``) and the
    stored *resolved* descriptor parameters (``trsp_params_json``), so it does not
    depend on the parameter file still existing or the package defaults being
    unchanged. The runs carry exactly the fields the file stores.
    """
    from trsp_core.io import netcdf
    from trsp_core.run import runs_from_dataset

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"run file {path} does not exist or is not a regular file")
    try:
        with netcdf.opened(path) as ds:
            ds = ds.load()
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{path} is not a readable netCDF file: {exc}") from None
    runs = runs_from_dataset(ds, str(path))
    if "trsp_model_spec" not in ds.attrs or "trsp_params_json" not in ds.attrs:
        raise InputFileError(f"{path} has no trsp_model_spec / trsp_params_json attributes: the model cannot be rebuilt")
    spec = ModelSpec.from_dict(json.loads(ds.attrs["trsp_model_spec"]))
    params = DescriptorParams(**json.loads(ds.attrs["trsp_params_json"]))
    model = spec.build(registry, resolved_params=params)
    return OpenedRun(model, runs, dict(ds.attrs))
