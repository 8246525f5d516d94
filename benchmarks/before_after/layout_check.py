"""Checks that the layout differences compare.py reports are lossless re-encodings.

usage: python layout_check.py  (in the directory holding before/ and after/ from commands.sh)
"""
import glob
import sys
import numpy as np
import xarray as xr
ok = True
for name in ("compose.nc", "compose_default.nc"):
    a, b = xr.open_dataset(f"before/{name}"), xr.open_dataset(f"after/{name}")
    same = a.snapshot_S.dtype == np.float32 and np.array_equal(a.snapshot_S.values, b.snapshot_S.values.astype(np.float32))
    print(name, "snapshot_S before float32 == after float64 rounded to float32:", same); ok &= same
def key(ds):
    return (float(ds.attrs["initial_temperature"]), float(ds.attrs["temperature"]), int(ds.attrs["seed"]), ds.attrs["plugin_descriptor"])
A = {key(d): d for d in map(xr.open_dataset, glob.glob("before/aging/runs/*.nc"))}
B = {key(d): d for d in map(xr.open_dataset, glob.glob("after/aging/runs/*.nc"))}
n = 0
for k in A:
    a, b = A[k], B[k]
    same = (np.array_equal(a.S_mean.values, b.snapshot_S_mean.values[0]) and np.array_equal(a.time.values, b.snapshot_time.values)
            and float(a.S_initial) == float(b.S_initial.values[0].mean()) and int(a.attrs["n_events"]) == int(b.n_events.values[0]))
    ok &= same; n += same
print(f"aging runs: {n}/{len(A)} with S_mean, time, S_initial (site mean), n_events bit-identical")
print("LOSSLESS" if ok else "LOSS"); sys.exit(0 if ok else 1)
