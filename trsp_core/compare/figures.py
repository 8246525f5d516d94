"""The comparison figures (matplotlib, Agg backend):

* ``fig4_Q_chi4.png``: Q(t) and chi4(t) of every source at every temperature on
  common log-time axes in MD units, error bands where known; colour = temperature
  (sequential colormap), line style = source;
* ``fig5_tau_chi4_xi4.png``: tau_alpha against 1/T on a log axis (Arrhenius view),
  chi4* and xi4 against T, each source with error bars.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from trsp_core.io.figures import save_figure

DPI = 100
CMAP = "viridis"
STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _style(i: int) -> str:
    return STYLES[i % len(STYLES)]


def fig_curves(ds: xr.Dataset, path: str | Path) -> Path:
    """fig4: Q(t) and chi4(t), all sources and temperatures."""
    plt = _plt()
    from matplotlib.colors import Normalize
    from matplotlib.lines import Line2D

    temps = ds["temperature"].values.astype(float)
    norm = Normalize(vmin=temps.min(), vmax=temps.max() if temps.max() > temps.min() else temps.min() + 1)
    from matplotlib.colors import ListedColormap

    # viridis stopped at 0.9 (its pale yellow end vanishes on white); the colour bar shows the same
    cmap = ListedColormap(plt.get_cmap(CMAP)(np.linspace(0.0, 0.9, 256)))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharex=True)
    sources = [str(s) for s in ds["source"].values]
    for i, s in enumerate(sources):
        for T in temps:
            d = ds.sel(source=s, temperature=T)
            t = d["lag"].values
            ok = np.isfinite(t) & (t > 0)
            if not ok.any():
                continue
            c = cmap(norm(T))
            for ax, v in zip(axes, ("Q", "chi4")):
                y, e = d[v].values[ok], d[f"{v}_err"].values[ok]
                ax.plot(t[ok], y, _style(i), color=c, lw=1.4)
                if np.isfinite(e).any():
                    e = np.nan_to_num(e)
                    ax.fill_between(t[ok], y - e, y + e, color=c, alpha=0.18, lw=0)
    unit = ds.attrs.get("time_units", "tau")
    for ax, v, lab in zip(axes, ("Q", "chi4"), ("Q(t)", r"$\chi_4(t)$")):
        ax.set_xscale("log")
        ax.set_xlabel(f"t [{unit}]")
        ax.set_ylabel(lab)
        ax.grid(alpha=0.3)
    axes[0].set_ylim(-0.05, 1.05)
    handles = [Line2D([], [], color="k", ls=_style(i), label=s) for i, s in enumerate(sources)]
    axes[0].legend(handles=handles, loc="lower left", fontsize=8, frameon=False)
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=axes, label=r"$T$ [$\epsilon_{AA}/k_B$]", fraction=0.04, pad=0.02)
    fig.suptitle("Q(t) and chi4(t): model (frames x frame_dt) and MD")
    return save_figure(fig, path, dpi=DPI, tight=False, bbox_inches="tight")


def fig_scalars(ds: xr.Dataset, path: str | Path) -> Path:
    """fig5: tau_alpha vs 1/T (log), chi4* vs T, xi4 vs T."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    T = ds["temperature"].values.astype(float)
    unit = ds.attrs.get("time_units", "tau")
    for i, s in enumerate(str(x) for x in ds["source"].values):
        d = ds.sel(source=s)
        kw = dict(marker=MARKERS[i % len(MARKERS)], ls=_style(i), capsize=3, ms=5, lw=1.2, label=s,
                  color=plt.get_cmap("tab10")(i % 10))
        for ax, var, x in ((axes[0], "tau_alpha", 1.0 / T), (axes[1], "chi4_star", T), (axes[2], "xi4", T)):
            y, e = d[var].values, d[f"{var}_err"].values
            ok = np.isfinite(y)
            if var == "tau_alpha":
                ok &= y > 0
            if ok.any():
                e = np.where(np.isfinite(e[ok]), e[ok], 0.0)
                # on the log axis a bar below zero cannot be drawn: clip it just above zero
                low = np.minimum(e, 0.95 * y[ok]) if var == "tau_alpha" else e
                ax.errorbar(x[ok], y[ok], yerr=[low, e], **kw)
    axes[0].set_yscale("log")
    axes[0].set_xlabel(r"$1/T$")
    axes[0].set_ylabel(rf"$\tau_\alpha$ [{unit}]")
    axes[1].set_xlabel(r"$T$")
    axes[1].set_ylabel(r"$\chi_4^*$")
    axes[2].set_xlabel(r"$T$")
    axes[2].set_ylabel(r"$\xi_4$ [$\sigma_{AA}$]")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, frameon=False)
    note = ds.attrs.get("unmatched_temperatures", "none")
    if note != "none":
        fig.text(0.5, 0.005, note, ha="center", va="bottom", fontsize=8)
    return save_figure(fig, path, dpi=DPI)
