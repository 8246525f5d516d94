"""tau_alpha(T), chi4*(T), xi4(T) of several `trsp sweep` results on common axes, with error bars
(the figures of docs/model-variants.md).

    python docs/scripts/variants_figure.py LABEL=DIR/sweep.nc [LABEL=...] --out FIG.png [--table]
"""
from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweeps", nargs="+", help="LABEL=path/to/sweep.nc")
    ap.add_argument("--out", required=True)
    ap.add_argument("--table", action="store_true", help="print a markdown table of the numbers")
    a = ap.parse_args(argv)
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8))
    rows = {}
    for k, item in enumerate(a.sweeps):
        label, path = item.split("=", 1)
        ds = xr.open_dataset(path)
        for v in range(ds.sizes["variant"]):
            name = label if ds.sizes["variant"] == 1 else f"{label} [{v}]"
            T = ds.temperature.values
            for i, (var, ylab) in enumerate([("tau_alpha", "tau_alpha [frames]"), ("chi4_star", "chi4*"),
                                             ("xi4", "xi4 [sigma_AA]")]):
                y, e = ds[var].values[v], ds[f"{var}_err"].values[v]
                x = 1 / T if var == "tau_alpha" else T
                ax[i].errorbar(x, y, e, fmt="os^v"[k % 4] + "-", ms=4, capsize=2, label=name,
                               mfc="white" if k % 2 else None)
                ax[i].set(ylabel=ylab, xlabel="1/T" if var == "tau_alpha" else "T")
                rows.setdefault(name, {})[var] = (T, y, e)
        ds.close()
    ax[0].set_yscale("log")
    ax[0].set_title("(a) tau_alpha (Arrhenius axes)")
    ax[1].set_title("(b) chi4* (peak of chi4)")
    ax[2].set_title("(c) xi4 (small-q OZ fit of S4)")
    for x in ax:
        x.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(a.out, dpi=120)
    if a.table:
        names = list(rows)
        T = rows[names[0]]["tau_alpha"][0]
        head = "| T | " + " | ".join(f"{n}: tau_alpha | chi4* | xi4" for n in names) + " |"
        print(head)
        print("|---|" + "---|---|---|" * len(names))
        for j, t in enumerate(T):
            cells = []
            for n in names:
                for var in ("tau_alpha", "chi4_star", "xi4"):
                    _, y, e = rows[n][var]
                    cells.append(f"{y[j]:.4g} ± {e[j]:.2g}" if np.isfinite(y[j]) else "n/a")
            print(f"| {t:g} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
