"""Write a :class:`MeasureResult`: parameter TOML, netCDF of every curve, report.

All files are written atomically (temporary file + rename).
"""
from __future__ import annotations

import json
from pathlib import Path

import attrs
import numpy as np
import xarray as xr

from trsp_core.io import provenance, write_dataset
from trsp_core.measure.fitted import fitted_values
from trsp_core.physics.params import write_params_toml


def _v(dims, data, units, long_name):
    return (dims, np.asarray(data, float), {"units": units, "long_name": long_name})


def to_dataset(res) -> xr.Dataset:
    T = res.temperatures
    t0 = res.tables[0]
    s_c = 0.5 * (t0.edges[1:] + t0.edges[:-1])
    per = lambda k: [f[k] for f in res.per_t]        # noqa: E731
    per_e = lambda k: [f.err(k) for f in res.per_t]  # noqa: E731
    bare = np.array([b[0] for b in res.bare_per_t])
    bare_e = np.array([np.sqrt(np.clip(np.diag(b[1]), 0, None)) for b in res.bare_per_t])
    kp = res.kick_pooled
    cp = res.correlation_pooled
    ds = xr.Dataset(
        {
            "S_mean": _v("temperature", [d.mean for d in res.distributions], "descriptor", "<S>"),
            "S_mean_err": _v("temperature", [d.mean_err for d in res.distributions], "descriptor", "standard error of <S>"),
            "S_variance": _v("temperature", [d.variance for d in res.distributions], "descriptor^2", "Var S"),
            "S_skewness": _v("temperature", [d.skewness for d in res.distributions], "1", "skewness of S"),
            "S_skewness_err": _v("temperature", [d.skewness_err for d in res.distributions], "1", "block error of the skewness"),
            "S_excess_kurtosis": _v("temperature", [d.excess_kurtosis for d in res.distributions], "1", "excess kurtosis of S"),
            "S_excess_kurtosis_err": _v("temperature", [d.excess_kurtosis_err for d in res.distributions], "1", "block error of the excess kurtosis"),
            "P_R": _v(("temperature", "S_bin"), [t.probability for t in res.tables], "1/frame", "observed P(R|S): fraction of particle-frames rearranging"),
            "P_R_err": _v(("temperature", "S_bin"), [t.probability_err for t in res.tables], "1/frame", "binomial error of P(R|S) times sqrt(run-length dispersion)"),
            "S_bin_mean": _v(("temperature", "S_bin"), [t.s_mean for t in res.tables], "descriptor", "mean S in the bin"),
            "exposure": _v(("temperature", "S_bin"), [t.exposure for t in res.tables], "particle frames", "samples in the bin"),
            "counts": _v(("temperature", "S_bin"), [t.counts for t in res.tables], "particle frames", "rearranging samples in the bin"),
            "lnA": _v("temperature", per("lnA"), "1", "observed ln A(T)"), "lnA_err": _v("temperature", per_e("lnA"), "1", "error of ln A"),
            "gamma": _v("temperature", per("gamma"), "1/descriptor", "observed gamma(T)"), "gamma_err": _v("temperature", per_e("gamma"), "1/descriptor", "error of gamma"),
            "delta": _v("temperature", per("delta"), "1/descriptor^2", "observed delta(T)"), "delta_err": _v("temperature", per_e("delta"), "1/descriptor^2", "error of delta"),
            "bare_lnA0": _v("temperature", bare[:, 0], "1", "bare ln A0(T) (cluster law)"), "bare_lnA0_err": _v("temperature", bare_e[:, 0], "1", "error of ln A0"),
            "bare_gamma0": _v("temperature", bare[:, 1], "1/descriptor", "bare gamma0(T)"), "bare_gamma0_err": _v("temperature", bare_e[:, 1], "1/descriptor", "error of gamma0"),
            "bare_delta0": _v("temperature", bare[:, 2], "1/descriptor^2", "bare delta0(T)"), "bare_delta0_err": _v("temperature", bare_e[:, 2], "1/descriptor^2", "error of delta0"),
            "duration": _v("temperature", [t.d for t in res.tables], "frames", "mean rearrangement run length"),
            "duration_err": _v("temperature", [t.d_err for t in res.tables], "frames", "standard error of the run length"),
            "DeltaE": _v("S_bin", res.arrhenius.delta_e, "energy (epsilon_AA)", "observed DeltaE(S) from Arrhenius fits per S bin"),
            "DeltaE_err": _v("S_bin", res.arrhenius.delta_e_err, "energy (epsilon_AA)", "error of DeltaE(S)"),
            "Sigma": _v("S_bin", res.arrhenius.sigma, "1", "observed Sigma(S) from Arrhenius fits per S bin"),
            "Sigma_err": _v("S_bin", res.arrhenius.sigma_err, "1", "error of Sigma(S)"),
            "C": _v("r", cp.value, "descriptor^2", "C_S(r), pooled over temperatures"),
            "C_err": _v("r", cp.error, "descriptor^2", "error of C_S(r)"),
            "C_T": _v(("temperature", "r"), [c.value if c.value.shape == cp.value.shape else np.full(cp.value.shape, np.nan) for c in res.correlations], "descriptor^2", "C_S(r) per temperature"),
            "kick_var": _v("r_kick", kp["var"], "descriptor^2", "background-corrected Var[Delta S] at distance r from the nearest rearranging particle"),
            "kick_var_err": _v("r_kick", kp["var_err"], "descriptor^2", "error of the corrected Var[Delta S]"),
            "eta": _v("r_kick", kp["eta"], "1", "background-corrected eta(r): -slope of <Delta S> vs S"),
            "eta_err": _v("r_kick", kp["eta_err"], "1", "error of eta(r)"),
            "rho": _v("r_kick", kp["rho"], "1", "correlation of the rearranger's and a neighbour's Delta S"),
            "rho_err": _v("r_kick", kp["rho_err"], "1", "error of rho(r)"),
        },
        coords={
            "temperature": ("temperature", T, {"units": "epsilon_AA/k_B", "long_name": "temperature"}),
            "S_bin": ("S_bin", s_c, {"units": "descriptor", "long_name": "S bin centre"}),
            "r": ("r", cp.r, {"units": "sigma_AA", "long_name": "pair distance"}),
            "r_kick": ("r_kick", kp["r"], {"units": "sigma_AA", "long_name": "distance to the nearest rearranging particle"}),
        },
    )
    fits = fitted_values(res)
    extra = {f"fit_{k}": v for k, (v, _) in fits.items()}
    extra.update({f"fit_{k}_err": e for k, (_, e) in fits.items()})
    extra["options_json"] = json.dumps(attrs.asdict(res.options), default=str)
    extra["warnings"] = "\n".join(str(f) for f in res.diagnostics.warnings) or "none"
    extra["failures"] = "\n".join(res.failures) or "none"
    extra["kick_scale"] = res.kick_scale
    extra["frame_dt"] = res.params.frame_dt
    ds.attrs.update(provenance(extra=extra))
    ds.attrs["title"] = "trsp measure: fitted curves with uncertainties"
    return ds


def write_outputs(res, out_dir, *, figures: bool = True) -> dict[str, Path]:
    """params.toml, measure.nc, report.md (+ PNG figures) in ``out_dir``."""
    from trsp_core.measure.report import write_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"params": out / "params.toml", "netcdf": out / "measure.nc", "report": out / "report.md"}
    if res.valid:
        write_params_toml(res.params, paths["params"])
    else:
        # never leave a params.toml that does not compose (nor a stale one from an earlier run)
        paths.pop("params").unlink(missing_ok=True)
    write_dataset(to_dataset(res), paths["netcdf"])
    paths.update(write_report(res, out, figures=figures))
    return paths
