"""``compare.md``: one markdown table per temperature, model against MD."""
from __future__ import annotations

import numpy as np
import xarray as xr

#: (variable, row label) of the tables
ROWS = (("tau_alpha", "tau_alpha [{t}]"), ("chi4_star", "chi4*"), ("xi4", "xi4 [sigma_AA]"))


def fmt(value: float, err: float = np.nan) -> str:
    """``1.23 ± 0.045`` (3 significant digits, error 2), ``n/a`` for NaN."""
    if not np.isfinite(value):
        return "n/a"
    return f"{value:.3g} ± {err:.2g}" if np.isfinite(err) else f"{value:.3g}"


def ratio(a: float, ea: float, b: float, eb: float) -> tuple[float, float]:
    """a/b and its error from the relative errors added in quadrature (NaN errors count as 0
    unless both are NaN)."""
    if not (np.isfinite(a) and np.isfinite(b)) or b == 0:
        return np.nan, np.nan
    r = a / b
    rel = [e / v for e, v in ((ea, a), (eb, b)) if np.isfinite(e) and v != 0]
    return r, (abs(r) * float(np.sqrt(np.sum(np.square(rel)))) if rel else np.nan)


def table(ds: xr.Dataset, T: float) -> list[str]:
    """The markdown lines of one temperature's table."""
    d = ds.sel(temperature=T)
    sources = [str(s) for s in ds["source"].values]
    present = [s for s in sources if any(np.isfinite(float(d[v].sel(source=s))) for v, _ in ROWS)]
    models = [s for s in present if s.startswith("model")]
    mds = [s for s in present if s.startswith("md")]
    pairs = [(m, o) for m in models for o in mds]
    head = ["quantity", *present, *[f"{m} / {o}" for m, o in pairs]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for var, label in ROWS:
        row = [label.format(t=ds.attrs.get("time_units", "tau"))]
        val = {s: (float(d[var].sel(source=s)), float(d[f"{var}_err"].sel(source=s))) for s in present}
        row += [fmt(*val[s]) for s in present]
        row += [fmt(*ratio(*val[m], *val[o])) for m, o in pairs]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def markdown(ds: xr.Dataset) -> str:
    """The whole report: header, notes, one table per temperature."""
    t = ds.attrs.get("time_units", "tau")
    out = ["# Model against MD", "",
           f"Times in MD units ({t}); model times are model frames x frame_dt. Errors are bootstrap "
           "standard errors (model: over seeds; MD: over runs, or time blocks of a single run). "
           "Ratios are model / MD with relative errors added in quadrature.", ""]
    for s in ds["source"].values:
        if str(s).startswith("model"):
            fdt = ds["frame_dt"].sel(source=s).values
            vals = sorted({float(v) for v in fdt if np.isfinite(v)})
            out.append(f"* `{s}` ({ds['source_label'].sel(source=s).item()}): frame_dt = "
                       f"{', '.join(f'{v:g}' for v in vals) or 'n/a'} {t}/frame")
    if ds.attrs.get("unmatched_temperatures", "none") != "none":
        out.append(f"* Note: {ds.attrs['unmatched_temperatures']} (plotted, no ratio).")
    if ds.attrs.get("warnings", "none") != "none":
        out += [f"* Warning: {w}" for w in ds.attrs["warnings"].split(" | ")]
    if ds.attrs.get("notes", "none") != "none":
        out += [f"* {n}" for n in ds.attrs["notes"].split(" | ")]
    for T in ds["temperature"].values:
        out += ["", f"## T = {float(T):g}" + ("" if int(ds["matched"].sel(temperature=T)) else " (one side only)"), ""]
        out += table(ds, T)
    return "\n".join(out) + "\n"
