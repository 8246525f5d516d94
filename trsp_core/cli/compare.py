"""``trsp compare``: the model (compose / sweep files) against MD (trajectories or
``trsp md dynamics`` output) -> compare.nc, compare.md and two figures."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

#: options that take several values after one flag (``--md a.nc b.nc``)
VARIADIC = ("--md", "--model")


def expand_variadic(args: list[str], variadic=VARIADIC) -> list[str]:
    """``--md a b --model c`` -> ``--md a --md b --model c`` (click options take one value each)."""
    out, current = [], None
    for a in args:
        if a.startswith("-") and a != "-":
            name = a.split("=", 1)[0]
            current = name if name in variadic else None
            out.append(a)
        elif current is not None and out and out[-1] != current:
            out += [current, a]
        else:
            out.append(a)
    return out


class _Command(typer.Typer):
    """A one-command Typer whose ``--md`` and ``--model`` take several values after one flag."""

    def __call__(self, *args, **kwargs):
        if kwargs.get("args") is not None:
            kwargs["args"] = expand_variadic(list(kwargs["args"]))
        return super().__call__(*args, **kwargs)


app = _Command(add_completion=False)


@app.command("compare")
def compare(
    md: Annotated[list[Path], typer.Option("--md", help="MD trajectories (run through the dynamics) and/or "
                                                       "md_dynamics.nc files from `trsp md dynamics`; several "
                                                       "may follow one --md")],
    model: Annotated[list[Path], typer.Option("--model", help="`trsp compose` files (one temperature each) and/or "
                                                             "`trsp sweep` results (sweep.nc or its directory)")],
    out: Annotated[Path, typer.Option(help="output directory (compare.nc, compare.md, figures)")] = Path("trsp_compare"),
    temperature: Annotated[Optional[list[float]], typer.Option(help="temperature of each MD trajectory file (repeat, "
                                                                    "in order; default: the file's attribute)")] = None,
    species: Annotated[int, typer.Option(help="MD particle type analysed (0 = A, large)")] = 0,
    phop_threshold: Annotated[float, typer.Option(help="MD rearranging: p_hop > threshold (sigma_AA^2)")] = 0.2,
    phop_window: Annotated[int, typer.Option(help="MD p_hop window W in frames (even)")] = 10,
    overlap_a: Annotated[float, typer.Option(help="MD overlap indicator: |dr| < a (sigma_AA)")] = 0.3,
    dt: Annotated[Optional[float], typer.Option(help="time between MD frames (GSD / dump only)")] = None,
    no_figures: Annotated[bool, typer.Option("--no-figures", help="skip the PNG figures")] = False,
):
    """Compare the model with MD: tau_alpha, chi4*, xi4 and Q(t), chi4(t), model times in MD units (x frame_dt)."""
    from trsp_core.compare import compare as run_compare, md_inputs, write_outputs
    from trsp_core.errors import TRSPError

    try:
        from trsp_core.io import check_output_dir

        check_output_dir(out, "--out")
        md_sets = md_inputs(md, temperatures=temperature, dt=dt, species=species, phop_threshold=phop_threshold,
                            phop_window=phop_window, overlap_a=overlap_a,
                            progress=lambda T, files: typer.echo(f"MD T={T:g}: {len(files)} file(s)", err=True))
        ds = run_compare(md_sets, model, warn=False)
        paths = write_outputs(ds, out, figures=not no_figures)
    except TRSPError as exc:
        typer.echo(f"trsp: error: {exc}", err=True)
        raise typer.Exit(2)
    if ds.attrs["warnings"] != "none":
        for w in ds.attrs["warnings"].split(" | "):
            typer.echo(f"trsp: warning: {w}", err=True)
    if ds.attrs["unmatched_temperatures"] != "none":
        typer.echo(f"trsp: note: {ds.attrs['unmatched_temperatures']}", err=True)
    temps = ", ".join(f"{float(t):g}" for t in ds.temperature.values)
    typer.echo(f"sources: {', '.join(map(str, ds.source.values))}; temperatures: {temps}")
    for k, p in paths.items():
        typer.echo(f"{k}: {p}")
