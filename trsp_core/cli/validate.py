"""``trsp validate``: compose a model, run the validation suite, write a report, exit 1 on failure."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from trsp_core.spec import DEFAULTS, ModelSpec


def validate(
    descriptor: Annotated[str, typer.Option(help="descriptor plugin (see `trsp plugins`)")] = DEFAULTS.descriptor,
    lattice: Annotated[str, typer.Option("--lattice", help="lattice plugin")] = DEFAULTS.lattice,
    size: Annotated[Optional[int], typer.Option(help="sites per lattice axis L (default 8 with --quick, else 10)")] = None,
    cluster: Annotated[str, typer.Option(help='cluster rule plugin: single, bond, plaquette (square/cubic), triangle (triangular), tetrahedron (fcc), or a weighted mixture such as "single:0.3+plaquette:0.7"')] = DEFAULTS.cluster,
    delta_rule: Annotated[str, typer.Option("--delta-rule", help="K_Delta distance rule: nearest | center-of-mass")] = DEFAULTS.delta_rule,
    rate: Annotated[str, typer.Option(help="rate-law plugin")] = DEFAULTS.rate,
    temperature: Annotated[float, typer.Option(help="temperature T (MD units)")] = DEFAULTS.temperature,
    facilitation: Annotated[float, typer.Option(help="facilitation factor c multiplying K_Delta")] = DEFAULTS.facilitation,
    params: Annotated[Optional[Path], typer.Option(help="TOML file overriding the descriptor's parameters")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="16 seeds x 20 mean rearrangement times (< 3 min at L = 8)")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="print {\"checks\": [...]} as JSON on stdout")] = False,
    out: Annotated[Path, typer.Option(help="directory for report.md, figures, checks.json, netCDF data")] = Path("trsp_out/validate"),
    seed: Annotated[int, typer.Option(help="first seed; run i uses seed + i")] = 0,
    backend: Annotated[str, typer.Option(help="auto | fast | reference")] = "auto",
):
    """Simulate a composed model and test every observable against its target; exit 1 if a check fails."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from trsp_core.validation import figures, report
    from trsp_core.validation.suite import SuiteConfig, run_suite

    from trsp_core.backends.simulate import resolve_backend
    from trsp_core.io import check_output_dir
    from trsp_core.validators import check_seeds

    L = size if size is not None else (8 if quick else 10)
    resolve_backend(backend)
    check_output_dir(out, "--out")
    model = ModelSpec(descriptor=descriptor, lattice=lattice, size=L, cluster=cluster, delta_rule=delta_rule,
                      rate=rate, temperature=temperature, facilitation=facilitation, params=params).build()
    cfg = SuiteConfig.quick(seed=seed, backend=backend) if quick else SuiteConfig(seed=seed, backend=backend)
    check_seeds(seed, cfg.n_seeds, prefix="--")
    err = Console(stderr=True)
    with Progress(TextColumn("[bold]trsp validate[/] {task.description:<18}"), BarColumn(),
                  TextColumn("{task.percentage:>5.1f}%"), TimeElapsedColumn(), console=err, transient=True,
                  disable=json_out or not err.is_terminal) as bar:
        task = bar.add_task("starting", total=1.0)
        result = run_suite(model, cfg, progress=lambda stage, f: bar.update(task, description=stage, completed=f))
        bar.update(task, description="figures", completed=1.0)
        figs = figures.write_all(result.datasets, model, out)
        path = report.write(result, model, out, figs)
    if json_out:
        typer.echo(json.dumps(result.as_json()))
    else:
        for line in summary_lines(result, path):
            typer.echo(line)
    if not result.passed:
        typer.echo(f"trsp validate: failed checks: {', '.join(result.failed())}", err=True)
        raise typer.Exit(1)
    sys.stdout.flush()


#: units of the measured/target values some checks carry (the statistics are dimensionless)
_CHECK_UNITS = {"mean-S": "(descriptor units)", "mean-rate": "rearrangements per site per frame"}


def summary_lines(result, path) -> list[str]:
    """The printed summary: each check's statistic by kind against its threshold (both
    dimensionless), the measured value with its unit where a check has one, and the run."""
    lines = []
    for c in result.checks:
        mark = "PASS" if c.passed else "FAIL"
        line = f"{mark}  {c.name:<22} {c.statistic_kind:>10} = {c.statistic:9.4g}  (threshold {c.threshold:.4g})"
        if "measured" in c.details and c.name in _CHECK_UNITS:
            line += f"  measured {c.details['measured']:.4g}, target {c.details['target']:.4g} {_CHECK_UNITS[c.name]}"
        lines.append(line)
    info = result.info
    lines.append(f"run: {info['n_seeds']} seeds x {info['duration']:.4g} frames, {info['events']:,} events, "
                 f"T = {info['temperature']:g} epsilon_AA/k_B, tau_alpha = {info['tau_alpha']:.4g} frames")
    lines.append(f"report: {path} (wall {info['wall_s']:.1f} s)")
    return lines
