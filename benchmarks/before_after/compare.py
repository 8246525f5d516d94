#!/usr/bin/env python
"""Compare the netCDF outputs of two runs of /work/cmp/commands.sh.

usage: python compare.py DIR_A DIR_B

Files compared:
  compose.nc, compose_default.nc, sweep/sweep.nc, aging/aging.nc   (by path)
  sweep/runs/*.nc   matched by (temperature, seed, model/variant attrs)
  aging/runs/*.nc   matched by (initial_temperature, final T, seed, model attrs)
  any other *.nc    matched by relative path

Per matched pair, every variable (data variables and coordinates) present on
both sides is compared exactly (np.array_equal, equal_nan=True).  Global
attributes are compared too: numeric ones and *_json ones (parsed) must be
equal; other string attributes that differ are only noted.  Bookkeeping
attributes (timestamps, command line, wall-clock timings, pids, versions,
run hashes) are ignored.

Verdict: DIFFERENT (exit 1) if any shared variable or physics attribute
differs, or an expected file / run is missing on one side or cannot be
matched; variables/attributes present on only one side are reported but do
not make the result DIFFERENT.  Otherwise IDENTICAL (exit 0).
"""
from __future__ import annotations

import json
import math
import re
import sys
import traceback
from pathlib import Path

import numpy as np

try:
    import xarray as xr
except ImportError:  # pragma: no cover
    sys.exit("compare.py needs xarray (+ netCDF4/h5netcdf) in the running python")

TOP_FILES = ["compose.nc", "compose_default.nc", "sweep/sweep.nc", "aging/aging.nc"]
RUN_DIRS = {
    "sweep/runs": [
        ("temperature", ("temperature", "final_temperature", "T")),
        ("seed", ("seed",)),
        ("descriptor", ("plugin_descriptor", "descriptor", "param_name")),
        ("cluster", ("plugin_cluster", "cluster")),
        ("lattice_shape", ("lattice_shape",)),
        ("facilitation", ("facilitation",)),
        ("delta_rule", ("delta_rule",)),
        ("rate", ("plugin_rate", "rate")),
    ],
    "aging/runs": [
        ("initial_temperature", ("initial_temperature", "T_initial", "T_I")),
        ("final_temperature", ("temperature", "final_temperature", "T_F", "T")),
        ("seed", ("seed",)),
        ("descriptor", ("plugin_descriptor", "descriptor", "param_name", "model")),
        ("cluster", ("plugin_cluster", "cluster")),
    ],
}

# attributes / variables that legitimately change between two runs
_IGNORE_EXACT = {
    "created", "command_line", "worker_pid", "trsp_version", "history",
    "python", "numpy", "trsp_run_key", "hostname", "host", "user",
    "kernel_build_s", "kernel_loop_s", "kernel_events_per_s",
}
_IGNORE_RE = re.compile(
    r"wall|_version$|^version$|_per_s$|^kernel_.*_s$|elapsed|timestamp|_pid$|^pid$",
    re.IGNORECASE,
)


def ignored(name: str) -> bool:
    return name in _IGNORE_EXACT or bool(_IGNORE_RE.search(name))


# ---------------------------------------------------------------- helpers
def _scalar(v):
    """Attribute value -> plain python (for keys and messages)."""
    if isinstance(v, np.ndarray):
        v = v.tolist()
        if isinstance(v, list) and len(v) == 1:
            v = v[0]
    elif isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, list):
        return tuple(_scalar(x) for x in v)
    if isinstance(v, float):
        return float(repr(v)) if not math.isnan(v) else "nan"
    return v


def open_ds(path: Path):
    return xr.open_dataset(path, decode_times=False, decode_timedelta=False).load()


def run_key(attrs: dict, spec) -> tuple:
    key = []
    for label, names in spec:
        val = None
        for n in names:
            if n in attrs:
                val = _scalar(attrs[n])
                break
        key.append((label, val))
    return tuple(key)


def fmt_key(key) -> str:
    return ", ".join(f"{k}={v}" for k, v in key if v is not None)


def _json_strip(obj):
    """Drop ignored keys from parsed JSON, recursively."""
    if isinstance(obj, dict):
        return {k: _json_strip(v) for k, v in obj.items() if not ignored(str(k))}
    if isinstance(obj, list):
        return [_json_strip(v) for v in obj]
    return obj


def _json_diff(a, b, path="") -> list[str]:
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            p = f"{path}.{k}" if path else str(k)
            if k not in a:
                out.append(f"{p}: only in B")
            elif k not in b:
                out.append(f"{p}: only in A")
            else:
                out += _json_diff(a[k], b[k], p)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            out += _json_diff(x, y, f"{path}[{i}]")
    elif a != b and not (isinstance(a, float) and isinstance(b, float)
                         and math.isnan(a) and math.isnan(b)):
        out.append(f"{path}: {a!r} != {b!r}")
    return out


def arrays_equal(a: np.ndarray, b: np.ndarray) -> tuple[bool, str]:
    """Exact equality; returns (equal, detail for the report)."""
    if a.shape != b.shape:
        return False, f"shape {a.shape} vs {b.shape}"
    num = (np.issubdtype(a.dtype, np.number) or a.dtype == bool) and \
          (np.issubdtype(b.dtype, np.number) or b.dtype == bool)
    if num:
        try:
            eq = np.array_equal(a, b, equal_nan=True)
        except TypeError:
            eq = np.array_equal(a, b)
        if eq:
            return True, ""
        with np.errstate(invalid="ignore", over="ignore"):
            fa = np.atleast_1d(a).astype(np.float64)
            fb = np.atleast_1d(b).astype(np.float64)
            both_nan = np.isnan(fa) & np.isnan(fb)
            d = np.abs(fa - fb)
            d[both_nan] = 0.0
            nan_mismatch = int((np.isnan(fa) ^ np.isnan(fb)).sum())
            finite = d[np.isfinite(d)]
            maxd = float(finite.max()) if finite.size else float("nan")
            ndiff = int((d != 0).sum()) + nan_mismatch
            scale = np.abs(fa[np.isfinite(fa)])
            rel = maxd / float(scale.max()) if scale.size and scale.max() > 0 else float("nan")
        extra = f", {nan_mismatch} NaN mismatches" if nan_mismatch else ""
        return False, (f"max abs diff {maxd:.3e} (rel {rel:.1e}), "
                       f"{ndiff}/{a.size} elements differ{extra}")
    # strings / objects
    try:
        eq = bool(np.array_equal(a.astype(str), b.astype(str)))
    except Exception:
        eq = a.tolist() == b.tolist()
    if eq:
        return True, ""
    try:
        nd = int((a.astype(str) != b.astype(str)).sum())
    except Exception:
        nd = -1
    return False, f"non-numeric values differ ({nd}/{a.size} elements)"


# ---------------------------------------------------------------- comparison
class Result:
    def __init__(self):
        self.different = False
        self.lines: list[str] = []

    def say(self, s=""):
        self.lines.append(s)
        print(s)


def compare_pair(label: str, pa: Path, pb: Path, res: Result) -> bool:
    """Compare one matched pair; return True if identical."""
    try:
        a, b = open_ds(pa), open_ds(pb)
    except Exception as e:  # noqa: BLE001
        res.say(f"[DIFFERENT] {label}: cannot open: {e}")
        return False

    va = {k: a[k] for k in a.variables if not ignored(str(k))}
    vb = {k: b[k] for k in b.variables if not ignored(str(k))}
    shared = sorted(set(va) & set(vb), key=str)
    only_a = sorted(set(va) - set(vb), key=str)
    only_b = sorted(set(vb) - set(va), key=str)

    same, diff, notes = [], [], []
    for name in shared:
        try:
            xa, xb = np.asarray(va[name].values), np.asarray(vb[name].values)
            eq, detail = arrays_equal(xa, xb)
        except Exception as e:  # noqa: BLE001
            eq, detail = False, f"comparison failed: {e!r}"
        if eq:
            same.append(name)
            if xa.dtype != xb.dtype:
                notes.append(f"var {name}: dtype {xa.dtype} -> {xb.dtype} (values equal)")
            if tuple(va[name].dims) != tuple(vb[name].dims):
                notes.append(f"var {name}: dims {va[name].dims} -> {vb[name].dims} (values equal)")
        else:
            diff.append(f"{name}: {detail}")

    # global attributes
    aa = {k: v for k, v in a.attrs.items() if not ignored(k)}
    ab = {k: v for k, v in b.attrs.items() if not ignored(k)}
    attr_same, attr_diff = 0, []
    for k in sorted(set(aa) & set(ab)):
        x, y = aa[k], ab[k]
        try:
            if isinstance(x, str) and isinstance(y, str):
                if x == y:
                    attr_same += 1
                    continue
                if k.endswith("_json") or k.endswith("json"):
                    try:
                        jx, jy = _json_strip(json.loads(x)), _json_strip(json.loads(y))
                    except ValueError:
                        attr_diff.append(f"@{k}: unparsable JSON differs")
                        continue
                    d = _json_diff(jx, jy)
                    if d:
                        attr_diff.append(f"@{k} (JSON): " + "; ".join(d[:8])
                                         + (f"; ... {len(d) - 8} more" if len(d) > 8 else ""))
                    else:
                        attr_same += 1
                        notes.append(f"@{k}: JSON text differs but parsed content equal")
                else:
                    notes.append(f"@{k}: string attr differs: {x[:60]!r} -> {y[:60]!r}")
                continue
            eq, detail = arrays_equal(np.atleast_1d(np.asarray(x)), np.atleast_1d(np.asarray(y)))
            if eq:
                attr_same += 1
            else:
                attr_diff.append(f"@{k}: {_scalar(x)!r} != {_scalar(y)!r} ({detail})")
        except Exception as e:  # noqa: BLE001
            attr_diff.append(f"@{k}: comparison failed: {e!r}")
    attr_only_a = sorted(set(aa) - set(ab))
    attr_only_b = sorted(set(ab) - set(aa))

    ok = not diff and not attr_diff
    res.say(f"[{'identical' if ok else 'DIFFERENT'}] {label}"
            f"  ({pa.name} <-> {pb.name})")
    res.say(f"    variables: {len(same)} identical, {len(diff)} differ, "
            f"{len(only_a)} only in A, {len(only_b)} only in B; "
            f"attrs: {attr_same} identical, {len(attr_diff)} differ, "
            f"{len(attr_only_a)} only in A, {len(attr_only_b)} only in B")
    if same and VERBOSE:
        res.say("    identical: " + ", ".join(map(str, same)))
    for d in diff:
        res.say(f"    DIFFERS  {d}")
    for d in attr_diff:
        res.say(f"    DIFFERS  {d}")
    if only_a:
        res.say("    only in A: " + ", ".join(map(str, only_a)))
    if only_b:
        res.say("    only in B: " + ", ".join(map(str, only_b)))
    if attr_only_a:
        res.say("    attrs only in A: " + ", ".join(attr_only_a))
    if attr_only_b:
        res.say("    attrs only in B: " + ", ".join(attr_only_b))
    for n in notes:
        res.say(f"    note: {n}")
    a.close()
    b.close()
    return ok


def index_runs(d: Path, spec, res: Result, side: str) -> dict:
    out: dict = {}
    if not d.is_dir():
        return out
    for f in sorted(d.glob("*.nc")):
        try:
            with xr.open_dataset(f, decode_times=False) as ds:
                k = run_key(ds.attrs, spec)
        except Exception as e:  # noqa: BLE001
            res.say(f"[DIFFERENT] cannot read {side}:{f}: {e}")
            res.different = True
            continue
        if k in out:
            res.say(f"[DIFFERENT] {side}: two run files share key ({fmt_key(k)}): "
                    f"{out[k].name}, {f.name}")
            res.different = True
        out[k] = f
    return out


VERBOSE = False


def main(argv) -> int:
    global VERBOSE
    args = [x for x in argv[1:] if not x.startswith("-")]
    VERBOSE = "-v" in argv or "--verbose" in argv
    if len(args) != 2:
        print(__doc__)
        return 2
    A, B = Path(args[0]), Path(args[1])
    res = Result()
    res.say(f"A = {A.resolve()}")
    res.say(f"B = {B.resolve()}")
    n_pairs = n_ok = 0

    handled_a, handled_b = set(), set()
    for rel in TOP_FILES:
        pa, pb = A / rel, B / rel
        handled_a.add(pa.resolve()); handled_b.add(pb.resolve())
        if not pa.exists() and not pb.exists():
            res.say(f"[DIFFERENT] {rel}: missing on both sides")
            res.different = True
            continue
        if not pa.exists() or not pb.exists():
            res.say(f"[DIFFERENT] {rel}: only in {'B' if not pa.exists() else 'A'}")
            res.different = True
            continue
        n_pairs += 1
        if compare_pair(rel, pa, pb, res):
            n_ok += 1
        else:
            res.different = True

    for rel, spec in RUN_DIRS.items():
        ia = index_runs(A / rel, spec, res, "A")
        ib = index_runs(B / rel, spec, res, "B")
        handled_a.update(f.resolve() for f in ia.values())
        handled_b.update(f.resolve() for f in ib.values())
        handled_a.update(f.resolve() for f in (A / rel).glob("*.nc"))
        handled_b.update(f.resolve() for f in (B / rel).glob("*.nc"))
        res.say(f"--- {rel}: {len(ia)} run files in A, {len(ib)} in B")
        if not ia and not ib:
            res.say(f"[DIFFERENT] {rel}: no run files on either side")
            res.different = True
        # a key field that is None on both sides everywhere is harmless; a
        # field renamed on one side would leave everything unmatched: say so.
        for k in sorted(set(ia) - set(ib), key=str):
            res.say(f"[DIFFERENT] {rel}: run ({fmt_key(k)}) only in A: {ia[k].name}")
            res.different = True
        for k in sorted(set(ib) - set(ia), key=str):
            res.say(f"[DIFFERENT] {rel}: run ({fmt_key(k)}) only in B: {ib[k].name}")
            res.different = True
        for k in sorted(set(ia) & set(ib), key=str):
            n_pairs += 1
            if compare_pair(f"{rel} [{fmt_key(k)}]", ia[k], ib[k], res):
                n_ok += 1
            else:
                res.different = True

    # any further netCDF files: match by relative path
    extra_a = {p.relative_to(A): p for p in A.rglob("*.nc") if p.resolve() not in handled_a}
    extra_b = {p.relative_to(B): p for p in B.rglob("*.nc") if p.resolve() not in handled_b}
    for rel in sorted(set(extra_a) | set(extra_b)):
        if rel not in extra_b:
            res.say(f"[note] extra file only in A: {rel}")
        elif rel not in extra_a:
            res.say(f"[note] extra file only in B: {rel}")
        else:
            n_pairs += 1
            if compare_pair(str(rel), extra_a[rel], extra_b[rel], res):
                n_ok += 1
            else:
                res.different = True

    res.say()
    res.say(f"{n_ok}/{n_pairs} file pairs identical")
    res.say("DIFFERENT" if res.different else "IDENTICAL")
    return 1 if res.different else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except SystemExit:
        raise
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        print("DIFFERENT (compare.py crashed)")
        sys.exit(1)
