"""The paper's figure set from sweep / aging results (matplotlib, Agg backend, small PNGs).

Figure files (each written only when the data it needs are present):

    fig4_overlap_chi4_<variant>.png   Q(t), chi4(t) per temperature
    fig5_tau_chi4_xi4_vs_T.png        tau_alpha, chi4*, xi4 vs T (all variants)
    fig6_xi4_vs_inverse_T.png         xi4 vs 1/T - 1/T0
    fig7_facilitation.png             tau_alpha, chi4*, xi4 vs T for c = 1, 0.6, 0.2 ...
    fig12_m1_vs_m4.png                chi4(t) and chi4* for single-site vs plaquette clusters
    fig13_chi4_collapse.png           chi4(t/tau_alpha)/chi4* (one panel per variant)
    fig14_Q_collapse.png              Q(t/tau_alpha)
    fig15_block_chi4_collapse.png     block chi4_B/chi4_inf vs L_B a/xi4 (needs block-chi4)
    fig16_chi4_vs_tau.png             chi4* vs tau_alpha and chi4* vs xi4 (power-law view)
    fig8_aging.png                    <S(t)> after a quench, TRSP vs trap model
"""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from trsp_core.io.figures import save_figure
from trsp_core.io import netcdf  # noqa: E402
from trsp_core.observables.stats import value_with_error  # noqa: E402

DPI = 90
T_UNIT = r"$T$ [$\epsilon_{AA}/k_B$]"
FRAMES = "frames"
#: what an aging.nc of `trsp age` holds (dims model, final_temperature)
AGING_VARS = ("S_mean", "S_err", "time", "S_equilibrium", "n_seeds")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.=]+", "_", text).strip("_").replace("=", "")


def _tcolors(temps):
    t = np.asarray(temps, float)
    span = (t.max() - t.min()) or 1.0
    # sequential (viridis, coldest darkest), stopped at 0.9: its pale yellow end vanishes on white
    return [plt.cm.viridis(0.9 * (x - t.min()) / span) for x in t]


def _legend(ax, **kw) -> None:
    # a panel with nothing drawn (every point unmeasured) gets no legend, and no matplotlib warning
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kw)


def _save(fig, path: Path) -> Path:
    return save_figure(fig, path, dpi=DPI)


#: what a sweep.nc must hold for the figures, with the dimensions each needs
SWEEP_VARS = {"Q": ("variant", "temperature", "lag_index"), "chi4": ("variant", "temperature", "lag_index"),
              "lag": ("variant", "temperature", "lag_index"), "tau_alpha": ("variant", "temperature"),
              "chi4_star": ("variant", "temperature"), "xi4": ("variant", "temperature"),
              "variant_label": ("variant",)}


def _kind(d: xr.Dataset) -> str:
    """What a trsp file that is not a sweep is, for the error message."""
    if "model" in d.dims and "S_mean" in d:
        lack = [v for v in ("final_temperature", *AGING_VARS) if v not in d.variables]
        return f"an incomplete aging file (no {', '.join(lack)})" if lack else "an aging file"
    if "trsp_run_format" in d.attrs or "event" in d.dims:
        return "a run file (trsp compose output or a sweep's runs/*.nc)"
    return "not a sweep file"


def open_sweep(path) -> xr.Dataset:
    """One ``sweep.nc`` (or a directory holding one), checked: InputFileError naming the file otherwise."""
    from trsp_core.errors import InputFileError

    p = Path(path)
    if p.is_dir():
        p = p / "sweep.nc"
    if not p.is_file():
        raise InputFileError(f"{p} does not exist or is not a regular file (give a sweep.nc or a sweep directory)")
    if p.stat().st_size == 0:
        raise InputFileError(f"{p} is empty: not a netCDF file")
    try:
        with netcdf.opened(p) as d:
            d = d.load()
    except Exception as exc:  # noqa: BLE001 - netCDF-C/HDF5 raise OSError, RuntimeError, ValueError, KeyError...
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(f"{p} is not a readable netCDF file (corrupt or truncated?): {first}") from None
    missing = [v for v in SWEEP_VARS if v not in d.variables]
    if missing:
        raise InputFileError(f"{p} is {_kind(d)}: it lacks the sweep variable(s) {', '.join(missing)} "
                             "(trsp plot reads the sweep.nc of trsp sweep)")
    for v, dims in SWEEP_VARS.items():
        if tuple(d[v].dims) != dims:
            raise InputFileError(f"{p}: variable '{v}' has dimensions {tuple(d[v].dims)}, a sweep file has {dims}")
    if d.sizes["variant"] == 0 or d.sizes["temperature"] == 0:
        raise InputFileError(f"{p}: the sweep holds no (variant, temperature) point")
    return d


def load_results(paths) -> xr.Dataset:
    """One or several ``sweep.nc`` files -> one dataset (variants concatenated)."""
    dss = []
    offset = 0
    for p in paths:
        d = open_sweep(p)
        d = d.assign_coords(variant=d["variant"].values + offset)
        offset += d.sizes["variant"]
        dss.append(d)
    if len(dss) == 1:
        return dss[0]
    ds = xr.concat(dss, dim="variant", join="outer", data_vars="all", coords="different", compat="equals",
                   combine_attrs="override")
    return ds


def _err(ds, name, v):
    e = ds.get(f"{name}_err")
    return None if e is None else e.sel(variant=v).values


def _finite(x):
    return np.isfinite(np.asarray(x, float))


def _band(ax, x, name, color):
    """One-sigma band from the file's per-lag error (sweeps and compose files written since it existed)."""
    if f"{name}_err" in x:
        y, e = np.asarray(x[name], float), np.asarray(x[f"{name}_err"], float)
        ok = np.isfinite(y) & np.isfinite(e)
        if ok.any():
            ax.fill_between(np.asarray(x["lag"], float)[ok], (y - e)[ok], (y + e)[ok], color=color, alpha=0.25, lw=0)


def is_compose_file(d: xr.Dataset) -> bool:
    return "trsp_run_format" in d.attrs and "Q" in d and "chi4" in d and "lag" in d.dims


def is_aging_file(d: xr.Dataset) -> bool:
    return "model" in d.dims and "final_temperature" in d.dims and all(v in d for v in AGING_VARS)


def plot_compose(ds: xr.Dataset, out: str | Path, name: str = "compose") -> Path:
    """Q(t) and chi4(t) of one ``trsp compose`` file, with bands and the measured peak."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.6))
    ax[0].semilogx(ds["lag"], ds["Q"], color="C0")
    ax[1].semilogx(ds["lag"], ds["chi4"], color="C0")
    _band(ax[0], ds, "Q", "C0")
    _band(ax[1], ds, "chi4", "C0")
    tau = float(ds["tau_alpha"]) if "tau_alpha" in ds else np.nan
    if np.isfinite(tau):
        ax[1].axvline(tau, color="0.5", ls=":", lw=0.8)
        err = lambda k: float(ds[k]) if k in ds else None  # noqa: E731
        peak = (f"tau_alpha = {value_with_error(tau, err('tau_alpha_err'))} frames, "
                f"chi4* = {value_with_error(float(ds['chi4_star']), err('chi4_star_err'))}")
    else:
        peak = "tau_alpha not measured (chi4 peaks at the edge of the lag window)"
    ax[0].set(xlabel=f"t [{FRAMES}]", ylabel="Q(t)", title="overlap")
    ax[1].set(xlabel=f"t [{FRAMES}]", ylabel=r"$\chi_4(t)$", title="four-point susceptibility")
    T = ds.attrs.get("temperature", "?")
    fig.suptitle(f"{name}: T = {T}, {ds.sizes.get('run', 0)} seeds; {peak}", fontsize=9)
    return _save(fig, out / f"fig4_overlap_chi4_{_slug(name)}.png")


def fig_overlap_chi4(ds, v, out: Path) -> Path:
    d = ds.sel(variant=v)
    temps = d["temperature"].values
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.6))
    for T, c in zip(temps, _tcolors(temps)):
        x = d.sel(temperature=T)
        if not np.isfinite(x["lag"]).any():
            continue
        ax[0].semilogx(x["lag"], x["Q"], color=c, label=f"T={T:g}")
        ax[1].semilogx(x["lag"], x["chi4"], color=c, label=f"T={T:g}")
        _band(ax[0], x, "Q", c)
        _band(ax[1], x, "chi4", c)
    ax[0].set(xlabel=f"t [{FRAMES}]", ylabel="Q(t)", title="overlap")
    ax[1].set(xlabel=f"t [{FRAMES}]", ylabel=r"$\chi_4(t)$", title="four-point susceptibility")
    _legend(ax[1], fontsize=7)
    fig.suptitle(f"Fig. 4 analogue: {str(d['variant_label'].values)}", fontsize=9)
    return _save(fig, out / f"fig4_overlap_chi4_{_slug(str(d['variant_label'].values))}.png")


def _vs_T(ax, ds, name, variants, xfun=lambda T: T, log=False, styles=None):
    for v in variants:
        d = ds.sel(variant=v)
        y = d[name].values
        ok = _finite(y)
        if not ok.any():
            continue
        e = _err(ds, name, v)
        x = xfun(d["temperature"].values)
        kw = (styles or {}).get(v, {})
        ax.errorbar(x[ok], y[ok], yerr=None if e is None else np.where(_finite(e), e, 0)[ok], marker="o", ms=4,
                    capsize=2, label=str(d["variant_label"].values), **kw)
    if log:
        ax.set_yscale("log")


def fig_vs_T(ds, out: Path) -> Path:
    vs = list(ds["variant"].values)
    fig, ax = plt.subplots(1, 4, figsize=(16, 3.6))
    _vs_T(ax[0], ds, "tau_alpha", vs, log=True)
    _vs_T(ax[1], ds, "tau_alpha", vs, xfun=lambda T: 1.0 / T, log=True)   # Arrhenius axes
    _vs_T(ax[2], ds, "chi4_star", vs)
    _vs_T(ax[3], ds, "xi4", vs)
    ax[0].set(xlabel=T_UNIT, ylabel=r"$\tau_\alpha$ [frames]")
    ax[1].set(xlabel=r"$1/T$ [$k_B/\epsilon_{AA}$]", ylabel=r"$\tau_\alpha$ [frames]", title="Arrhenius plot")
    ax[2].set(xlabel=T_UNIT, ylabel=r"$\chi_4^*$")
    ax[3].set(xlabel=T_UNIT, ylabel=r"$\xi_4$ [$\sigma_{AA}$]")
    if not np.isfinite(ds["xi4"].values).any():
        ax[3].text(0.5, 0.5, "xi4 not available", ha="center", transform=ax[3].transAxes)
    _legend(ax[0], fontsize=7)
    fig.suptitle("Fig. 5 analogue: dynamical heterogeneity vs temperature", fontsize=9)
    return _save(fig, out / "fig5_tau_chi4_xi4_vs_T.png")


def fig_xi4_inverse_T(ds, out: Path) -> Path | None:
    if not np.isfinite(ds["xi4"].values).any():
        return None
    T0 = float(ds.attrs.get("T0", np.nan))
    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    _vs_T(ax, ds, "xi4", list(ds["variant"].values), xfun=lambda T: 1 / T - 1 / T0)
    ax.set(xlabel=r"$1/T - 1/T_0$ [$k_B/\epsilon_{AA}$]" + f" (T0={T0:g})", ylabel=r"$\xi_4$ [$\sigma_{AA}$]")
    _legend(ax, fontsize=7)
    ax.set_title("Fig. 6 analogue", fontsize=9)
    return _save(fig, out / "fig6_xi4_vs_inverse_T.png")


def _groups(ds, vary: str):
    """Variant groups that differ only in ``vary`` (size >= 2)."""
    keys = [k for k in ("descriptor", "lattice", "size", "cluster", "delta_rule", "rate", "facilitation") if k != vary and k in ds.coords]
    groups = {}
    for v in ds["variant"].values:
        sig = tuple(str(ds[k].sel(variant=v).values) for k in keys)
        groups.setdefault(sig, []).append(v)
    return [g for g in groups.values() if len(g) > 1]


def fig_facilitation(ds, out: Path) -> Path | None:
    groups = _groups(ds, "facilitation")
    if not groups:
        return None
    g = max(groups, key=len)
    g = sorted(g, key=lambda v: -float(ds["facilitation"].sel(variant=v)))
    shades = dict(zip(g, [plt.cm.Purples(x) for x in np.linspace(0.9, 0.45, len(g))]))
    styles = {v: {"color": shades[v]} for v in g}
    fig, ax = plt.subplots(1, 3, figsize=(12, 3.6))
    _vs_T(ax[0], ds, "tau_alpha", g, log=True, styles=styles)
    _vs_T(ax[1], ds, "chi4_star", g, styles=styles)
    _vs_T(ax[2], ds, "xi4", g, styles=styles)
    ax[0].set(xlabel=T_UNIT, ylabel=r"$\tau_\alpha$ [frames]")
    ax[1].set(xlabel=T_UNIT, ylabel=r"$\chi_4^*$")
    ax[2].set(xlabel=T_UNIT, ylabel=r"$\xi_4$ [$\sigma_{AA}$]")
    _legend(ax[0], fontsize=7)
    fig.suptitle("Fig. 7 analogue: weakening facilitation (K_Delta x c)", fontsize=9)
    return _save(fig, out / "fig7_facilitation.png")


def fig_m1_vs_m4(ds, out: Path) -> Path | None:
    groups = [g for g in _groups(ds, "cluster")
              if {"single", "plaquette"} <= {str(ds["cluster"].sel(variant=v).values) for v in g}]
    if not groups:
        return None
    g = groups[0]
    v4 = next(v for v in g if str(ds["cluster"].sel(variant=v).values) == "plaquette")
    v1 = next(v for v in g if str(ds["cluster"].sel(variant=v).values) == "single")
    temps = ds["temperature"].values
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.6))
    for T, c in zip(temps, _tcolors(temps)):
        for v, ls in ((v4, "-"), (v1, "--")):
            x = ds.sel(variant=v, temperature=T)
            if np.isfinite(x["lag"]).any():
                ax[0].semilogx(x["lag"], x["chi4"], ls, color=c, label=f"T={T:g}" if v == v4 else None)
    ax[0].set(xlabel="t [frames]", ylabel=r"$\chi_4(t)$", title="solid: m=4 plaquette, dashed: m=1 single")
    _legend(ax[0], fontsize=7)
    _vs_T(ax[1], ds, "chi4_star", [v4, v1])
    r = ds["chi4_star"].sel(variant=v4) / ds["chi4_star"].sel(variant=v1)
    ax[1].set(xlabel=T_UNIT, ylabel=r"$\chi_4^*$",
              title="ratio m4/m1: " + ", ".join(f"{x:.1f}" for x in r.values if np.isfinite(x)))
    _legend(ax[1], fontsize=7)
    fig.suptitle("Fig. 12 analogue: single-site vs plaquette rearrangements", fontsize=9)
    return _save(fig, out / "fig12_m1_vs_m4.png")


def _collapse(ds, out: Path, name: str, fname: str, ylabel: str, scale_chi: bool, title: str) -> Path:
    vs = list(ds["variant"].values)
    n = len(vs)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    temps = ds["temperature"].values
    for ax, v in zip(axes.flat, vs):
        for T, c in zip(temps, _tcolors(temps)):
            x = ds.sel(variant=v, temperature=T)
            tau = float(x["tau_alpha"])
            if not np.isfinite(tau):
                continue
            y = x[name] / float(x["chi4_star"]) if scale_chi else x[name]
            ax.semilogx(x["lag"] / tau, y, color=c, label=f"T={T:g}")
        ax.set(xlabel=r"$t/\tau_\alpha$", ylabel=ylabel, title=str(ds["variant_label"].sel(variant=v).values))
        ax.title.set_fontsize(8)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    _legend(axes.flat[0], fontsize=6)
    fig.suptitle(title, fontsize=9)
    return _save(fig, out / fname)


def fig_block_collapse(ds, out: Path) -> Path | None:
    if "chi4_block" not in ds or "xi4_block" not in ds:
        return None
    vs = list(ds["variant"].values)
    cols = min(len(vs), 3)
    rows = int(np.ceil(len(vs) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    temps = ds["temperature"].values
    drawn = False
    for ax, v in zip(axes.flat, vs):
        a = float(np.nan_to_num(ds.attrs.get("lattice_spacing", 1.1), nan=1.1))
        for T, c in zip(temps, _tcolors(temps)):
            x = ds.sel(variant=v, temperature=T)
            xi, inf = float(x["xi4_block"]), float(x.get("chi4_inf", np.nan))
            if not (np.isfinite(xi) and xi > 0 and np.isfinite(inf) and inf > 0):
                continue
            ax.loglog(x["block_side"] * a / xi, x["chi4_block"] / inf, "o-", ms=3, color=c, label=f"T={T:g}")
            drawn = True
        ax.set(xlabel=r"$L_B a/\xi_4$", ylabel=r"$\chi_{4,B}/\chi_{4,\infty}$",
               title=str(ds["variant_label"].sel(variant=v).values))
        ax.title.set_fontsize(8)
    for ax in list(axes.flat)[len(vs):]:
        ax.axis("off")
    if not drawn:
        plt.close(fig)
        return None
    _legend(axes.flat[0], fontsize=6)
    fig.suptitle("Figs. 13-15 analogue: finite-size scaling collapse of block chi4 (a = 1.1 sigma_AA)", fontsize=9)
    return _save(fig, out / "fig15_block_chi4_collapse.png")


def fig_chi4_vs_tau(ds, out: Path) -> Path:
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.6))
    for v in ds["variant"].values:
        d = ds.sel(variant=v)
        ok = _finite(d["tau_alpha"]) & _finite(d["chi4_star"])
        ax[0].loglog(d["tau_alpha"].values[ok], d["chi4_star"].values[ok], "o-", ms=4, label=str(d["variant_label"].values))
        ok2 = ok & _finite(d["xi4"])
        if ok2.any():
            ax[1].loglog(d["xi4"].values[ok2], d["chi4_star"].values[ok2], "o-", ms=4, label=str(d["variant_label"].values))
    ax[0].set(xlabel=r"$\tau_\alpha$ [frames]", ylabel=r"$\chi_4^*$")
    ax[1].set(xlabel=r"$\xi_4$ [$\sigma_{AA}$]", ylabel=r"$\chi_4^*$")
    _legend(ax[0], fontsize=7)
    fig.suptitle("Fig. 16 analogue: chi4* against tau_alpha and xi4", fontsize=9)
    return _save(fig, out / "fig16_chi4_vs_tau.png")


def plot_sweep(results, out: str | Path) -> list[Path]:
    """Every figure the data support; returns the written paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ds = load_results(results if isinstance(results, (list, tuple)) else [results])
    if not np.isfinite(ds["tau_alpha"].values).any():
        import warnings

        warnings.warn("no (variant, temperature) point has a measured tau_alpha (chi4 peaks at the edge of every "
                      "lag window): the tau_alpha, chi4* and collapse figures are empty; re-run the sweep with "
                      "longer runs (--duration, or a larger --tau-factor / --max-duration)", stacklevel=2)
    files = [fig_overlap_chi4(ds, v, out) for v in ds["variant"].values]
    files += [fig_vs_T(ds, out), fig_xi4_inverse_T(ds, out), fig_facilitation(ds, out), fig_m1_vs_m4(ds, out),
              _collapse(ds, out, "chi4", "fig13_chi4_collapse.png", r"$\chi_4(t)/\chi_4^*$", True,
                        "Fig. 13 analogue: scaling collapse of chi4(t/tau_alpha)/chi4*"),
              _collapse(ds, out, "Q", "fig14_Q_collapse.png", r"$Q(t)$", False,
                        "Fig. 14 analogue: Q against t/tau_alpha"),
              fig_block_collapse(ds, out), fig_chi4_vs_tau(ds, out)]
    return [f for f in files if f is not None]


def plot_aging(ds: xr.Dataset, out: str | Path) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    models = list(ds["model"].values)
    tfs = ds["final_temperature"].values
    fig, axes = plt.subplots(1, len(models), figsize=(4.6 * len(models), 3.6), squeeze=False, sharey=True)
    for ax, m in zip(axes.flat, models):
        for tf, c in zip(tfs, _tcolors(tfs)):
            d = ds.sel(model=m, final_temperature=tf)
            ax.errorbar(d["time"], d["S_mean"], yerr=np.nan_to_num(d["S_err"].values), color=c, capsize=0,
                        lw=1.2, label=f"$T_F$={tf:g}")
            ax.axhline(float(d["S_equilibrium"]), color=c, ls=":", lw=0.8)
        ax.set_xscale("log")
        ax.set(xlabel="time since quench t [frames]", ylabel=r"$\langle S(t)\rangle$ [descriptor units]",
               title=f"{m} (n={int(ds['n_seeds'].sel(model=m).min())} seeds)")
        _legend(ax, fontsize=7)
    fig.suptitle(f"Fig. 8 analogue: aging after a quench from $T_I$={ds.attrs.get('initial_temperature')} "
                 "(dotted: equilibrium mu(T_F))", fontsize=9)
    return _save(fig, out / "fig8_aging.png")
