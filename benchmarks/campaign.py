"""Campaign benchmark: the paper's temperature set at L = 20, c in {1, 0.6, 0.2} (m = 4) plus m = 1.

    python benchmarks/campaign.py --seeds 20 --out trsp_campaign      # full campaign (docs/campaigns.md)
    python benchmarks/campaign.py --seeds 4  --out trsp_campaign      # reduced (4 seeds per point)

Resumable (re-run the same command). Prints the wall time, the tau_alpha / chi4* / xi4
table and writes the figures to ``--figures``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

TEMPERATURES = [0.42, 0.45, 0.47, 0.50, 0.55, 0.60, 0.70]
VARIANTS = [
    {"size": 20, "cluster": "plaquette", "facilitation": 1.0},
    {"size": 20, "cluster": "plaquette", "facilitation": 0.6},
    {"size": 20, "cluster": "plaquette", "facilitation": 0.2},
    {"size": 20, "cluster": "single", "facilitation": 1.0},
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--size", type=int, default=20)
    ap.add_argument("--out", default="trsp_campaign")
    ap.add_argument("--figures", default="docs/figures")
    ap.add_argument("--scheduler", default="local")
    ap.add_argument("--backend", default="auto")
    a = ap.parse_args()

    from trsp_core.plotting.figures import plot_sweep
    from trsp_core.campaigns.sweep import run_sweep

    variants = [{**v, "size": a.size} for v in VARIANTS]
    t0 = time.perf_counter()
    summary = run_sweep(variants=variants, temperatures=TEMPERATURES, seeds=a.seeds, seed=0, out=a.out,
                        scheduler=a.scheduler, backend=a.backend)
    wall = time.perf_counter() - t0
    summary["campaign_wall_s"] = wall
    print(json.dumps(summary, indent=1))
    if summary.get("interrupted"):
        return
    figs = plot_sweep(Path(a.out) / "sweep.nc", a.figures)
    import xarray as xr

    ds = xr.open_dataset(Path(a.out) / "sweep.nc")
    print(f"\nwall time {wall:.0f} s for {summary['runs_total']} runs ({summary['runs_computed']} computed)\n")
    print("| variant | T | tau_alpha [frames] | chi4* | xi4 [sigma_AA] | seeds |")
    print("|---|---|---|---|---|---|")
    for v in ds["variant"].values:
        for T in ds["temperature"].values:
            d = ds.sel(variant=v, temperature=T)
            print(f"| {str(d['variant_label'].values)} | {T:g} | {float(d['tau_alpha']):.4g} ± {float(d['tau_alpha_err']):.2g} "
                  f"| {float(d['chi4_star']):.3g} ± {float(d['chi4_star_err']):.2g} "
                  f"| {float(d['xi4']):.3g} ± {float(d['xi4_err']):.2g} | {int(d['n_seeds'])} |")
    print("\nnotes:", ds.attrs.get("notes"))
    print("figures:", *figs, sep="\n  ")


if __name__ == "__main__":
    main()
