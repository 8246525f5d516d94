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
        for c in result.checks:
            mark = "PASS" if c.passed else "FAIL"
            typer.echo(f"{mark}  {c.name:<22} statistic {c.statistic:10.4g}  threshold {c.threshold:10.4g}")
        typer.echo(f"report: {path} ({result.info['wall_s']:.1f} s)")
    if not result.passed:
        typer.echo(f"trsp validate: failed checks: {', '.join(result.failed())}", err=True)
        raise typer.Exit(1)
    sys.stdout.flush()
