"""``trsp bench``: thin CLI over :func:`trsp_core.bench.run_bench`."""
from __future__ import annotations

import json
import os
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
        for line in human_lines(result):
            typer.echo(line)


#: unit of each scalar of run_bench's result
_UNITS = {"ratio_at_12": "x (fast / reference events/s, wall, L = 12)",
          "ratio_at_12_cpu": "x (the same, CPU time)",
          "per_event_growth_20_to_64": "x (events/s at L = 20 / at L = 64, wall)",
          "per_event_growth_20_to_64_cpu": "x (the same, CPU time)",
          "peak_rss_mb": "MiB (peak RSS of this process)",
          "load_avg_1min": f"(1-min load average on {os.cpu_count()} cores: above that, the rates were contended)",
          "flops_per_event_20": "FLOP per event (L = 20)"}


def human_lines(result: dict) -> list[str]:
    """One table row per lattice size (rates in events/s, wall and CPU), then the scalars with units."""
    sizes = list(result["fast"])
    lines = [f"{'L':>4} {'fast [ev/s]':>12} {'fast CPU':>10} {'reference':>10} {'ref. CPU':>9} "
             f"{'build [s]':>9} {'GFLOP/s CPU':>11}"]
    for L in sizes:
        ref = result["reference"].get(L)
        ref_cpu = result["reference_cpu"].get(L)
        lines.append(f"{L:>4} {result['fast'][L]:>12,.0f} {result['fast_cpu'][L]:>10,.0f} "
                     f"{'-' if ref is None else f'{ref:,.1f}':>10} {'-' if ref_cpu is None else f'{ref_cpu:,.1f}':>9} "
                     f"{result['build_s'][L]:>9.2f} {result['gflops_cpu'][L]:>11.2f}")
    for k, unit in _UNITS.items():
        v = result.get(k)
        if v is not None:
            lines.append(f"{k:>30}: {v:,} {unit}" if isinstance(v, int) else f"{k:>30}: {v:g} {unit}")
    for name, row in result.get("lattices_L20", {}).items():
        lines.append(f"{name:>30}: {row['events_per_s_cpu']:,.0f} events/s CPU at L = {row['L']} ({row['sites']:,} "
                     f"sites), {row['cpu_rate_over_cubic']:.2f} x cubic")
    return lines
