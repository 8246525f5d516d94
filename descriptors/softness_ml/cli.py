"""`trsp softness train|apply`: the softness pipeline from the command line.

Trajectories: .gsd, LAMMPS dump, the trsp netCDF layout (a `phop` variable
there is used as is; otherwise p_hop is computed with --window), or trsp's
compact .npz (e.g. the committed fixture tests/fixtures/ka/ka_T055.npz).
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import numpy as np
import typer

from trsp_core.md.mdio import read_trajectory, write_netcdf
from trsp_core.md.phop import phop as compute_phop
from descriptors.softness_ml.structure import NEIGHBOUR_BACKENDS, StructureParams
from descriptors.softness_ml.training import (HoldoutParams, LabelParams, SoftnessModel, SVMParams,
                                              apply_softness, train_softness)
from trsp_core.errors import ParameterError, TRSPError
from trsp_core.io.atomic import check_output_dir, check_output_file

app = typer.Typer(help="Softness from particle trajectories: structure functions, p_hop, linear SVM.",
                  no_args_is_help=True, add_completion=False)


def _fail(exc: Exception) -> None:
    typer.echo(f"trsp: error: {exc}", err=True)     # the prefix every trsp command uses
    raise typer.Exit(code=2)


def _check_backend(backend: str) -> str:
    if backend not in NEIGHBOUR_BACKENDS:
        raise ParameterError(f"parameter '--neighbours' must be one of {NEIGHBOUR_BACKENDS}, got {backend!r}")
    return backend


@app.command()
def train(
    traj: List[Path] = typer.Argument(..., help="trajectory files (.gsd, LAMMPS dump, .nc, .npz)"),
    out: Path = typer.Option(..., "--out", help="model file to write (JSON; .json added if no suffix)"),
    window: int = typer.Option(10, help="p_hop window W in frames (even)"),
    quiet_window: int = typer.Option(40, help="frames a non-rearranging particle must stay quiet before t"),
    rearranging: float = typer.Option(0.6, help="p_hop above which a particle is rearranging"),
    quiet: float = typer.Option(0.02, help="p_hop below which a particle is quiet"),
    species: List[int] = typer.Option([0], help="central species to train on (repeatable); 0 = A"),
    n_species: int = typer.Option(2, help="number of species (radial blocks)"),
    max_per_class: int = typer.Option(2000, help="cap on samples per class after balancing"),
    c: float = typer.Option(0.1, "--C", help="LinearSVC regularisation C"),
    folds: int = typer.Option(5, help="cross-validation folds (grouped by particle)"),
    seed: int = typer.Option(0, help="seed for class balancing"),
    holdout: float = typer.Option(0.2, help="last fraction of each trajectory's frames held out for P(R|S) "
                                  "(labels come from the frames before it; 0: none)"),
    pr_bins: int = typer.Option(5, help="softness bins (quantiles) of the held-out P(R|S)"),
    pr_threshold: float = typer.Option(0.2, help="p_hop above which a held-out particle rearranges "
                                       "(the paper's analysis threshold; training labels use --rearranging)"),
    dt: Optional[float] = typer.Option(None, help="time between frames (GSD/dump; default: step difference)"),
    neighbours: str = typer.Option("cells", help=f"neighbour search: {', '.join(NEIGHBOUR_BACKENDS)}"),
    progress: bool = typer.Option(True, help="rich progress bars"),
):
    """Train a linear-SVM softness on p_hop-labelled particles; report CV scores and held-out P(R|S)."""
    if out.suffix == "":
        out = out.with_suffix(".json")
    try:
        check_output_file(out, "--out")          # before the training, not after it
        label = LabelParams(window=window, rearranging_min=rearranging, quiet_max=quiet,
                            quiet_window=quiet_window, species=species)
        svm = SVMParams(C=c, max_per_class=max_per_class, folds=folds, seed=seed)
        structure = StructureParams(n_species=n_species)
        held = HoldoutParams(fraction=holdout, bins=pr_bins, threshold=pr_threshold)
        backend = _check_backend(neighbours)
        trajs = [read_trajectory(p, dt=dt) for p in traj]
        model, ts = train_softness(trajs, label, svm, structure, held, backend=backend, progress=progress)
        model.save(out)
    except TRSPError as exc:
        _fail(exc)
    for line in report_lines(model, ts, folds):
        typer.echo(line)
    typer.echo(f"model written to {out}")


def report_lines(model: SoftnessModel, ts, folds: int) -> list[str]:
    """The printed training report: training set, CV scores, held-out P(R|S) table."""
    n_quiet, n_rear = ts.n_available
    lines = [f"training set: {n_rear} rearranging, {n_quiet} quiet available; {model.n_per_class} per class used",
             f"cross-validated ({folds}-fold, grouped by particle), mean +- std over folds:",
             f"  accuracy           {model.cv_accuracy:.3f} +- {model.cv_accuracy_std:.3f}",
             f"  balanced accuracy  {model.cv_balanced_accuracy:.3f} +- {model.cv_balanced_accuracy_std:.3f}",
             f"  ROC AUC            {model.cv_roc_auc:.3f} +- {model.cv_roc_auc_std:.3f}"]
    h = model.holdout
    if not h:
        lines.append("held-out P(R|S): none (--holdout 0)")
    elif not h["n_samples"]:
        lines.append("held-out P(R|S): no held-out frames (trajectory too short for --holdout and --window)")
    else:
        n_frames = sum(len(f) for f in h["frames"])
        lines.append(f"held-out P(R|S) (last {h['fraction']:.0%} of frames, {n_frames} frames, "
                     f"{h['n_samples']} samples, R: p_hop > {h['threshold']:g}, {h['n_rearranging']} rearranging):")
        for a, b, p, e, n in zip(h["edges"][:-1], h["edges"][1:], h["p"], h["err"], h["counts"]):
            lines.append(f"  S in [{a:+.2f}, {b:+.2f})  P(R|S) = {p:.4f} +- {e:.4f}  (n = {n})")
    return lines


@app.command()
def apply(
    model_path: Path = typer.Argument(..., metavar="MODEL", help="model written by `train`"),
    traj: List[Path] = typer.Argument(..., help="trajectory files"),
    out: Path = typer.Option(..., "--out", help="netCDF file (one TRAJ) or directory (several TRAJ)"),
    window: Optional[int] = typer.Option(None, help="p_hop window (default: the model's)"),
    dt: Optional[float] = typer.Option(None, help="time between frames (GSD/dump)"),
    stride: int = typer.Option(1, help="compute softness every STRIDE-th frame (others NaN)"),
    neighbours: str = typer.Option("cells", help=f"neighbour search: {', '.join(NEIGHBOUR_BACKENDS)}"),
    progress: bool = typer.Option(True, help="rich progress bars"),
):
    """Write per-particle softness (`descriptor`) and `phop` in the trsp netCDF layout."""
    try:
        if stride < 1:
            raise ParameterError(f"parameter '--stride' must be >= 1, got {stride}")
        backend = _check_backend(neighbours)
        model = SoftnessModel.load(model_path)
        w = model.label.window if window is None else window
        if len(traj) == 1:
            targets = [check_output_file(out, "--out")]
        else:
            targets = [check_output_dir(out, "--out (a directory for several TRAJ)") / f"{p.stem}.softness.nc"
                       for p in traj]
            for dst in targets:
                check_output_file(dst, "output file")
        for src, dst in zip(traj, targets):
            t = read_trajectory(src, dt=dt)
            p = t.columns.get("phop")
            if p is None or window is not None:
                p = compute_phop(t.positions, t.box, w)
            s = apply_softness(model, t, frames=range(0, t.n_frames, stride), backend=backend, progress=progress)
            write_netcdf(t.with_columns(descriptor=s, phop=p), dst,
                         extra_attrs={"phop_window": w, "softness_model": str(model_path),
                                      "softness_cv_accuracy": model.cv_accuracy})
            typer.echo(f"{src} -> {dst}: softness mean {np.nanmean(s):+.3f}, std {np.nanstd(s):.3f}")
    except TRSPError as exc:
        _fail(exc)
