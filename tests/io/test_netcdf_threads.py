"""netCDF I/O from several threads of one process (a multi-threaded dask worker).

netCDF-C/HDF5 are not thread-safe: without trsp_core.io.netcdf's lock, concurrent
writes crashed the interpreter (segfault) in the aging test. This hammers the
helpers from 4 threads; a regression shows up as a crash or a corrupt file.
"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import xarray as xr

from trsp_core.io import netcdf

ENC = {"zlib": True, "complevel": 4, "shuffle": True}


def _roundtrip(args):
    tmp, k = args
    rng = np.random.default_rng(k)
    ds = xr.Dataset({"t": ("event", rng.random(20_000)), "c": ("event", rng.integers(0, 1000, 20_000).astype(np.int32))},
                    attrs={"k": k})
    path = tmp / f"f{k}.nc"
    netcdf.write(ds, path, format="NETCDF4", encoding={"t": ENC, "c": ENC})
    with netcdf.opened(path) as back:
        ok = int(back.attrs["k"]) == k and np.array_equal(back["t"].values, ds["t"].values)
    return ok


def test_concurrent_netcdf_io_from_threads(tmp_path):
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(_roundtrip, [(tmp_path, k) for k in range(48)]))
    assert all(results)
