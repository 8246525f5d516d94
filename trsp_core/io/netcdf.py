"""netCDF reads and writes that are safe from several threads of one process.

The netCDF-C and HDF5 libraries are not thread-safe. A dask worker with more than
one thread runs several tasks in one process, and two of them writing (or one
writing while another reads) crashed the interpreter with a segfault inside HDF5
(seen in the aging test, which uses a 2-thread in-process worker). Every netCDF
file trsp reads or writes goes through these helpers, which hold one process-wide
lock for the whole open -> read/write -> close sequence. Different *processes*
(the default LocalCluster) need no lock: each writes its own file.
"""
from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import xarray as xr

from trsp_core.errors import InputFileError
from trsp_core.io.atomic import atomic_path

#: held around every netCDF open/read/write/close in trsp (re-entrant: helpers may nest)
LOCK = threading.RLock()


def write(ds: xr.Dataset, path: str | Path, **kwargs) -> None:
    """``ds.to_netcdf(path, engine="netcdf4", **kwargs)`` under the lock."""
    with LOCK:
        ds.to_netcdf(path, engine="netcdf4", **kwargs)


@contextlib.contextmanager
def opened(path: str | Path):
    """``xr.open_dataset(path, engine="netcdf4")`` as a context, under the lock.

    Read what you need (``.values``, ``.load()``, attrs) inside the block: the file
    is closed, and the lock released, when it ends.
    """
    with LOCK:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            yield ds


def write_dataset(ds: xr.Dataset, path: str | Path, **kwargs) -> Path:
    """Write ``ds`` as netCDF4 atomically and thread-safely; ``kwargs`` go to ``to_netcdf``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        write(ds, tmp, **{"format": "NETCDF4", **kwargs})
    return path


def read_dataset(path: str | Path) -> xr.Dataset:
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"file {path} does not exist")
    try:
        with opened(path) as ds:
            return ds.load()
    except (OSError, ValueError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]   # one line, whatever netCDF-C says
        raise InputFileError(f"{path} is not a readable netCDF file: {first}") from None
