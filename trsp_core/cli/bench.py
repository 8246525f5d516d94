"""``trsp bench``: thin CLI over :func:`trsp_core.bench.run_bench`."""
from __future__ import annotations

import json
from typing import Annotated

import typer


def bench(
    sizes: Annotated[str, typer.Option(help="comma-separated lattice sizes L")] = "12,20,32,64",
    json_out: Annotated[bool, typer.Option("--json", help="print the JSON result")] = False,
):
    """Events per second of the fast kernel and the dense reference, side by side."""
    from trsp_core.bench import run_bench
    from trsp_core.cli.campaigns import _ints

    result = run_bench(sizes=tuple(_ints(sizes, "--sizes")))
    if json_out:
        typer.echo(json.dumps(result))
    else:
        for k, v in result.items():
            typer.echo(f"{k:>28}: {v}")
