"""`trsp descriptors list|fit|compute|assess`: structural descriptors computed from MD trajectories.

Every descriptor comes from the registry (``trsp_structural_descriptors``), so a
third-party plugin's descriptor runs through exactly the same commands.

``compute`` writes the trsp netCDF layout that `trsp softness apply` writes
(``position``, ``type``, ``descriptor``, ``phop``; attributes ``box``, ``dt``,
``temperature``, ``phop_window``) plus the descriptor's provenance, so
`trsp measure` reads the files unchanged.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import numpy as np
import typer

from trsp_core.errors import ParameterError, TRSPError

app = typer.Typer(help="Structural descriptors from MD trajectories: compute, standardise, assess.",
                  no_args_is_help=True, add_completion=False)


def _fail(exc: Exception) -> None:
    typer.echo(f"trsp: error: {exc}", err=True)
    raise typer.Exit(code=2)


def parse_params(items: List[str] | None) -> dict:
    """["r_max=1.5", "average=true"] -> {"r_max": "1.5", "average": "true"} (converted by the descriptor)."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"parameter '--param' must be NAME=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def resolve(spec: str, params: dict | None = None, registry=None):
    """A descriptor from a registered NAME (with ``params``) or a descriptor file (.json) written by `fit`."""
    from trsp_core.plugin.interfaces import load_descriptor
    from trsp_core.plugin.registry import default_registry

    reg = registry or default_registry()
    path = Path(spec)
    if path.suffix == ".json" or (path.is_file() and spec not in reg.names("structural")):
        if params:
            raise ParameterError(f"descriptor file '{spec}' fixes its parameters; drop --param")
        return load_descriptor(path, registry=reg)
    return reg.get("structural", spec)(params or None)


def raw_values(descriptor, traj, stride: int = 1) -> np.ndarray:
    """Raw (F, N) values of every ``stride``-th frame (NaN elsewhere)."""
    frames = list(range(0, traj.n_frames, stride))
    out = np.full((traj.n_frames, traj.n_particles), np.nan)
    out[frames] = descriptor.raw((traj.box, traj.positions[frames], traj.types))
    return out


def output_paths(out: Path, trajs: List[Path], name: str) -> List[Path]:
    return [out] if len(trajs) == 1 else [out / f"{p.stem}.{name}.nc" for p in trajs]


def compute_files(descriptor, trajs: List[Path], out: Path, *, window: int = 10, stride: int = 1,
                  dt: float | None = None, echo=None):
    """Compute, standardise (pooled over all ``trajs`` unless already fitted) and write; returns
    (the fitted descriptor, [written paths])."""
    from trsp_core.md.mdio import read_trajectory, write_netcdf
    from trsp_core.md.phop import phop as compute_phop

    if stride < 1:
        raise ParameterError(f"parameter '--stride' must be >= 1, got {stride}")
    if window < 2 or window % 2:
        raise ParameterError(f"parameter '--window' must be an even integer >= 2, got {window}")
    loaded = [read_trajectory(p, dt=dt) for p in trajs]
    raws = [raw_values(descriptor, t, stride) for t in loaded]
    if not descriptor.fitted:
        # One standardisation for all files: per-file standardisation would erase the
        # temperature dependence of <S> that `trsp measure` fits as mu(T).
        descriptor = descriptor.fit([(t.box, t.positions[:1], t.types) for t in loaded], raws=raws)
    prov = descriptor.provenance()
    st = descriptor.standardisation
    written = []
    for src, t, raw, dst in zip(trajs, loaded, raws, output_paths(out, trajs, descriptor.name)):
        s = descriptor.standardised(raw, t.types)
        p = t.columns.get("phop")
        if p is None:
            p = compute_phop(t.positions, t.box, window)
        attrs = {"phop_window": window, "descriptor_name": descriptor.name, "descriptor_sign": int(descriptor.sign),
                 "descriptor_parameters": json.dumps(prov["parameters"]),
                 "descriptor_standardisation_mean": np.asarray(st.mean, float),
                 "descriptor_standardisation_std": np.asarray(st.std, float),
                 "descriptor_provenance": json.dumps(prov, allow_nan=True),
                 "descriptor_stride": stride}
        write_netcdf(t.with_columns(descriptor=s, phop=p), dst, extra_attrs=attrs)
        written.append(dst)
        if echo is not None:
            sel = np.isfinite(s)
            echo(f"{src} -> {dst}: {descriptor.name} raw mean {np.nanmean(raw):+.4g}, std {np.nanstd(raw):.4g}; "
                 f"standardised: {int(sel.sum())} finite values")
    return descriptor, written


@app.command("list")
def list_(json_out: bool = typer.Option(False, "--json", help="one JSON object per descriptor")):
    """The registered structural descriptors, their parameters (defaults) and sign convention."""
    import attrs

    from trsp_core.plugin.registry import default_registry

    reg = default_registry()
    rows = []
    for name in reg.names("structural"):
        info = reg.info("structural", name)
        factory = info.obj
        params_cls = getattr(factory, "Params", None)
        defaults = ({f.name: f.default for f in attrs.fields(params_cls)}
                    if params_cls is not None and attrs.has(params_cls) else {})
        rows.append({"name": name, "description": info.description, "distribution": info.distribution or "(python)",
                     "sign": int(getattr(factory, "sign", 1)), "sign_known": bool(getattr(factory, "sign_known", False)),
                     "parameters": {k: v for k, v in defaults.items()}})
    if json_out:
        typer.echo(json.dumps(rows, default=str))
        return
    for r in rows:
        params = ", ".join(f"{k}={v}" for k, v in r["parameters"].items()) or "-"
        typer.echo(f"{r['name']:<16} sign {r['sign']:+d}{'' if r['sign_known'] else '?'}  {r['description']}")
        typer.echo(f"{'':<16} parameters: {params}   ({r['distribution']})")


@app.command()
def fit(
    name: str = typer.Argument(..., help="registered descriptor (see `trsp descriptors list`)"),
    traj: List[Path] = typer.Argument(..., help="training trajectories (.gsd, LAMMPS dump, .nc, .npz)"),
    out: Path = typer.Option(..., "--out", help="descriptor file to write (JSON)"),
    param: Optional[List[str]] = typer.Option(None, "--param", help="NAME=VALUE descriptor parameter (repeatable)"),
    stride: int = typer.Option(1, help="use every STRIDE-th frame"),
    dt: Optional[float] = typer.Option(None, help="time between frames (GSD/dump)"),
):
    """Standardise a descriptor over training frames and write it (parameters, sign, mean/std, versions)."""
    from trsp_core.md.mdio import read_trajectory
    from trsp_core.plugin.interfaces import save_descriptor

    try:
        if stride < 1:
            raise ParameterError(f"parameter '--stride' must be >= 1, got {stride}")
        desc = resolve(name, parse_params(param))
        loaded = [read_trajectory(p, dt=dt) for p in traj]
        systems = [(t.box, t.positions[::stride], t.types) for t in loaded]
        desc = desc.fit(systems)
        save_descriptor(desc, out)
    except TRSPError as exc:
        _fail(exc)
    st = desc.standardisation
    typer.echo(f"{desc.name}: mean {list(np.round(st.mean, 6))}, std {list(np.round(st.std, 6))} per species "
               f"over {list(st.count)} particle-frames; written to {out}")


@app.command()
def compute(
    name: str = typer.Argument(..., metavar="NAME|FILE.json",
                               help="registered descriptor, or a descriptor file written by `fit`"),
    traj: List[Path] = typer.Argument(..., help="trajectory files"),
    out: Path = typer.Option(..., "--out", help="netCDF file (one TRAJ) or directory (several TRAJ)"),
    param: Optional[List[str]] = typer.Option(None, "--param", help="NAME=VALUE descriptor parameter (repeatable)"),
    window: int = typer.Option(10, help="p_hop window in frames (when the file has no phop)"),
    stride: int = typer.Option(1, help="compute every STRIDE-th frame (others NaN; `trsp measure` needs 1)"),
    dt: Optional[float] = typer.Option(None, help="time between frames (GSD/dump)"),
    save: Optional[Path] = typer.Option(None, "--save-descriptor", help="also write the fitted descriptor (JSON)"),
):
    """Per-particle descriptor and p_hop in the trsp netCDF layout (what `trsp measure` reads).

    With NAME the standardisation is fitted on all TRAJ pooled (one mean/std per
    species); with a descriptor file its stored standardisation is used.
    """
    from trsp_core.plugin.interfaces import save_descriptor

    try:
        desc = resolve(name, parse_params(param))
        desc, _ = compute_files(desc, traj, out, window=window, stride=stride, dt=dt, echo=typer.echo)
        if save is not None:
            save_descriptor(desc, save)
            typer.echo(f"descriptor written to {save}")
    except TRSPError as exc:
        _fail(exc)
