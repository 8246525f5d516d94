"""The ``trsp`` command line: a thin typer layer over the Python API."""
from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from trsp_core.errors import TRSPError
from trsp_core.spec import DEFAULTS, ModelSpec

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Time-Reversible Structuro-Plastic lattice models of supercooled liquids.")


def _print_version(value: bool) -> None:
    if value:
        from trsp_core._version import __version__

        typer.echo(f"trsp {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                                help="print the version and exit")] = False):
    """Time-Reversible Structuro-Plastic lattice models of supercooled liquids."""


def _fail(msg: str) -> None:
    typer.echo(f"trsp: error: {msg}", err=True)
    raise typer.Exit(2)


# ---- shared options ---------------------------------------------------------------
Descriptor = Annotated[str, typer.Option(help="descriptor plugin (see `trsp plugins`)")]
LatticeOpt = Annotated[str, typer.Option("--lattice", help="lattice plugin")]
Size = Annotated[int, typer.Option(help="sites per lattice axis L")]
Cluster = Annotated[str, typer.Option(help='cluster rule plugin: single, bond, plaquette (square/cubic), triangle (triangular), tetrahedron (fcc), or a weighted mixture such as "single:0.3+plaquette:0.7"')]
DeltaRule = Annotated[str, typer.Option("--delta-rule", help="K_Delta distance rule: nearest | center-of-mass")]
Rate = Annotated[str, typer.Option(help="rate-law plugin")]
Temperature = Annotated[float, typer.Option(help="temperature T (MD units)")]
Facilitation = Annotated[float, typer.Option(help="facilitation factor c multiplying K_Delta")]
Params = Annotated[Optional[Path], typer.Option(help="TOML file overriding the descriptor's parameters")]


def _spec(descriptor, lattice, size, cluster, delta_rule, rate, temperature, facilitation, params) -> ModelSpec:
    return ModelSpec(descriptor=descriptor, lattice=lattice, size=size, cluster=cluster, delta_rule=delta_rule,
                     rate=rate, temperature=temperature, facilitation=facilitation, params=params)



@app.command()
def plugins(json_out: Annotated[bool, typer.Option("--json", help="print one JSON object {kind: [names]}")] = False):
    """List the plugins of every kind (built-in and installed third-party), with where they come from."""
    from trsp_core.plugin.registry import default_registry

    reg = default_registry()
    if json_out:
        typer.echo(json.dumps(reg.listing()))
        return
    for kind, items in reg.describe().items():
        typer.echo(f"{kind}:")
        for it in items:
            typer.echo(f"  {it['name']:<18} {it['distribution']:<16} {it['description']}")
    for failure in reg.failures:
        typer.echo(f"  skipped: {failure}")


@app.command()
def compose(
    descriptor: Descriptor = DEFAULTS.descriptor,
    lattice: LatticeOpt = DEFAULTS.lattice,
    size: Size = DEFAULTS.size,
    cluster: Cluster = DEFAULTS.cluster,
    delta_rule: DeltaRule = DEFAULTS.delta_rule,
    rate: Rate = DEFAULTS.rate,
    temperature: Temperature = DEFAULTS.temperature,
    facilitation: Facilitation = DEFAULTS.facilitation,
    params: Params = None,
    observables: Annotated[str, typer.Option(help="comma-separated observable plugins")] = "overlap",
    seeds: Annotated[int, typer.Option(help="number of independent seeds")] = 8,
    seed: Annotated[int, typer.Option(help="first seed; run i uses seed + i")] = 0,
    duration: Annotated[Optional[float], typer.Option(help="frames per run (default: 30 mean rearrangement times)")] = None,
    backend: Annotated[str, typer.Option(help="auto | fast | reference")] = "auto",
    out: Annotated[Path, typer.Option(help="netCDF output file")] = Path("trsp_out/compose.nc"),
    json_out: Annotated[bool, typer.Option("--json", help="print a JSON summary")] = False,
):
    """Compose a model from plugins by name, simulate it and write one netCDF file."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from trsp_core.model import summary as run_summary

    from trsp_core.backends.simulate import resolve_backend
    from trsp_core.io import check_output_file
    from trsp_core.observables import resolve
    from trsp_core.validators import check_duration, check_seeds

    # every option is checked, and the output path tried, before the model is built
    check_seeds(seed, seeds, prefix="--")
    check_duration(duration, "--duration")
    resolve_backend(backend)
    obs = [o.strip() for o in observables.split(",") if o.strip()]
    resolve(obs or ["overlap"])
    check_output_file(out, "--out")
    spec = _spec(descriptor, lattice, size, cluster, delta_rule, rate, temperature, facilitation, params)
    # pre-flight: memory and time from a small copy of the model, before the full-size build
    from trsp_core.resources import check_fits, estimate_compose
    from trsp_core.streaming import _is_fourpoint, compose_to_file, streamable
    from trsp_core.progress import LineProgress

    resolved = resolve(obs or ["overlap"])
    est = estimate_compose(spec, seeds=seeds, duration=duration, backend=resolve_backend(backend),
                           streamed=streamable(resolved), fourpoint=any(_is_fourpoint(o) for o in resolved))
    check_fits(est, out=out)
    model = spec.build()
    model.check_feasible()  # a bad kick is one error line, before the estimate is printed
    typer.echo(est.line(), err=True)
    tty = sys.stderr.isatty()
    lines = LineProgress("trsp compose") if not tty else None  # stderr lines; --json output is on stdout
    with Progress(TextColumn("[bold]trsp compose"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
                  TimeRemainingColumn(), transient=True, disable=json_out or not tty,
                  console=None) as bar:
        task = bar.add_task("run", total=1.0)

        def progress(t, tot, events=None):
            bar.update(task, completed=t / tot)
            if lines:
                lines(t, tot, events)

        # the event log streams to --out chunk by chunk: memory does not grow with the run length
        try:
            ds = compose_to_file(model, out, seeds=seeds, seed=seed, duration=duration,
                                 observables=obs or ["overlap"], backend=backend, progress=progress)
        except KeyboardInterrupt:
            # the atomic writer removed its temporary: nothing half-written is left under --out
            bar.stop()
            typer.echo(f"trsp compose: interrupted; {out} not written (a compose does not resume: "
                       "rerun it, or use `trsp sweep`, which keeps finished runs)", err=True)
            raise typer.Exit(130) from None
    summary = run_summary(ds)
    summary["out"] = str(out)
    if json_out:
        typer.echo(json.dumps(summary))
    else:
        for k, v in _human(summary):
            typer.echo(f"{k:>14}: {v}")


_PEAK_KEYS = ("tau_alpha", "tau_alpha_err", "chi4_star", "chi4_star_err")
_UNITS = {"duration": "frames", "tau_alpha": "frames", "temperature": "epsilon_AA/k_B", "wall_s": "s"}


from trsp_core.observables.stats import value_with_error  # noqa: E402,F401  (re-exported)


def _human(summary):
    """The printed summary: values with errors and units; a peak not measured says why."""
    for k, v in summary.items():
        if k.endswith("_err") and k in _PEAK_KEYS:
            continue  # folded into its value's line
        if k in _PEAK_KEYS:
            if v is None:
                yield k, _shown(k, v, summary)
                continue
            err = summary.get(f"{k}_err")
            text = value_with_error(v, err) + ("" if err is not None else " (no error: needs >= 2 seeds)")
        elif isinstance(v, float):
            text = f"{v:.4g}"
        elif isinstance(v, int) and not isinstance(v, bool):
            text = f"{v:,}"               # 103,329 events
        else:
            text = str(v)
        yield k, text + (f" {_UNITS[k]}" if k in _UNITS else "")


def _shown(key, value, summary):
    """A peak value not measured is None in the summary (null in JSON): say why, never a number."""
    if value is not None or key not in _PEAK_KEYS:
        return value
    if summary.get(key.replace("_err", "")) is None:
        return "nan (not measured, see the warning)"
    return "nan (a bootstrap error needs >= 2 seeds)"


@app.command()
def inspect(
    lattice: LatticeOpt = DEFAULTS.lattice,
    size: Size = 6,
    cluster: Cluster = DEFAULTS.cluster,
    delta_rule: DeltaRule = DEFAULTS.delta_rule,
    temperature: Temperature = DEFAULTS.temperature,
    facilitation: Facilitation = DEFAULTS.facilitation,
    descriptor: Descriptor = DEFAULTS.descriptor,
    rate: Rate = DEFAULTS.rate,
    params: Params = None,
    orientation: Annotated[int, typer.Option(help="cluster orientation index")] = 0,
    out: Annotated[Path, typer.Option(help="netCDF output file")] = Path("trsp_out/kernel.nc"),
):
    """Write the rearrangement kernel (H, mu', K_Delta, K') of one cluster for inspection."""
    from trsp_core.io import check_output_file, write_dataset

    check_output_file(out, "--out")
    spec = _spec(descriptor, lattice, size, cluster, delta_rule, rate, temperature, facilitation, params)
    ds = spec.build().kernel_dataset(orientation)
    write_dataset(ds, out)
    typer.echo(f"wrote {out}: H {ds.sizes['row']} x {ds.sizes['col']}, max eig(K_Delta K'^-1) = {ds.attrs['kick_b_max']:.4g}")


# Commands implemented in their own modules. They are imported only when invoked,
# so `trsp compose` does not pay for dask, scikit-learn or MDAnalysis imports.
_EXTERNAL = {
    "bench": ("trsp_core.cli.bench:bench", "Events/s of the fast kernel and the dense reference, side by side."),
    "validate": ("trsp_core.cli.validate:validate", "Run a composed model and test it against its targets."),
    "measure": ("trsp_core.cli.measure:measure", "Fit model parameters from MD descriptor data."),
    "sweep": ("trsp_core.cli.campaigns:sweep", "Temperature x seed x variant campaigns on dask.distributed."),
    "plot": ("trsp_core.cli.campaigns:plot", "The paper's figure set from a sweep."),
    "age": ("trsp_core.cli.campaigns:age", "Aging after a quench, TRSP vs trap model."),
    "md": ("trsp_core.cli.md:app", "MD-side tools: the KA reference set."),
    "compare": ("trsp_core.cli.compare:app", "Model against MD: tau_alpha, chi4*, xi4, Q(t), chi4(t) in MD time units."),
    "softness": ("descriptors.softness_ml.cli:app", "Train and apply the softness descriptor on MD trajectories."),
    "descriptors": ("trsp_core.cli.descriptors:app",
                    "Structural descriptors (q6, w6, Voronoi volume, s2, five-fold, softness, plugins) from MD."),
}


def _load_external(name: str) -> typer.Typer:
    target = _EXTERNAL[name][0]
    mod, attr = target.split(":")
    obj = getattr(importlib.import_module(mod), attr)
    if isinstance(obj, typer.Typer):
        return obj
    sub = typer.Typer(add_completion=False)
    sub.command(name)(obj)
    return sub


def _add_lazy(name: str, help_text: str) -> None:
    @app.command(name, help=help_text, add_help_option=False,
                 context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    def _forward(ctx: typer.Context):
        try:
            sub = _load_external(name)
        except ImportError as exc:
            _fail(f"command '{name}' is unavailable: {exc}")
        sub(args=list(ctx.args), prog_name=f"trsp {name}")


for _name, (_target, _help) in _EXTERNAL.items():
    _add_lazy(_name, _help)


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings from trsp (skipped plugins, ...) as one line, without source excerpts."""
    print(f"trsp: warning: {message}", file=file or sys.stderr)


def main() -> None:
    import warnings

    warnings.showwarning = _one_line_warning
    try:
        app()
    except TRSPError as exc:
        typer.echo(f"trsp: error: {exc}", err=True)
        sys.exit(2)
    except SystemExit as exc:
        # typer turns a Ctrl-C that no command handled (during a build, a plot) into a silent
        # exit 130 (its Exit raised from the KeyboardInterrupt); say it in one line. Commands
        # that report their own interruption (compose, sweep, age) raise Exit(130) from None.
        if exc.code == 130 and isinstance(getattr(exc.__context__, "__cause__", None), KeyboardInterrupt):
            typer.echo("trsp: interrupted", err=True)
        raise
