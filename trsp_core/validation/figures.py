"""PNG figures of the validation suite: analogues of the paper's Figs. 1a, 3, 4, 9, 10, 11, 16."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from trsp_core.io.figures import save_figure  # noqa: E402
from trsp_core.validation.checks import MIN_COUNT_PER_SEED  # noqa: E402

DPI = 120


def _save(fig, path: Path) -> Path:
    return save_figure(fig, path, dpi=DPI)


def _title(model) -> str:
    return f"T = {model.temperature:g}, L = {model.lattice.shape[0]}, {model.names.get('cluster', '')}, c = {model.facilitation:g}"


def rate_law(ds, model, path):
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    exp_counts = (ds["P_R_target"].values / model.observed.d) * ds["rate_occupancy"].values.mean(0)
    ok = np.isfinite(ds["P_R"].values) & (exp_counts >= 1)
    tested = exp_counts >= MIN_COUNT_PER_SEED
    s = ds["rate_bin"].values
    ss = np.linspace(s[ok].min(), s[ok].max(), 200)
    ax.plot(ss, model.observed.probability(ss), "k--", label=r"target $A e^{\gamma S-\delta S^2}$")
    ax.errorbar(s[ok & tested], ds["P_R"].values[ok & tested], ds["P_R_err"].values[ok & tested], fmt="o", ms=4,
                color="C4", label="simulation (tested bins)")
    ax.errorbar(s[ok & ~tested], ds["P_R"].values[ok & ~tested], ds["P_R_err"].values[ok & ~tested], fmt="o", ms=4,
                mfc="none", color="C4", alpha=0.6, label="simulation (too few counts)")
    ax.set_yscale("log")
    ax.set_xlabel("S [descriptor units]")
    ax.set_ylabel("P(R|S) [1/frame]")
    ax.set_title("Observed vs target rearrangement probability\n" + _title(model), fontsize=9)
    ax.legend(fontsize=8)
    return _save(fig, path)


def detailed_balance(ds, model, path):
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    x, y, e = ds["db_joint"].values, ds["db_ratio"].values, ds["db_ratio_err"].values
    ok = np.isfinite(y) & (x > 0)
    ax.errorbar(x[ok], y[ok], e[ok], fmt="o", color="C4", ms=4, label="bin pairs A < B (bootstrap over seeds)")
    ax.axhline(1.0, color="k", ls="--", label="detailed balance")
    ax.set_xscale("log")
    ax.set_xlabel(r"$P(A|R)\,P(A\to B)$ (fraction of rearranging sites)")
    ax.set_ylabel(r"$P(A|R)P(A\to B)\,/\,P(B|R)P(B\to A)$")
    ax.set_title("Direct detailed-balance test (S bins of rearranging sites)\n" + _title(model), fontsize=9)
    ax.legend(fontsize=8)
    return _save(fig, path)


def mean_s(ds, model, path):
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    T = np.linspace(0.38, 0.8, 100)
    ax.plot(1 / T, model.params.mu(T), "k--", label=r"target $\mu(T) = a_S + b_S/T$")
    ax.errorbar([1 / model.temperature], [float(ds["S_mean"])], [float(ds["S_mean_err"])], fmt="o", color="C4",
                label="simulation (time-weighted)")
    ax.set_xlabel(r"$1/T$ [$k_B/\epsilon_{AA}$]")
    ax.set_ylabel(r"$\langle S\rangle$ [descriptor units]")
    ax.set_title("Time-weighted mean softness\n" + _title(model), fontsize=9)
    ax.legend(fontsize=8, loc="upper right")
    ins = ax.inset_axes([0.12, 0.12, 0.35, 0.3])
    dev = ds["S_mean_run"].values - float(ds["S_mean_target"])
    ins.plot(np.arange(len(dev)), dev, ".", color="C4")
    ins.axhline(0, color="k", lw=0.8)
    ins.set_xlabel("seed", fontsize=7)
    ins.set_ylabel(r"$\langle S\rangle-\mu$", fontsize=7)
    ins.tick_params(labelsize=6)
    return _save(fig, path)


def correlation(ds, model, path):
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    r = ds["r_shell"].values
    C, err, tgt = ds["C"].values, ds["C_err"].values, ds["C_target"].values
    ax.plot(r, tgt, "k--", marker="_", label=r"target $C(r) - \lambda_0/N$")
    ax.errorbar(r, C, err, fmt="o", color="C0", ms=4, label="simulation (snapshots)")
    ax.set_yscale("symlog", linthresh=1e-2)
    ax.set_xlabel(r"$r$ [$\sigma_{AA}$]")
    ax.set_ylabel(r"$C_S(r)$ [descriptor units$^2$]")
    ax.set_title("Softness correlation function\n" + _title(model), fontsize=9)
    ax.legend(fontsize=8)
    ins = ax.inset_axes([0.12, 0.1, 0.4, 0.28])
    ins.errorbar(r, C - tgt, err, fmt=".", color="C0")
    ins.axhline(0, color="k", lw=0.8)
    ins.set_xlabel(r"$r$ [$\sigma_{AA}$]", fontsize=7)
    ins.set_ylabel("deviation", fontsize=7)
    ins.tick_params(labelsize=6)
    return _save(fig, path)


def softness_change(ds, model, path):
    fig, axs = plt.subplots(2, 2, figsize=(9, 7))
    r = ds["kick_r"].values
    active = ds["dS_var"].values > 0
    a = axs[0, 0]
    a.errorbar(r[active], ds["dS_var"].values[active], ds["dS_var_err"].values[active], fmt="o", ms=4, label=r"Var $\Delta S$")
    a.errorbar(r[active], ds["dS_cond_var"].values[active], ds["dS_cond_var_err"].values[active], fmt="s", ms=4,
               label=r"Var($\Delta S$ | S) (paired kicks)")
    a.plot(r[active], ds["dS_target_var"].values[active], "k--", label=r"target $c_f\,s(r)^2$")
    a.set_yscale("log")
    a.set_ylabel(r"variance [descriptor units$^2$]")
    a.legend(fontsize=7)
    a.set_title("(a) variance of the softness change", fontsize=9)
    b = axs[0, 1]
    b.errorbar(r[active], ds["dS_eta"].values[active], ds["dS_eta_err"].values[active], fmt="o", ms=4, color="C2")
    b.set_ylabel(r"$\eta(r) = -d\langle\Delta S\rangle/dS$")
    b.set_title(r"(b) restoring slope of $\langle\Delta S\rangle$ vs S", fontsize=9)
    c = axs[1, 0]
    c.errorbar(r[active], ds["dS_mean"].values[active], ds["dS_mean_err"].values[active], fmt="o", ms=4, label=r"$\langle\Delta S\rangle$")
    c.errorbar(r[active], ds["dS_exchange"].values[active], ds["dS_exchange_err"].values[active], fmt="s", ms=4,
               label=r"$\langle S_{after}^2 - S_{before}^2\rangle$")
    c.axhline(0, color="k", ls="--", label="detailed balance")
    c.set_ylabel("mean [descriptor units; squared for the 2nd]")
    c.legend(fontsize=7)
    c.set_title("(c) exchangeability of (S, S + ΔS)", fontsize=9)
    d = axs[1, 1]
    d.errorbar(r[active], ds["dS_corr"].values[active], ds["dS_corr_err"].values[active], fmt="o", ms=4, color="C3")
    d.set_ylabel(r"corr($\Delta S(r)$, rearranger's $\Delta S$)")
    d.set_title("(d) correlation with the rearranger's change", fontsize=9)
    for x in axs.flat:
        x.set_xlabel(r"distance to nearest rearranging site [$\sigma_{AA}$]")
    fig.suptitle("Softness change around a rearrangement (kick instrument)\n" + _title(model), fontsize=10)
    return _save(fig, path)


def overlap(ds, model, path):
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.8))
    t = ds["lag"].values
    for x, name in ((a, "Q"), (b, "chi4")):
        y, e = ds[name].values, ds[f"{name}_err"].values
        x.semilogx(t, y, color="C4")
        # band: bootstrap std error over seeds (as in every Q/chi4 figure of trsp)
        x.fill_between(t, y - e, y + e, color="C4", alpha=0.25, lw=0, label="± 1 std error (seeds)")
    a.set_ylabel("Q(t), fraction not rearranged")
    b.axvline(float(ds["tau_alpha"]), color="k", ls=":", label=rf"$\tau_\alpha$ = {float(ds['tau_alpha']):.3g} frames")
    b.set_ylabel(r"$\chi_4(t) = N\,\mathrm{Var}\,Q$")
    b.legend(fontsize=8)
    for x in (a, b):
        x.set_xlabel("t [frames]")
    fig.suptitle("Overlap and four-point susceptibility\n" + _title(model), fontsize=10)
    return _save(fig, path)


def structure_factor(ds, model, path):
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    q, s4, e = ds["q_shell"].values, ds["S4"].values, ds["S4_err"].values
    fit = ds["S4_fitted"].values.astype(bool)
    ax.errorbar(q[~fit], s4[~fit], e[~fit], fmt="o", mfc="none", ms=4, color="C0", label="S4 shells")
    ax.errorbar(q[fit], s4[fit], e[fit], fmt="o", ms=4, color="C0", label="fitted shells")
    qq = np.linspace(0, q.max(), 200)
    s0, xi = float(ds["S4_zero"]), float(ds["xi4_oz"])
    ax.plot(qq, s0 / (1 + (qq * xi) ** 2), "k--",
            label=rf"OZ fit: $\xi_4$ = {xi:.2f} ± {float(ds['xi4_oz_err']):.2f} $\sigma_{{AA}}$")
    ax.set_yscale("log")
    ax.set_xlabel(r"$|q|$ [$\sigma_{AA}^{-1}$]")
    ax.set_ylabel(r"$S_4(q, \tau_\alpha)$")
    ax.set_title("Four-point structure factor\n" + _title(model), fontsize=9)
    ax.legend(fontsize=8)
    return _save(fig, path)


def block_scaling(ds, model, path):
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    L = ds["block_side"].values
    a = model.lattice.spacing
    xi, inf = float(ds["xi4_block"]), float(ds["chi4_inf"])
    x = L * a / xi
    ax.errorbar(x, ds["chi4_block"].values / inf, ds["chi4_block_err"].values / inf, fmt="o", color="C4", ms=4,
                label="block chi4 / chi4(inf)")
    ax.plot(x, ds["chi4_block_fit"].values / inf, "k--", label="scaling function of the fitted G4")
    ax.set_xlabel(r"$L_B\,a\,/\,\xi_4$")
    ax.set_ylabel(r"$\chi_4(L_B)\,/\,\chi_4(\infty)$")
    ax.set_title(rf"Block $\chi_4$ scaling: $\xi_4$ = {xi:.2f} ± {float(ds['xi4_block_err']):.2f} $\sigma_{{AA}}$" + "\n"
                 + _title(model), fontsize=9)
    ax.legend(fontsize=8)
    return _save(fig, path)


def write_all(datasets: dict, model, out: Path) -> dict[str, Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    todo = {
        "fig1a_rate_law.png": (rate_law, "rate-law"),
        "fig3_softness_change.png": (softness_change, "softness-change"),
        "fig4_overlap_chi4.png": (overlap, "overlap"),
        "fig5_s4_oz.png": (structure_factor, "s4"),
        "fig9_detailed_balance.png": (detailed_balance, "detailed-balance"),
        "fig10_mean_S.png": (mean_s, "statics"),
        "fig11_correlation.png": (correlation, "statics"),
        "fig16_block_chi4.png": (block_scaling, "block-chi4"),
    }
    return {name: fn(datasets[key], model, out / name) for name, (fn, key) in todo.items()}
