"""``trsp measure``: MD trajectories (one file per temperature or run) -> parameter TOML + report."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from trsp_core.spec import DEFAULTS


def measure(
    data: Annotated[list[Path], typer.Argument(help="trajectory files (GSD, LAMMPS dump, trsp netCDF); files at the same temperature are merged as independent runs")],
    out: Annotated[Path, typer.Option(help="output directory (params.toml, measure.nc, report.md, figures)")] = Path("trsp_measure"),
    cluster: Annotated[str, typer.Option(help="cluster rule of the target model (renormalisation)")] = DEFAULTS.cluster,
    lattice: Annotated[str, typer.Option(help="lattice plugin of the target model")] = DEFAULTS.lattice,
    phop_threshold: Annotated[float, typer.Option(help="rearranging: p_hop > threshold (sigma_AA^2)")] = 0.2,
    phop_window: Annotated[int, typer.Option(help="p_hop window W in frames (even), used when the file has no phop")] = 10,
    delta_window: Annotated[int, typer.Option(help="Delta S between t_R - w and t_R + w frames")] = 5,
    species: Annotated[int, typer.Option(help="particle type analysed (0 = A, large)")] = 0,
    temperature: Annotated[Optional[list[float]], typer.Option(help="temperature of each file (repeat; default: the file's attribute)")] = None,
    dt: Annotated[Optional[float], typer.Option(help="time between frames (GSD / dump only)")] = None,
    spacing: Annotated[Optional[float], typer.Option(help="lattice spacing a (default: first peak of g(r))")] = None,
    s_bin_width: Annotated[float, typer.Option(help="width of the S bins")] = 0.25,
    name: Annotated[str, typer.Option(help="descriptor name written into the TOML")] = "measured",
    corr_temperatures: Annotated[Optional[list[float]], typer.Option("--corr-temperature", help="fit C(r) pooled over these temperatures only (repeat; default all; the paper: high T)")] = None,
    kick_temperatures: Annotated[Optional[list[float]], typer.Option("--kick-temperature", help="pool the Delta S statistics over these temperatures (repeat; default: those with few overlapping rearrangements)")] = None,
    fix: Annotated[Optional[list[str]], typer.Option(help="NAME=VALUE: fix a parameter (repeat), e.g. T0=0.74; T0 and a are imposed in the fits, others override the fitted value")] = None,
    corr_r_max: Annotated[float, typer.Option(help="fit range of C(r) (sigma_AA)")] = 4.0,
    kick_feasibility: Annotated[str, typer.Option(help="infeasible kick (max eig K_Delta K'^-1 >= 1): shrink s(r) to the target, or error")] = "shrink",
    tabulate_profiles: Annotated[str, typer.Option(help="auto: write C(r), s(r), rho(r) as tabulated profiles (the measured shells) where the almost-exponential fit is poor; never: always the fit")] = "auto",
    no_figures: Annotated[bool, typer.Option("--no-figures", help="skip the PNG figures")] = False,
):
    """Measure TRSP model parameters from MD data (paper Sec. V, Apps. D, E)."""
    from trsp_core.errors import TRSPError
    from trsp_core.measure import MeasureOptions, concat, load, measure as run_measure, write_outputs

    try:
        from trsp_core.io import check_output_dir

        check_output_dir(out, "--out")  # before any work: an unwritable --out fails now, not after the fits
        if temperature and len(temperature) != len(data):
            raise TRSPError(f"--temperature given {len(temperature)} times for {len(data)} files")
        fixed = {}
        for item in fix or []:
            key, sep, val = item.partition("=")
            if not sep:
                raise TRSPError(f"--fix must be NAME=VALUE, got {item!r}")
            fixed[key.strip()] = val.strip()
        opts = MeasureOptions(phop_threshold=phop_threshold, phop_window=phop_window, delta_window=delta_window,
                              species=species, spacing=spacing, cluster=cluster, lattice=lattice,
                              s_bin_width=s_bin_width, name=name, corr_temperatures=corr_temperatures or None,
                              kick_temperatures=kick_temperatures or None, fixed=fixed, corr_r_max=corr_r_max,
                              kick_feasibility=kick_feasibility, tabulate_profiles=tabulate_profiles)
        loaded = [load(p, opts, temperature=(temperature[i] if temperature else None), dt=dt) for i, p in enumerate(data)]
        by_t: dict[float, list] = {}
        for d in loaded:
            by_t.setdefault(d.temperature, []).append(d)
        datasets = [v[0] if len(v) == 1 else concat(v) for v in by_t.values()]
        res = run_measure(datasets, opts)
        paths = write_outputs(res, out, figures=not no_figures)
    except TRSPError as exc:
        typer.echo(f"trsp: error: {exc}", err=True)
        raise typer.Exit(2)
    for f in res.diagnostics.warnings:
        typer.echo(f"trsp: warning: {f}", err=True)
    typer.echo(f"lattice spacing a = {res.spacing:.4g} sigma_AA, frame_dt = {res.params.frame_dt:g}")
    for k, p in paths.items():
        typer.echo(f"{k}: {p}")
    if not res.valid:
        for f in res.failures:
            typer.echo(f"trsp: error: measured parameters invalid: {f}", err=True)
        typer.echo(f"trsp: error: no params.toml written; see {paths['report']}", err=True)
        raise typer.Exit(2)
