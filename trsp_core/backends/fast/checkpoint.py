"""Atomic .npz checkpoints of the fast kernel's state.

A checkpoint holds everything the event loop reads or accumulates (S, Z, the
lazy integrals, occupancy, time, RNG words, counters, snapshots so far and the
event log so far). The sum tree and the occupancy bin counts are not stored:
both are pure functions of S and are rebuilt bit for bit on load.

``key`` fingerprints what must not change between the interrupted and the
resumed run (model description, seed, duration, snapshot times, histogram
edges, kernel options); ``model_hash`` is kept apart to say *what* differs.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from trsp_core.io.atomic import atomic_path
from trsp_core.errors import InputFileError, ParameterError

FORMAT = 1
_ARRAYS = ("S", "Z", "s_int", "last_t", "occupancy", "rng", "fstate", "istate", "snaps",
           "s_initial", "ev_t", "ev_c", "ev_before", "ev_after", "diag")


def model_hash(model) -> str:
    text = json.dumps(model.describe(), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def run_key(model, seed, duration, snapshot_times, hist_edges, options: dict) -> str:
    h = hashlib.sha256(model_hash(model).encode())
    h.update(json.dumps(dict(seed=int(seed), duration=float(duration), **options), sort_keys=True).encode())
    h.update(np.ascontiguousarray(snapshot_times, float).tobytes())
    h.update(np.ascontiguousarray(hist_edges, float).tobytes())
    return h.hexdigest()


def save(path, *, key: str, mhash: str, status: int, state: dict) -> None:
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:  # a file object stops numpy from appending ".npz" to the temp name
            np.savez(fh, format=FORMAT, key=key, model_hash=mhash, status=status,
                     **{k: state[k] for k in _ARRAYS})


def load(path, *, key: str, mhash: str) -> tuple[int, dict] | None:
    """(status, state) from an existing checkpoint of this very run; None if there is no file."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            fmt = int(f["format"])
            if fmt != FORMAT:
                raise InputFileError(f"checkpoint {path} has format {fmt}, this version reads format {FORMAT}")
            if str(f["model_hash"]) != mhash:
                raise ParameterError(
                    f"checkpoint {path} was written for a different model (parameters, lattice, T or rules "
                    "differ); delete it or choose another checkpoint path"
                )
            if str(f["key"]) != key:
                raise ParameterError(
                    f"checkpoint {path} belongs to another run of this model (seed, duration, snapshot "
                    "times, histogram edges or fast-kernel options differ); delete it or choose another path"
                )
            return int(f["status"]), {k: f[k].copy() for k in _ARRAYS}
    except (OSError, ValueError, KeyError) as exc:
        if isinstance(exc, (ParameterError, InputFileError)):
            raise
        raise InputFileError(f"checkpoint {path} is not a readable fast-kernel checkpoint: {exc}") from None
