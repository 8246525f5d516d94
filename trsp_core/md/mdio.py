"""Particle trajectories in and out: GSD, LAMMPS dump, and trsp's netCDF layout.

Everything is read into one small frozen container, :class:`Trajectory`:

* ``positions``  (F, N, d) float64, in the file's length unit (sigma_AA for
  trsp); wrapped or unwrapped -- consumers that need unwrapped paths
  (``trsp_core.md.phop``) unwrap by minimum image between consecutive frames;
* ``types``      (N,) int, species index 0..n_species-1 (0 = A, the large one);
* ``box``        (d,) float, orthorhombic periodic box lengths;
* ``dt``         time between consecutive frames (MD time units);
* ``columns``    dict name -> (F, N) float per-particle extra data
  (e.g. ``descriptor``, ``phop``, a LAMMPS ``c_foo`` column);
* ``temperature`` float (NaN if unknown).

The netCDF layout (see docs/md-data-format.md) is the interchange format with
``trsp measure``: dims (frame, particle, dim); variables ``position``
(frame, particle, dim), ``type`` (particle), optional ``descriptor`` and
``phop`` (frame, particle); global attrs ``box`` (d floats), ``dt``,
``temperature``.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Mapping

import attrs
import numpy as np

from trsp_core.errors import InputFileError, ParameterError
from trsp_core.io import netcdf
from trsp_core.io import write_dataset

NETCDF_FORMAT_VERSION = 1
NETCDF_OPTIONAL_VARIABLES = ("descriptor", "phop")


def _as_positions(value) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[2] not in (2, 3):
        raise ParameterError(f"parameter 'positions' must have shape (F, N, d) with d in (2, 3), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ParameterError("parameter 'positions' must be finite everywhere")
    return arr


def _freeze(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


@attrs.frozen(eq=False)
class Trajectory:
    """Positions of N particles over F frames in an orthorhombic periodic box."""

    positions: np.ndarray = attrs.field(converter=_as_positions)
    types: np.ndarray = attrs.field(converter=lambda v: np.asarray(v, dtype=np.int64))
    box: np.ndarray = attrs.field(converter=lambda v: np.asarray(v, dtype=np.float64))
    dt: float = attrs.field(default=1.0, converter=float)
    columns: Mapping[str, np.ndarray] = attrs.field(factory=dict, converter=lambda d: {
        str(k): np.asarray(v, dtype=np.float64) for k, v in dict(d).items()})
    temperature: float = attrs.field(default=float("nan"), converter=float)

    def __attrs_post_init__(self):
        f, n, d = self.positions.shape
        if self.types.shape != (n,):
            raise ParameterError(f"parameter 'types' must have shape ({n},), got {self.types.shape}")
        if self.types.size and self.types.min() < 0:
            raise ParameterError("parameter 'types' must be >= 0")
        if self.box.shape != (d,) or not np.all(self.box > 0):
            raise ParameterError(f"parameter 'box' must be {d} positive lengths, got {self.box.tolist()}")
        if not (self.dt > 0 and np.isfinite(self.dt)):
            raise ParameterError(f"parameter 'dt' must be finite and > 0, got {self.dt!r}")
        for name, col in self.columns.items():
            if col.shape != (f, n):
                raise ParameterError(f"column '{name}' must have shape ({f}, {n}), got {col.shape}")
        for arr in (self.positions, self.types, self.box, *self.columns.values()):
            _freeze(arr)

    @property
    def n_frames(self) -> int:
        return self.positions.shape[0]

    @property
    def n_particles(self) -> int:
        return self.positions.shape[1]

    @property
    def dim(self) -> int:
        return self.positions.shape[2]

    def with_columns(self, **columns) -> "Trajectory":
        return attrs.evolve(self, columns={**self.columns, **columns})


def read_trajectory(path, *, dt: float | None = None) -> Trajectory:
    """Read by suffix: .gsd -> GSD, .nc -> netCDF layout, .npz -> trsp's compact
    fixture format (:func:`trsp_core.md.ka.load_compact`), anything else -> LAMMPS dump."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"trajectory file '{path}' does not exist")
    suffix = path.suffix.lower()
    if suffix == ".gsd":
        return read_gsd(path, dt=dt)
    if suffix in (".nc", ".netcdf", ".nc4"):
        return read_netcdf(path)
    if suffix == ".npz":
        from trsp_core.md.ka import load_compact
        return load_compact(path)
    return read_lammps_dump(path, dt=dt)


# --------------------------------------------------------------------- GSD
def read_gsd(path, *, dt: float | None = None) -> Trajectory:
    """Read a HOOMD-blue GSD trajectory.

    ``dt`` is the time between frames; if None it is the difference of the
    frames' ``configuration/step`` (i.e. in MD steps, multiply by the
    integrator step yourself). Image flags, when present, are applied so
    positions come back unwrapped. Per-particle logged quantities
    (``log/particles/NAME`` with N entries) become ``columns[NAME]``.
    """
    import gsd.hoomd

    path = Path(path)
    try:
        traj = gsd.hoomd.open(str(path), "r")
    except Exception as exc:  # gsd raises several types for non-GSD files
        raise InputFileError(f"cannot read GSD file '{path}': {exc}") from exc
    with traj:
        if len(traj) == 0:
            raise InputFileError(f"GSD file '{path}' has no frames")
        first = traj[0]
        dim = int(first.configuration.dimensions)
        box6 = np.asarray(first.configuration.box, dtype=float)
        if np.any(box6[3:] != 0):
            raise InputFileError(f"GSD file '{path}': field 'configuration/box' is triclinic; only orthorhombic boxes are supported")
        box = box6[:dim]
        types = np.asarray(first.particles.typeid, dtype=np.int64)
        n = types.size
        positions, steps, columns = [], [], {}
        for k, frame in enumerate(traj):
            pos = np.asarray(frame.particles.position, dtype=float)
            if pos.shape != (n, 3):
                raise InputFileError(f"GSD file '{path}' frame {k}: field 'particles/position' has shape {pos.shape}, expected ({n}, 3)")
            img = frame.particles.image
            if img is not None and np.any(img):
                pos = pos + np.asarray(img, dtype=float) * box6[:3]
            positions.append(pos[:, :dim])
            steps.append(int(frame.configuration.step))
            for key, value in (frame.log or {}).items():
                if key.startswith("particles/") and np.size(value) == n:
                    columns.setdefault(key.split("/", 1)[1], []).append(np.ravel(value).astype(float))
    columns = {k: np.stack(v) for k, v in columns.items() if len(v) == len(positions)}
    return Trajectory(positions=np.stack(positions), types=types, box=box,
                      dt=_frame_interval(dt, steps, path), columns=columns)


def _frame_interval(dt, steps, path) -> float:
    if dt is not None:
        return float(dt)
    if len(steps) < 2:
        return 1.0
    diffs = np.diff(steps)
    if np.any(diffs <= 0) or np.any(diffs != diffs[0]):
        raise InputFileError(f"trajectory '{path}': frame steps are not evenly spaced ({steps[:5]}...); pass dt explicitly")
    return float(diffs[0])


# ------------------------------------------------------------ LAMMPS dump
# MDAnalysis puts every non-coordinate column in ts.data; these are not
# per-particle data in trsp's sense.
_DUMP_STANDARD_COLUMNS = frozenset({"step", "time", "id", "type", "mol", "element", "mass",
                                    "ix", "iy", "iz", "vx", "vy", "vz", "fx", "fy", "fz"})

def read_lammps_dump(path, *, dt: float | None = None, columns: list[str] | bool = True) -> Trajectory:
    """Read a LAMMPS text dump (``dump custom``) through MDAnalysis.

    Needs ``id``, ``type`` and one coordinate set (x/y/z, xs/ys/zs, xu/yu/zu
    or xsu/ysu/zsu); image flags ix/iy/iz are applied. Extra columns (all of
    them with ``columns=True``, or the listed names) become ``columns``.
    LAMMPS types 1, 2, ... become 0, 1, ....  ``dt`` as in :func:`read_gsd`
    (default: difference of the TIMESTEP entries). Positions are shifted so
    the box starts at the origin. 3D only (LAMMPS writes z even for 2D runs:
    pass the result through ``Trajectory`` with ``positions[..., :2]`` if so).
    """
    import MDAnalysis as mda

    path = Path(path)
    _check_dump_header(path)
    try:
        with warnings.catch_warnings():
            # "Guessed all Masses", "no dt information": irrelevant here.
            warnings.simplefilter("ignore", UserWarning)
            u = mda.Universe(str(path), topology_format="LAMMPSDUMP", format="LAMMPSDUMP",
                             additional_columns=columns, unwrap_images=True)
    except Exception as exc:
        raise InputFileError(f"cannot read LAMMPS dump '{path}': {exc}") from exc
    ids = np.asarray(u.atoms.ids)
    order = np.argsort(ids, kind="stable")
    try:
        types = np.asarray(u.atoms.types).astype(np.int64)[order] - 1
    except ValueError as exc:
        raise InputFileError(f"LAMMPS dump '{path}': column 'type' must hold integers 1, 2, ...") from exc
    positions, steps, cols, box = [], [], {}, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        timesteps = list(_frames(u))
    for ts in timesteps:
        dims = np.asarray(ts.dimensions, dtype=float)
        if not np.allclose(dims[3:], 90.0):
            raise InputFileError(f"LAMMPS dump '{path}': box is triclinic; only orthorhombic boxes are supported")
        box = dims[:3]
        positions.append(np.asarray(ts.positions, dtype=float)[order])
        steps.append(int(round(ts.data.get("step", ts.frame))))
        for name, value in ts.data.items():
            arr = np.asarray(value)
            if name not in _DUMP_STANDARD_COLUMNS and arr.shape == (len(ids),):
                cols.setdefault(name, []).append(arr.astype(float)[order])
    cols = {k: np.stack(v) for k, v in cols.items() if len(v) == len(positions)}
    return Trajectory(positions=np.stack(positions), types=types, box=box,
                      dt=_frame_interval(dt, steps, path), columns=cols)


def _frames(u):
    # Copy each timestep: MDAnalysis reuses one Timestep object while iterating.
    for ts in u.trajectory:
        yield ts.copy()


def _check_dump_header(path: Path) -> None:
    # MDAnalysis' own errors on a malformed dump are cryptic; check the
    # fields trsp needs first so the message names the file and the field.
    try:
        with open(path, "r") as fh:
            head = [next(fh) for _ in range(9)]
    except (OSError, UnicodeDecodeError, StopIteration) as exc:
        raise InputFileError(f"cannot read LAMMPS dump '{path}': not a text dump ({exc.__class__.__name__})") from exc
    if not head[0].startswith("ITEM: TIMESTEP"):
        raise InputFileError(f"LAMMPS dump '{path}': missing field 'ITEM: TIMESTEP' on line 1")
    atoms = head[8].split()
    if atoms[:2] != ["ITEM:", "ATOMS"]:
        raise InputFileError(f"LAMMPS dump '{path}': missing field 'ITEM: ATOMS' on line 9")
    names = set(atoms[2:])
    for field in ("id", "type"):
        if field not in names:
            raise InputFileError(f"LAMMPS dump '{path}': missing column '{field}' in 'ITEM: ATOMS'")
    if not any({a + s for a in "xyz"} <= names for s in ("", "s", "u", "su")):
        raise InputFileError(f"LAMMPS dump '{path}': missing coordinate columns (x y z, xs ys zs, xu yu zu or xsu ysu zsu)")


# ---------------------------------------------------------------- netCDF
def write_netcdf(traj: Trajectory, path, *, extra_attrs: Mapping[str, object] | None = None) -> Path:
    """Write the trsp netCDF layout atomically (temp file + os.replace).

    Only ``descriptor`` and ``phop`` among ``traj.columns`` are written (the
    layout is a contract with ``trsp measure``); other columns are dropped.
    """
    import xarray as xr

    path = Path(path)
    data_vars = {
        "position": (("frame", "particle", "dim"), traj.positions,
                     {"units": "sigma_AA", "long_name": "particle position"}),
        "type": (("particle",), traj.types.astype(np.int32),
                 {"units": "1", "long_name": "species index, 0 = A (large)"}),
    }
    meta = {"descriptor": {"units": "descriptor", "long_name": "per-particle descriptor (softness)"},
            "phop": {"units": "sigma_AA^2", "long_name": "rearrangement indicator p_hop"}}
    for name in NETCDF_OPTIONAL_VARIABLES:
        if name in traj.columns:
            data_vars[name] = (("frame", "particle"), traj.columns[name], meta[name])
    from trsp_core.io.provenance import provenance

    frame = xr.Variable("frame", np.arange(traj.n_frames),
                        {"units": "1", "long_name": "frame index (time = frame x dt)"})
    ds = xr.Dataset(
        data_vars,
        coords={"frame": frame, "dim": ("dim", list("xyz"[: traj.dim]), {"long_name": "Cartesian axis"})},
        # CF attributes, history and references as every trsp output; the layout's own keys after
        attrs={**provenance(None, {"title": "trsp particle trajectory (MD layout)"}),
               "box": traj.box.astype(float), "dt": float(traj.dt),
               "temperature": float(traj.temperature),
               "trsp_md_format_version": NETCDF_FORMAT_VERSION,
               **{k: v for k, v in (extra_attrs or {}).items()}},
    )
    write_dataset(ds, path)
    return path


def read_netcdf(path) -> Trajectory:
    """Read the trsp netCDF layout; errors name the file and the missing field."""
    import xarray as xr

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"netCDF file '{path}' does not exist")
    with netcdf.LOCK:  # netCDF/HDF5 are not thread-safe
        try:
            ds = xr.open_dataset(path, engine="netcdf4")
        except Exception as exc:
            raise InputFileError(f"cannot read netCDF file '{path}': {exc}") from exc
        return _trajectory_from(ds, path)


def _trajectory_from(ds, path) -> Trajectory:
    with ds:
        for var in ("position", "type"):
            if var not in ds.variables:
                raise InputFileError(f"netCDF file '{path}': missing variable '{var}'")
        for att in ("box", "dt"):
            if att not in ds.attrs:
                raise InputFileError(f"netCDF file '{path}': missing attribute '{att}'")
        pos = ds["position"]
        if pos.dims != ("frame", "particle", "dim"):
            raise InputFileError(f"netCDF file '{path}': variable 'position' has dims {pos.dims}, expected ('frame', 'particle', 'dim')")
        cols = {name: ds[name].values for name in NETCDF_OPTIONAL_VARIABLES if name in ds.variables}
        return Trajectory(positions=pos.values, types=ds["type"].values,
                          box=np.atleast_1d(ds.attrs["box"]), dt=float(ds.attrs["dt"]),
                          columns=cols, temperature=float(ds.attrs.get("temperature", np.nan)))


def atomic_write(path, write) -> None:
    """Call ``write(tmp_path)`` on a temp file beside ``path``, then rename it into place."""
    from trsp_core.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        write(str(tmp))
