"""What a sweep runs: variants, run specifications, content hashes and run lengths.

A *variant* is one set of model options (cluster rule, K_Delta rule, facilitation
factor c, lattice size, ...) that is held fixed while the temperature varies.
A *run* is one (variant, temperature, seed) simulation; its output file name is a
hash of everything that determines its result, so re-running a sweep finds the
runs that are already finished, whatever order or grouping they were done in.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path


from trsp_core.run import RUN_FORMAT  # noqa: F401  (part of every run key)
from trsp_core.spec import DEFAULTS, ModelSpec, params_digest  # noqa: F401

#: model options a variant may set (the ModelSpec choices but the temperature)
VARIANT_KEYS = ("descriptor", "lattice", "size", "cluster", "delta_rule", "rate", "facilitation", "params")
VARIANT_DEFAULTS = {k: getattr(DEFAULTS, k) for k in VARIANT_KEYS}


def split_list(text, cast=str) -> list:
    """'a,b, c' -> [cast(a), cast(b), cast(c)]; non-strings are wrapped in a list."""
    if text is None:
        return [None]
    if isinstance(text, (list, tuple)):
        return [cast(t) if t is not None else None for t in text]
    if not isinstance(text, str):
        return [cast(text)]
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise ValueError("empty list")
    return [cast(t) for t in items]


def normalise_variant(v: dict) -> dict:
    out = dict(VARIANT_DEFAULTS)
    unknown = set(v) - set(VARIANT_KEYS)
    if unknown:
        raise ValueError(f"unknown variant option(s): {', '.join(sorted(unknown))}; allowed: {', '.join(VARIANT_KEYS)}")
    out.update({k: val for k, val in v.items() if val is not None or k == "params"})
    out["size"] = int(out["size"])
    out["facilitation"] = float(out["facilitation"])
    out["params"] = str(Path(out["params"]).resolve()) if out["params"] else None
    return out


def variant_product(**lists) -> list[dict]:
    """Cartesian product of the variant axes given as lists (missing axes take defaults)."""
    keys = [k for k in VARIANT_KEYS if k in lists]
    combos = itertools.product(*[lists[k] for k in keys])
    return [normalise_variant(dict(zip(keys, c))) for c in combos]


def variant_label(v: dict) -> str:
    """Short human label, e.g. ``plaquette c=0.6 L=20`` (see ``ModelSpec.label``)."""
    return ModelSpec.from_dict(v).label()


def _file_digest(path: str | None) -> str | None:
    if not path:
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def run_key(variant: dict, temperature: float, seed: int, duration: float, backend: str,
            params=None, fields=("events",)) -> str:
    """Content hash of one run: identical inputs give the same file name.

    ``params``: the resolved descriptor parameters of the run's model; without them only
    the parameter file's bytes are hashed (package defaults then are not covered).
    """
    payload = {
        "format": RUN_FORMAT,
        "variant": {k: variant[k] for k in VARIANT_KEYS if k != "params"},
        "params_sha": params_digest(params) if params is not None else _file_digest(variant.get("params")),
        "temperature": round(float(temperature), 12),
        "seed": int(seed),
        "duration": float(f"{float(duration):.12g}"),
        "backend": backend,
        "fields": sorted(fields),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]
