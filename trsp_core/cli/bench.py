"""``trsp bench``: thin CLI over :func:`trsp_core.bench.run_bench`."""
from __future__ import annotations

import json
from typing import Annotated

import typer


def bench(
    sizes: Annotated[str, typer.Option(help="comma-separated lattice sizes L")] = "12,20,32,64",
    json_out: Annotated[bool, typer.Option("--json", help="print the JSON result")] = False,
    lattices: Annotated[bool, typer.Option("--lattices/--no-lattices",
                                           help="also every built-in lattice's events/s beside cubic (L = 20)")] = True,
):
    """Events per second of the fast kernel and the dense reference, side by side."""
    from trsp_core.bench import run_bench
    from trsp_core.cli.campaigns import _ints

    result = run_bench(sizes=tuple(_ints(sizes, "--sizes")), lattices=lattices)
    if json_out:
        typer.echo(json.dumps(result))
    else:
        for k, v in result.items():
            if k == "lattices_L20":
                typer.echo(f"{'lattices (L = 20, CPU)':>28}:")
                for name, row in v.items():
                    typer.echo(f"{name:>28}  {row['sites']} sites: {row['events_per_s_cpu']:.0f} events/s "
                               f"({row['cpu_rate_over_cubic']:.2f} x cubic)")
            else:
                typer.echo(f"{k:>28}: {v}")
