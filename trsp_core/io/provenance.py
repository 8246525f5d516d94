"""Provenance: the global attributes every trsp output file carries.

The parameter set as JSON and flat, the plugin names, the package version, the
command line, the CF ``Conventions``, ``history`` (when and by what command the file was
made) and ``references`` (the paper the model implements).
"""
from __future__ import annotations

import datetime as _dt
import json
import platform
import sys

import numpy as np

from trsp_core._version import __version__

#: the paper trsp implements (CF ``references``)
REFERENCES = ("S. A. Ridout and A. J. Liu, \"The dynamics of machine-learned 'softness' in supercooled liquids "
              "describe dynamical heterogeneity\", arXiv:2406.05868 (2024)")


def _attr_value(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (list, tuple)):
        return np.asarray(v)
    if v is None:
        return "none"
    return v


def provenance(model=None, extra: dict | None = None) -> dict:
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    command = " ".join(sys.argv)
    attrs = {
        "title": "trsp TRSP lattice model output",
        "trsp_version": __version__,
        "created": now,
        "command_line": command,
        "history": f"{now}: {command} (trsp {__version__})",
        "references": REFERENCES,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "Conventions": "CF-1.8",
    }
    if model is not None:
        desc = model.describe()
        attrs["parameters_json"] = json.dumps(desc, default=float)
        attrs.update({k: _attr_value(v) for k, v in desc.items()})
    for k, v in (extra or {}).items():
        attrs[k] = _attr_value(v)
    return attrs
