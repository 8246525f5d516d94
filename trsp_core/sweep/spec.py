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
import math
from pathlib import Path

import numpy as np

#: bump when the content of a per-run file changes incompatibly (invalidates old hashes)
RUN_FORMAT = 2

#: model options a variant may set (the same names as ``trsp compose``)
VARIANT_KEYS = ("descriptor", "lattice", "size", "cluster", "delta_rule", "rate", "facilitation", "params")
VARIANT_DEFAULTS = dict(descriptor="softness-kalj", lattice="cubic", size=12, cluster="plaquette",
                        delta_rule="nearest", rate="arrhenius", facilitation=1.0, params=None)


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
    """Short human label, e.g. ``plaquette c=0.6 L=20`` (+ non-default descriptor / rules)."""
    parts = []
    if v["descriptor"] != VARIANT_DEFAULTS["descriptor"]:
        parts.append(v["descriptor"])
    parts.append(v["cluster"])
    parts.append(f"c={v['facilitation']:g}")
    parts.append(f"L={v['size']}")
    for k in ("lattice", "delta_rule", "rate"):
        if v[k] != VARIANT_DEFAULTS[k]:
            parts.append(f"{k}={v[k]}")
    if v["params"]:
        parts.append(f"params={Path(v['params']).stem}")
    return " ".join(parts)


def _file_digest(path: str | None) -> str | None:
    if not path:
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def params_digest(params) -> str:
    """Digest of the resolved descriptor parameters (an attrs instance).

    Part of a run's identity so that a changed parameter file *or* changed package
    defaults never lets a resumed sweep reuse runs made with other numbers.
    """
    import attrs

    return hashlib.sha256(json.dumps(attrs.asdict(params), sort_keys=True).encode()).hexdigest()[:16]


def run_key(variant: dict, temperature: float, seed: int, duration: float, backend: str,
            params=None) -> str:
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
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


def resolve_backend(backend: str) -> str:
    """'auto' -> the backend that would actually run (part of a run's identity)."""
    if backend != "auto":
        return backend
    from trsp_core.simulate import available_backends

    return "fast" if "fast" in available_backends() else "reference"


# ---- run length -----------------------------------------------------------------------

def frozen_tau(model) -> float:
    """Relaxation-time estimate (frames) from the frozen-field persistence function.

    Q0(t) = E_S[exp(-P(R|S) t / d)] with S ~ Normal(mu, C0) and the observed per-site
    rate law: the overlap if every site kept its softness. tau0 solves Q0(tau0) = 1/e.
    It brackets the measured tau_alpha within a factor ~2 over 0.42 <= T <= 0.7 for
    the default parameters (facilitation and cluster overlaps move it both ways),
    which is all a run-length rule needs.
    """
    o = model.observed
    x, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    S = model.mu + math.sqrt(model.params.C0) * x
    k = o.A * np.exp(o.gamma * S - o.delta * S * S) / o.d
    lo, hi = math.log(1e-6 / k.max()), math.log(1e3 / k.min())
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if np.dot(w, np.exp(-k * math.exp(mid))) > math.exp(-1):
            lo = mid
        else:
            hi = mid
    return float(math.exp(0.5 * (lo + hi)))


def auto_run_length(model, tau_factor: float = 20.0, cap: float = 2e5) -> float:
    """Run length: ``tau_factor`` x tau estimate (the larger of the frozen-field tau and the
    mean rearrangement time), capped at ``cap`` frames. Lags go up to half the run, so the
    chi4 peak (at ~tau_alpha) lies well inside the lag window and there are ~10 tau_alpha
    of independent time origins."""
    from trsp_core.job import mean_rate_time

    tau = max(frozen_tau(model), mean_rate_time(model))
    return float(min(tau_factor * tau, cap))
