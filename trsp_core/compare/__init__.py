"""Model against MD: tau_alpha, chi4*, xi4 and the Q(t), chi4(t) curves of ``trsp
compose`` / ``trsp sweep`` results next to those of MD trajectories (``trsp compare``),
and the MD side on its own (``trsp md dynamics``).

    import trsp_core.compare as cmp
    md = cmp.md_inputs(["T0.60.nc", "T0.70.nc"])          # trajectories or md_dynamics.nc files
    ds = cmp.compare(md, ["compose_T0.60.nc", "sweep/sweep.nc"])
    cmp.write_outputs(ds, "compare_out")                   # compare.nc, compare.md, fig4, fig5

Model times are in model frames and are converted to MD units with ``frame_dt``
(see :mod:`trsp_core.compare.model`). docs/compare.md describes the files.
"""
from __future__ import annotations

from pathlib import Path

from trsp_core.compare.core import SOURCE_FILE_ATTR, compare, load_md, load_model, match_temperatures
from trsp_core.compare.md import (MD_DYNAMICS_FORMAT, REFERENCES, TEMPERATURE_TOLERANCE, group_by_temperature,
                                  is_md_dynamics, md_dynamics, stack_temperatures)
from trsp_core.errors import InputFileError

__all__ = ["MD_DYNAMICS_FORMAT", "REFERENCES", "TEMPERATURE_TOLERANCE", "classify_md_file", "compare",
           "group_by_temperature", "is_md_dynamics", "load_md", "load_model", "match_temperatures", "md_dynamics",
           "md_inputs", "stack_temperatures", "write_outputs"]

_NETCDF = (".nc", ".netcdf", ".nc4")


def classify_md_file(path) -> str:
    """'trajectory' or 'dynamics' (an md_dynamics.nc); InputFileError naming the file otherwise."""
    from trsp_core.io import netcdf

    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"--md file '{path}' does not exist")
    if path.suffix.lower() not in _NETCDF:
        return "trajectory"  # GSD, LAMMPS dump, .npz: read_trajectory names the file if it fails
    try:
        with netcdf.opened(path) as ds:
            if "position" in ds.variables and "type" in ds.variables:
                return "trajectory"
            if is_md_dynamics(ds):
                return "dynamics"
    except (OSError, ValueError) as exc:
        raise InputFileError(f"--md file '{path}' is not a readable netCDF file: {exc}") from None
    raise InputFileError(f"--md file '{path}' is neither an MD trajectory (variables 'position', 'type') nor an "
                         "md_dynamics result (trsp md dynamics)")


def md_inputs(paths, *, temperatures=None, dt: float | None = None, progress=None, **params):
    """MD inputs -> datasets for :func:`compare`: md_dynamics files are read as they are,
    trajectory files are grouped by temperature (``temperatures``: one per trajectory file)
    and run through :func:`md_dynamics` (``params`` for MDDynamics)."""
    from trsp_core.io import read_dataset

    kinds = [(Path(p), classify_md_file(p)) for p in paths]
    trajs = [p for p, k in kinds if k == "trajectory"]
    out = []
    for p, k in kinds:
        if k == "dynamics":
            ds = read_dataset(p)
            ds.attrs[SOURCE_FILE_ATTR] = str(p)
            out.append(ds)
    if trajs:
        try:
            groups = group_by_temperature(trajs, temperatures)
            out.append(md_dynamics(groups, dt=dt, progress=progress, **params))
        except InputFileError as exc:
            raise InputFileError(f"--md: {exc}") from None
    elif temperatures:
        raise InputFileError("--temperature applies to trajectory files only; the --md files are md_dynamics results")
    return out


def write_outputs(ds, out_dir, *, figures: bool = True) -> dict[str, Path]:
    """compare.nc, compare.md and (``figures``) fig4_Q_chi4.png, fig5_tau_chi4_xi4.png in ``out_dir``."""
    from trsp_core.compare.report import markdown
    from trsp_core.errors import ParameterError
    from trsp_core.io import atomic_write_text, write_dataset

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(f"--out '{out}' cannot be created: {exc.strerror}") from None
    paths = {"netcdf": write_dataset(ds, out / "compare.nc")}
    paths["report"] = out / "compare.md"
    atomic_write_text(paths["report"], markdown(ds))
    if figures:
        from trsp_core.compare.figures import fig_curves, fig_scalars

        paths["fig4"] = fig_curves(ds, out / "fig4_Q_chi4.png")
        paths["fig5"] = fig_scalars(ds, out / "fig5_tau_chi4_xi4.png")
    return paths
