"""Markdown diagnostics report with figures in the style of the paper's Figs. 1-3."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from trsp_core.io.atomic import atomic_write_text
from trsp_core.io.figures import save_figure


def _save(fig, path: Path) -> None:
    save_figure(fig, path, dpi=110, bbox_inches="tight")


def _figures(res, out: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = {}
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(res.temperatures)))
    # Fig. 1: P(R|S), DeltaE(S), Sigma(S).
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    for t, f, c in zip(res.tables, res.per_t, colors):
        ok = t.counts > 0
        ax[0].errorbar(t.s_mean[ok], t.probability[ok], t.probability_err[ok], fmt="o", ms=3, color=c, label=f"T = {t.temperature:g}")
        s = np.linspace(np.nanmin(t.s_mean[ok]), np.nanmax(t.s_mean[ok]), 100)
        ax[0].plot(s, np.exp(f["lnA"] + f["gamma"] * s - f["delta"] * s * s), "--", color=c, lw=1)
    ax[0].set(yscale="log", xlabel="S [descriptor units]", ylabel="P(R|S) [1/frame]", title="(a) observed P(R|S); dashed: quadratic fits")
    ax[0].legend(fontsize=8)
    a = res.arrhenius
    ok = np.isfinite(a.delta_e)
    p = res.params
    s = np.linspace(np.nanmin(a.s[ok]) if ok.any() else -2, np.nanmax(a.s[ok]) if ok.any() else 2, 100)
    ax[1].errorbar(a.s[ok], a.delta_e[ok], a.delta_e_err[ok], fmt="o", mfc="white", color="k", label="observed, per S bin")
    ax[1].plot(s, p.e0 + p.e1 * s + p.e2 * s * s, "--", color="tab:orange", label="joint onset fit")
    ax[1].set(xlabel="S [descriptor units]", ylabel=r"$\Delta E(S)$ [$\epsilon_{AA}$]", title="(b) energy barrier")
    ax[2].errorbar(a.s[ok], a.sigma[ok], a.sigma_err[ok], fmt="o", mfc="white", color="k", label="observed, per S bin")
    ax[2].plot(s, p.Sigma0 + (p.e1 * s + p.e2 * s * s) / p.T0, "--", color="tab:orange", label="joint onset fit")
    ax[2].set(xlabel="S [descriptor units]", ylabel=r"$\Sigma(S)$ [$k_B$]", title="(c) entropic factor")
    if res.bare_onset is not None:
        b = res.bare_onset
        ub = b["inv_T0"]
        ax[1].plot(s, b["e0"] + b["e1"] * s + b["e2"] * s * s, "-", color="k", lw=1, label="bare (renormalised)")
        ax[2].plot(s, b["Sigma0"] + (b["e1"] * s + b["e2"] * s * s) * ub, "-", color="k", lw=1, label="bare (renormalised)")
    for x in ax[1:]:
        x.legend(fontsize=8)
    paths["fig1"] = out / "fig1_rates.png"
    _save(fig, paths["fig1"])
    plt.close(fig)
    # Fig. 2: <S>(1/T), C(r).
    fig, ax = plt.subplots(1, 2, figsize=(10, 4.2))
    T = res.temperatures
    ax[0].errorbar(1 / T, [d.mean for d in res.distributions], [d.mean_err for d in res.distributions], fmt="o", label="data")
    x = np.linspace(0.9 / T.max(), 1.1 / T.min(), 50)
    ax[0].plot(x, p.mu_a + p.mu_b * x, "--", label=f"a + b/T: a={p.mu_a:.3g}, b={p.mu_b:.3g}")
    ax[0].set(xlabel=r"$1/T$ [$k_B/\epsilon_{AA}$]", ylabel=r"$\langle S\rangle$ [descriptor units]", title="(a) mean descriptor")
    ax[0].legend(fontsize=8)
    for c, col in zip(res.correlations, colors):
        ax[1].plot(c.r, c.value, "-", lw=0.8, alpha=0.6, color=col, label=f"T = {c.temperature:g}")
    # the pooled estimate, filled where it enters the fit and hollow where the fit drops it
    cp = res.correlation_pooled
    used = (cp.r <= res.options.corr_r_max) & np.isfinite(cp.value) & (cp.error > 0)
    ax[1].errorbar(cp.r[used], cp.value[used], cp.error[used], fmt="o", ms=4, color="k", label="pooled, fitted")
    drop = ~used & np.isfinite(cp.value)
    if drop.any():
        ax[1].errorbar(cp.r[drop], cp.value[drop], np.nan_to_num(cp.error[drop]), fmt="o", ms=4, mfc="white",
                       color="0.5", label="pooled, not fitted")
    r = np.linspace(0.01, res.options.corr_r_max, 100)
    ax[1].plot(r, p.C1 * np.exp(-r / p.xi), "k--", label=f"C1 exp(-r/xi): C1={p.C1:.3g}, xi={p.xi:.3g}")
    ax[1].set(xlabel=r"$r$ [$\sigma_{AA}$]", ylabel=r"$C_S(r)$ [descriptor units$^2$]", title="(b) correlation of S")
    ax[1].legend(fontsize=8)
    paths["fig2"] = out / "fig2_statics.png"
    _save(fig, paths["fig2"])
    plt.close(fig)
    # Fig. 3: Var[Delta S] vs S, <Delta S> vs S, s(r), rho(r).
    fig, ax = plt.subplots(1, 4, figsize=(19, 4.2))
    k = res.kicks[int(np.nonzero(res.kick_used)[0][0])]
    sc = 0.5 * (k.s_edges[1:] + k.s_edges[:-1])
    shown = [i for i in range(len(k.r)) if np.isfinite(k.r[i]) and (k.n_rs[i] >= 50).any()][:6]
    for j, i in enumerate(shown):  # radial bins that hold no pair (r = nan) are not drawn
        ok = k.n_rs[i] >= 50
        ax[0].plot(sc[ok], k.var_rs[i][ok], "o-", ms=3, label=f"r = {k.r[i]:.2f}")
        if j < 3:
            ax[1].plot(sc[ok], k.mean_rs[i][ok], "o-", ms=3, label=f"r = {k.r[i]:.2f}")
    ax[0].set(xlabel="S [descriptor units]", ylabel=r"corrected Var $\Delta S$ [descriptor units$^2$]", title=f"(a) T = {k.temperature:g}")
    ax[1].set(xlabel="S [descriptor units]", ylabel=r"$\langle\Delta S\rangle$ [descriptor units]", title=f"(b) T = {k.temperature:g}")
    kp = res.kick_pooled
    var, verr = np.asarray(kp["var"], float), np.asarray(kp["var_err"], float)
    sd = np.sqrt(np.clip(var, 0, None))
    ok = np.isfinite(sd) & np.isfinite(verr) & (kp["r"] <= res.options.r_max)
    # sqrt of Var +- its error (a linearised error diverges where Var ~ 0)
    lo = sd - np.sqrt(np.clip(var - verr, 0, None))
    hi = np.sqrt(np.clip(var + verr, 0, None)) - sd
    ax[2].errorbar(kp["r"][ok], sd[ok], np.stack([lo[ok], hi[ok]]), fmt="o", label="measured")
    rr = np.linspace(0.01, res.options.kick_r_max, 100)
    f = res.kick_scale
    ax[2].plot(rr, p.s1 / f * np.exp(-rr / p.xi_s), "--", color="tab:orange", label=f"fit s1 exp(-r/xi_s), s0={p.s0 / f:.3g}")
    ax[2].plot([0], [p.s0 / f], "s", color="tab:orange")
    if f != 1.0:  # what params.toml holds after the feasibility constraint
        ax[2].plot(rr, p.s1 * np.exp(-rr / p.xi_s), ":", color="tab:red", label=f"written (x {f:.3f})")
        ax[2].plot([0], [p.s0], "s", mfc="white", color="tab:red")
    ax[2].set(xlabel=r"$r$ [$\sigma_{AA}$]", ylabel=r"$s(r)$ [descriptor units]", title="(c) kick standard deviation")
    ok = np.isfinite(kp["rho"]) & (kp["r"] <= res.options.kick_r_max)
    ax[3].errorbar(kp["r"][ok], kp["rho"][ok], kp["rho_err"][ok], fmt="o", label="measured")
    ax[3].plot(rr, p.p1 * np.exp(-rr / p.xi_rho), "--", label=r"$p_1 e^{-r/\xi_\rho}$")
    ax[3].set(xlabel=r"$r$ [$\sigma_{AA}$]", ylabel=r"$\rho(r)$", title="(d) kick correlation")
    for x in ax:
        x.legend(fontsize=7)
    paths["fig3"] = out / "fig3_kicks.png"
    _save(fig, paths["fig3"])
    plt.close(fig)
    return paths


def report_text(res, figures: dict[str, Path] | None = None) -> str:
    from trsp_core.measure.fitted import fitted_values

    fits = fitted_values(res)
    o = res.options
    lines = ["# trsp measure: diagnostics report", "",
             f"Temperatures: {', '.join(f'{t:g}' for t in res.temperatures)}. Cluster rule for the renormalisation: "
             f"`{o.cluster}` on `{o.lattice}` (m = {res.geometry.m}, z = {res.geometry.z}, kappa = {res.geometry.kappa:.4g}, "
             f"v = {res.geometry.v:.4g}). Lattice spacing a = {res.spacing:.4g} sigma_AA.", ""]
    lines += [f"Frame spacing dt = {res.params.frame_dt:g} (MD time units; written as frame_dt). "
              f"The lattice spacing is {'fixed by the user' if (o.spacing or 'a' in o.fixed_dict) else 'the first peak of g(r) of the analysed species'}.", ""]
    if res.failures:
        lines += ["## The parameters do not compose a valid model (no params.toml written)", ""]
        lines += [f"- {f}" for f in res.failures] + [""]
    if res.b_max:
        lines += ["Kick feasibility, max eigenvalue of K_Delta K'^-1 (must be < 1) before any constraint: "
                  + ", ".join(f"T={t:g}: {b:.3g}" for t, b in res.b_max)
                  + (f"; s(r) scaled by {res.kick_scale:.3f}." if res.kick_scale != 1.0 else "."), ""]
    w = res.diagnostics.warnings
    lines += ["## Warnings", ""] + ([f"- **{f.where}**: {f.message}" for f in w] or ["- none"]) + [""]
    notes = [f for f in res.diagnostics.findings if f.level == "note"]
    if notes:
        lines += ["## Notes", ""] + [f"- {f.where}: {f.message}" for f in notes] + [""]
    lines += ["## Fitted parameters (written to params.toml; observed per-site law)", "",
              "| parameter | value | 1-sigma error |", "|---|---|---|"]
    scaled = res.kick_scale != 1.0
    for k, (v, e) in fits.items():
        if scaled and k in ("s0", "s1"):  # the file holds the constrained kick, say so beside the measurement
            lines.append(f"| {k} (measured) | {v:.5g} | {e:.2g} |")
            lines.append(f"| {k} (written, x {res.kick_scale:.3f}) | {v * res.kick_scale:.5g} | {e * res.kick_scale:.2g} |")
        else:
            lines.append(f"| {k} | {v:.5g} | {e:.2g} |")
    lines += ["", "## Per temperature", "",
              "| T | <S> | Var S | skew | exc. kurt. | ln A | gamma | delta | ln A0 (bare) | gamma0 | delta0 | d (frames) | runs |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for dd, t, f, b in zip(res.distributions, res.tables, res.per_t, res.bare_per_t):
        be = np.sqrt(np.clip(np.diag(b[1]), 0, None))
        lines.append(
            f"| {t.temperature:g} | {dd.mean:.4g} ± {dd.mean_err:.2g} | {dd.variance:.4g} | {dd.skewness:.3g} | "
            f"{dd.excess_kurtosis:.3g} | {f['lnA']:.4g} ± {f.err('lnA'):.2g} | {f['gamma']:.4g} ± {f.err('gamma'):.2g} | "
            f"{f['delta']:.4g} ± {f.err('delta'):.2g} | {b[0][0]:.4g} ± {be[0]:.2g} | {b[0][1]:.4g} ± {be[1]:.2g} | "
            f"{b[0][2]:.4g} ± {be[2]:.2g} | {t.d:.3g} | {t.n_runs} |")
    lines += ["", "Gaussianity: skewness and excess kurtosis are effect sizes; with correlated samples "
              "(space and time) classical test p-values are far too optimistic, so the report flags "
              f"|skew| > {o.max_abs_skew} or |excess kurtosis| > {o.max_abs_excess_kurtosis} instead.", ""]
    if figures:
        lines += ["## Figures", ""] + [f"![{k}]({p.name})" for k, p in figures.items()] + [""]
    return "\n".join(lines)


def write_report(res, out: Path, figures: bool = True) -> dict[str, Path]:
    figs = _figures(res, out) if figures else {}
    path = out / "report.md"
    atomic_write_text(path, report_text(res, figs))
    return {"report": path, **figs}
